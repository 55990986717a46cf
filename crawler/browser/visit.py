"""What one browser visit records: the :class:`Pass` it loads the page in, every :class:`RequestRecord`, the
:class:`Visit` itself, and :class:`VisitFailed` for a visit that ended without a usable page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawler.outcomes import Classified


@dataclass(frozen=True, slots=True)
class Pass:
    """One way of loading a page: the consent state to reach and the privacy signal to send."""

    consent_state: str = "none"  # none | accept | reject
    signal: str = "none"  # none | gpc


@dataclass(slots=True)
class RequestRecord:
    """One request the page made (redirect hops are separate records linked by ``redirected_from``)."""

    url: str
    resource_type: str
    frame_url: str
    method: str = "GET"
    navigation: bool = False
    initiator: str | None = None
    redirected_from: str | None = None
    status: int | None = None
    remote_ip: str | None = None
    failure: str | None = None
    requested_at: datetime | None = None  # wall clock (UTC) when the page issued it


@dataclass
class Visit:
    """What one page load showed; ``partial`` visits ended early (budget, crash) but keep what was seen."""

    url: str
    pass_: Pass
    final_url: str = ""
    status: int | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    dom: str = ""
    title: str = ""
    redirect_chain: list[str] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    cookies: list[dict[str, Any]] = field(default_factory=list)
    storage: list[tuple[str, str, str, int]] = field(default_factory=list)  # (origin, kind, key, value length)
    cmp: str = "unknown"
    consent_result: str = "not_attempted"
    load_state: str = "commit"
    popups: int = 0
    duration_ms: float = 0.0
    har_path: str | None = None  # the visit's HAR file (cookie values stripped), when the pool records HARs


class VisitFailed(Exception):
    """A visit that ended without a usable page; ``sr_outcome`` is the site outcome it stands for."""

    def __init__(self, c: Classified, partial: Visit | None = None):
        super().__init__(f"{c.error_class}: {c.detail}")
        self.sr_outcome = c.outcome
        self.classified = c
        self.partial = partial
