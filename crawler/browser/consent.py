"""Consent banners in the browser: DuckDuckGo's autoconsent content script, injected into every frame, detects
the CMP and (for the ``accept`` / ``reject`` states) clicks through it; this module is the host side of its
message protocol.

The pinned package (``@duckduckgo/autoconsent``, MPL-2.0, see data/README.md) ships the content script
(``dist/autoconsent.playwright.js``) and the declarative rules (``rules/compact-rules.json``); several major CMPs
are rules in the script's code, not in the JSON. Without the package the browser crawl still runs and records
``cmp = unknown``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CONSENT_STATES = ("none", "accept", "reject")
SIGNALS = ("none", "gpc")
PACKAGE = "@duckduckgo/autoconsent"

#: consent state -> autoconsent's autoAction (None: detect only, never click)
_ACTION = {"none": None, "accept": "optIn", "reject": "optOut"}
#: main-frame lifecycles after which autoconsent does nothing more for the state
_SETTLED = {
    "none": {"nothingDetected", "openPopupDetected", "done"},
    "accept": {"nothingDetected", "done"},
    "reject": {"nothingDetected", "done"},
}


@dataclass(frozen=True)
class AutoconsentBundle:
    """The content script's source and the parsed compact rules, loaded once per crawl."""

    script: str
    compact_rules: dict[str, Any]  # detection and opt-out steps only
    full_rules: dict[str, Any]  # {"autoconsent": [...]}: opt-in steps too (the compact set has none)
    version: str

    @classmethod
    def load(cls, script_path: str | Path, compact_path: str | Path, full_path: str | Path,
             version: str = "") -> "AutoconsentBundle":
        return cls(Path(script_path).read_text(encoding="utf-8"),
                   json.loads(Path(compact_path).read_text(encoding="utf-8")),
                   json.loads(Path(full_path).read_text(encoding="utf-8")), version)

    def rules(self, consent_state: str) -> dict[str, Any]:
        """The rule set autoconsent gets for one state (the full set only where it must click "accept")."""
        return self.full_rules if consent_state == "accept" else {"autoconsent": [], "compact": self.compact_rules}

    def config(self, consent_state: str) -> dict[str, Any]:
        """autoconsent's config for one consent state: detect CMPs everywhere; click only to accept or reject.
        Prehiding and cosmetic (hide-only) rules are off: hiding a banner is neither consent nor refusal."""
        return {
            "enabled": True,
            "autoAction": _ACTION[consent_state],
            "disabledCmps": [],
            "enablePrehide": False,
            "enableCosmeticRules": False,
            "enableGeneratedRules": True,
            "enableHeuristicDetection": False,
            "detectRetries": 4,
            "isMainWorld": True,
            "prehideTimeout": 0,
            "logs": {"lifecycle": False, "rulesteps": False, "evals": False, "errors": False, "messages": False,
                     "waits": False},
        }


@dataclass
class ConsentTracker:
    """What autoconsent reported on one page visit (all frames), and events to wait on."""

    consent_state: str
    bundle: AutoconsentBundle | None
    cmps: list[str] = field(default_factory=list)
    popup: str | None = None
    result: bool | None = None
    lifecycle: str = ""
    errors: int = 0
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    main_page: Any = None  # messages from other pages (popups) are ignored

    @property
    def cmp(self) -> str:
        """The CMP vendor (autoconsent rule name) seen on the page; ``none`` if it found none; ``unknown``
        without autoconsent or when it never reported."""
        if self.bundle is None:
            return "unknown"
        if self.popup:
            return self.popup
        if self.cmps:
            return self.cmps[0]
        # detection ran (autoconsent was initialised) and named nothing within the wait; it need not have
        # finished: after its second try autoconsent waits for a DOM mutation, so a quiet page without a CMP can
        # stay "started" for good (waiting for "nothingDetected" would cost every such page the whole wait)
        return "none" if self.lifecycle not in ("", "loading", "waitingForInitResponse") else "unknown"

    @property
    def outcome(self) -> str:
        """How the consent step went: ``not_attempted`` (pre-consent), ``no_cmp_tool`` (autoconsent missing),
        ``no_banner``, ``clicked`` (autoconsent reported success), ``click_failed``, ``pending`` (no report in time).
        (A pass the site's crawl retried in vain becomes ``no_banner_after_retry``: ``crawler.sitecrawl``.)"""
        if self.consent_state == "none":
            return "not_attempted"
        if self.bundle is None:
            return "no_cmp_tool"
        if self.result is True:
            return "clicked"
        if self.result is False:
            return "click_failed"
        if not self.popup and not self.cmps:
            return "no_banner"
        return "pending"

    async def attach(self, context) -> None:
        """Expose the message binding and inject the content script into every frame of ``context``."""
        if self.bundle is None:
            self.settled.set()
            return
        await context.expose_binding("autoconsentSendMessage", self._on_message)
        await context.add_init_script(script=self.bundle.script)

    async def _on_message(self, source, message) -> None:
        frame = source.get("frame")
        if not isinstance(message, dict) or frame is None or source.get("page") is not self.main_page:
            return
        kind = message.get("type")
        try:
            if kind == "init" and not str(message.get("url", "")).startswith(("http://", "https://")):
                return  # error pages of frames that failed to load, about:blank: no banner to look for
            if kind == "init":
                await frame.evaluate("m => window.autoconsentReceiveMessage(m)", {
                    "type": "initResp", "config": self.bundle.config(self.consent_state),
                    "rules": self.bundle.rules(self.consent_state)})
            elif kind == "eval":
                try:
                    result = bool(await frame.evaluate(str(message.get("code", ""))))
                except Exception:  # noqa: BLE001 - a rule's probe failing is an answer (false), not an error
                    result = False
                await frame.evaluate("m => window.autoconsentReceiveMessage(m)",
                                     {"type": "evalResp", "id": message.get("id"), "result": result})
            elif kind == "cmpDetected":
                name = str(message.get("cmp", ""))[:100]
                if name and name not in self.cmps:
                    self.cmps.append(name)
            elif kind == "popupFound":
                self.popup = self.popup or str(message.get("cmp", ""))[:100]
            elif kind in ("optInResult", "optOutResult"):
                self.result = bool(message.get("result"))
            elif kind == "autoconsentDone":
                self.lifecycle = "done"
                self.settled.set()
            elif kind == "autoconsentError":
                self.errors += 1
            elif kind == "report" and message.get("mainFrame"):
                self.lifecycle = str((message.get("state") or {}).get("lifecycle", ""))
                if self.lifecycle in _SETTLED[self.consent_state]:
                    self.settled.set()
        except Exception as exc:  # noqa: BLE001 - a frame that navigated away or closed mid-message
            logger.debug("autoconsent message %s failed: %s", kind, exc)


def load_bundle(lock_path: str | Path | None = None, cache_dir: str | Path | None = None) -> AutoconsentBundle | None:
    """The pinned autoconsent bundle from the reference-data cache (``servicerisk refdata`` fills it; a crawl
    never runs npm), or None when it is not there: browser mode then records ``cmp = unknown``."""
    from common import refdata as rd

    kwargs: dict[str, Any] = {}
    if lock_path:
        kwargs["lock_path"] = lock_path
    if cache_dir:
        kwargs["cache_dir"] = cache_dir
    try:
        entry = rd.read_lock(kwargs.get("lock_path", rd.DEFAULT_LOCK))[PACKAGE]
        if not rd.cached_tarball(entry, kwargs.get("cache_dir", rd.DEFAULT_CACHE)).is_file():
            raise rd.RefdataError(f"{entry.spec} is not in the reference-data cache (run `servicerisk refdata`)")
        script = rd.ensure(PACKAGE, **kwargs)
        cache = kwargs.get("cache_dir", rd.DEFAULT_CACHE)
        return AutoconsentBundle.load(script, rd.cached_extra(entry, "package/rules/compact-rules.json", cache),
                                      rd.cached_extra(entry, "package/rules/rules.json", cache), entry.version)
    except (rd.RefdataError, OSError, ValueError, KeyError) as exc:
        logger.warning("autoconsent unavailable, CMPs will be recorded as unknown: %s", exc)
        return None
