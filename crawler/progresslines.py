"""Progress for logs: when stderr is no terminal (nohup, cron, CI), long commands write one plain line per N items
or per interval instead of a live bar: done/total, rate, ETA and outcome counts."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

DEFAULT_INTERVAL = 60.0  # seconds between lines at most


def default_every(total: int) -> int:
    """Items between lines: about ten lines over a run, at least every item, at most every 1,000."""
    return max(1, min(1000, (total or 0) // 10))


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class ProgressLines:
    """Counts finished items (with their outcome) and writes a line to ``stream`` every ``every`` items or
    ``interval`` seconds, whichever comes first, and a last line on ``close``. Lines look like
    ``crawl: 120/1000 sites (12%), 3.2/s, ETA 4m35s, ok 100, dns_error 20``."""

    def __init__(self, label: str, total: int | None, unit: str = "items", *, stream: TextIO | None = None,
                 every: int | None = None, interval: float = DEFAULT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic):
        self.label, self.total, self.unit = label, total or 0, unit
        self.stream = stream if stream is not None else sys.stderr
        self.every = every or default_every(self.total)
        self.interval = interval
        self.clock = clock
        self.started = self.last = clock()
        self.done = self.done_at_last = 0
        self.outcomes: dict[str, int] = {}
        self.closed = False

    def advance(self, n: int = 1, outcome: str | None = None) -> None:
        self.done += n
        if outcome:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n
        now = self.clock()
        if self.done - self.done_at_last >= self.every or now - self.last >= self.interval:
            self._write(now)

    def line(self, now: float | None = None, final: bool = False) -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        parts = [f"{self.label}: {self.done}/{self.total or '?'} {self.unit}"
                 + (f" ({100 * self.done / self.total:.0f}%)" if self.total else "")]
        parts.append(f"{rate:.1f}/s")
        if final:
            parts.append(f"done in {_duration(elapsed)}")
        elif self.total and rate > 0:
            parts.append(f"ETA {_duration(max(self.total - self.done, 0) / rate)}")
        parts += [f"{k} {v}" for k, v in sorted(self.outcomes.items(), key=lambda kv: (-kv[1], kv[0]))]
        return ", ".join(parts)

    def _write(self, now: float, final: bool = False) -> None:
        self.stream.write(self.line(now, final) + "\n")
        self.stream.flush()
        self.last, self.done_at_last = now, self.done

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._write(self.clock(), final=True)


def progress_mode(flag: bool | None, stream: TextIO | None = None) -> bool | str:
    """What a command shows: ``--progress`` → a bar, ``--no-progress`` → nothing, neither → a bar when stderr
    is a terminal, else ``"lines"``."""
    if flag is not None:
        return flag
    return True if (stream if stream is not None else sys.stderr).isatty() else "lines"


def step_lines(label: str, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
    """An ``on_step`` callback for multi-step jobs (the warehouse build): one line per step as it starts, with
    the time since the first step (``build: 12s, match 20261129T084100Z-3fa2c1``)."""
    started = clock()

    def step(what: str) -> None:
        out = stream if stream is not None else sys.stderr
        out.write(f"{label}: {_duration(clock() - started)}, {what}\n")
        out.flush()

    return step
