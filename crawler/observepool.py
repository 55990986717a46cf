"""Examine pages off the reactor thread: worker processes, one page at a time each, every page within a budget.

A hostile page (10 MB of deeply nested markup, say) can keep the HTML parser busy for a minute; on the reactor
thread that would stall every site of the crawl. Here the page waits for a free worker, and a worker that has
not answered within ``budget`` seconds is killed (and replaced on demand): the page is recorded as
``parse_budget_exceeded`` and the crawl goes on. Pages up to ``inline_bytes`` are examined in the calling
thread: measured on 2 cores, 256 KB built to be slow (nested styled divs) take 0.2 s, a real page of that size a
few milliseconds, while a round trip through a worker costs about a millisecond per page on a busy core. A worker
is a plain ``python -m crawler.observepool`` child that reads pickled ``PageJob``s from one pipe and writes
``PageFindings`` to another (it starts in about 0.2 s; no multiprocessing start method re-imports the crawler's
main module). ``workers=0`` examines in the calling
thread (no budget; tools and tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from multiprocessing.connection import Connection

from crawler.examine import PageFindings, PageJob, examine
from crawler.outcomes import Classified

# How long a new worker may take to import the crawler and say it is ready. A page's budget starts only then:
# on a loaded machine the imports alone can take longer than a budget meant for parsing.
STARTUP_BUDGET = 60.0


def _serve(jobs: Connection, answers: Connection) -> None:
    """A worker: say it is ready (``None``), then examine the jobs that arrive on ``jobs`` until it closes;
    answer each on ``answers``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the crawler decides
    try:
        answers.send(None)
    except (OSError, ValueError):
        return
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):
            return
        try:
            result: PageFindings | str = examine(job)
        except Exception as exc:  # noqa: BLE001 - examine() does not raise on content; report anything else
            result = f"{type(exc).__name__}: {exc}"[:300]
        try:
            answers.send(result)
        except (OSError, ValueError):
            return


class _Worker:
    def __init__(self):
        job_r, job_w = os.pipe()
        ans_r, ans_w = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crawler.observepool", str(job_r), str(ans_w)], pass_fds=(job_r, ans_w),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=False)
        finally:
            os.close(job_r)
            os.close(ans_w)
        self.jobs = Connection(job_w, readable=False)
        self.answers = Connection(ans_r, writable=False)
        self.ready = False

    async def run(self, job: PageJob, budget: float) -> PageFindings | str:
        """The worker's answer to ``job``; raises ``TimeoutError`` past ``budget`` s (counted from when the
        worker is ready), ``EOFError`` if it died or did not start within ``STARTUP_BUDGET`` s."""
        await self.started()
        return await self._answer(job, budget)

    async def started(self) -> None:
        """Wait until the worker has imported the crawler and said so; ``EOFError`` if it does not."""
        if self.ready:
            return
        try:
            hello = await self._answer(None, STARTUP_BUDGET)
        except TimeoutError as exc:
            raise EOFError(f"the worker did not start within {STARTUP_BUDGET:g} s") from exc
        if hello is not None:
            raise EOFError(f"the worker started with an unexpected message: {hello!r}"[:300])
        self.ready = True

    async def _answer(self, job: PageJob | None, budget: float):
        """Send ``job`` (if any) and wait up to ``budget`` s for the worker's next message."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future = loop.create_future()
        fd = self.answers.fileno()

        def readable() -> None:
            loop.remove_reader(fd)
            if answer.done():
                return
            try:
                answer.set_result(self.answers.recv())
            except (EOFError, OSError) as exc:
                answer.set_exception(EOFError(str(exc) or "the worker exited"))

        loop.add_reader(fd, readable)
        try:
            try:
                if job is not None:
                    self.jobs.send(job)
            except (OSError, ValueError) as exc:  # the pipe broke while sending: the worker is gone
                raise EOFError(str(exc)) from exc
            return await asyncio.wait_for(answer, budget)
        finally:
            loop.remove_reader(fd)

    def _close_pipes(self) -> None:
        for conn in (self.jobs, self.answers):
            with contextlib.suppress(OSError, ValueError):
                conn.close()

    def kill(self) -> None:
        self._close_pipes()
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)

    def stop(self) -> None:
        self._close_pipes()  # the worker reads EOF and exits
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.kill()


class ObservePool:
    """``await pool.examine(job)`` → ``PageFindings``, or a ``Classified`` failure (``parse_budget_exceeded``)
    for a page whose examination ran past ``budget`` seconds or killed its worker. Stats (when given):
    ``sr/parse/inline``, ``sr/parse/pooled``, ``sr/parse/budget_exceeded``, ``sr/parse/worker_died``,
    ``sr/parse/workers_started``."""

    def __init__(self, workers: int = 2, budget: float = 4.0, stats=None, inline_bytes: int = 256 * 1024):
        self.workers = max(0, workers)
        self.budget = budget
        self.inline_bytes = inline_bytes
        self.stats = stats
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._free: asyncio.Semaphore | None = None

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"sr/parse/{key}")

    def _spawn(self) -> _Worker:
        self._inc("workers_started")
        return _Worker()

    def start(self) -> None:
        """Start the workers now rather than on the first page."""
        while len(self._idle) + len(self._busy) < self.workers:
            self._idle.append(self._spawn())

    async def ready(self) -> None:
        """Start the workers and wait until each is ready to examine a page."""
        self.start()
        await asyncio.gather(*(w.started() for w in self._idle))

    @property
    def pids(self) -> list[int]:
        """Process ids of the running workers."""
        return [w.process.pid for w in [*self._idle, *self._busy]]

    async def examine(self, job: PageJob) -> PageFindings | Classified:
        if self.workers == 0 or len(job.body) + len(job.dom or b"") <= self.inline_bytes:
            self._inc("inline")
            return examine(job)
        self._inc("pooled")
        if self._free is None:
            self._free = asyncio.Semaphore(self.workers)
        async with self._free:
            worker = self._idle.pop() if self._idle else self._spawn()
            self._busy.add(worker)
            try:
                result = await worker.run(job, self.budget)
            except TimeoutError:  # asyncio's is the builtin one since Python 3.11
                self._busy.discard(worker)
                worker.kill()
                self._inc("budget_exceeded")
                return Classified("parse_budget_exceeded", "ParseBudget",
                                  f"the page was not examined within the {self.budget:g} s parse budget "
                                  f"({len(job.body):,} bytes)")
            except EOFError as exc:
                self._busy.discard(worker)
                worker.kill()
                self._inc("worker_died")
                return Classified("parse_budget_exceeded", "ParseWorkerDied",
                                  f"examining the page ({len(job.body):,} bytes) killed its worker: {exc}")
            except BaseException:  # cancelled mid-page: the worker's answer would arrive out of turn
                self._busy.discard(worker)
                worker.kill()
                raise
            self._busy.discard(worker)
            self._idle.append(worker)
        if isinstance(result, str):
            return Classified("parse_budget_exceeded", "ParseError", result)
        return result

    def close(self) -> None:
        """Stop every worker (idle ones exit on EOF; busy ones are killed)."""
        for worker in self._idle:
            worker.stop()
        for worker in list(self._busy):
            worker.kill()
        self._idle.clear()
        self._busy.clear()


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
