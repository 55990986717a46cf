"""A pool of headless Chromium contexts that load one page each and record what really happened.

Playwright drives the system's Chromium (``executable_path``; no browser is ever downloaded). One browser
process per crawl process, at most ``contexts`` pages at a time, each in a fresh context (its own cookie jar
and storage: every visit is a first visit). A visit has a hard wall-clock budget; a browser that dies or hangs
is restarted and the visit in flight is reported as ``browser_error``, never blocking the run.

Why Playwright directly and not scrapy-playwright: a visit here is a sequence (navigate, wait for network
idle, let the consent tool click, wait again, read cookies and storage in every frame) under one budget, with
per-visit init scripts and headers (autoconsent, GPC); scrapy-playwright routes every request through
Playwright's request interception (a cost per sub-request, and it changes what the page's own requests look
like) and configures contexts by settings. The spider still has the Scrapy shape: this pool sits behind a
download handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crawler.browser.chromium import CHROMIUM_ARGS, TAG_SWITCH, kill_tagged
from crawler.browser.consent import AutoconsentBundle, ConsentTracker
from crawler.browser.har import har_name, strip_har_file
from crawler.browser.visit import Pass, RequestRecord, Visit, VisitFailed
from crawler.outcomes import Classified, classify_browser_error

__all__ = ["BrowserConfig", "BrowserPool"]

logger = logging.getLogger(__name__)

_PLAIN = Pass()  # the default pass: no consent step, no privacy signal
GPC_HEADERS = {"Sec-GPC": "1", "DNT": "1"}
GPC_SCRIPT = ("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true, configurable: true});"
              "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1', configurable: true});")

# localStorage / sessionStorage keys with value lengths, and the frame's origin; runs in every frame
_STORAGE_JS = """() => {
  const out = [];
  for (const [kind, name] of [['local', 'localStorage'], ['session', 'sessionStorage']]) {
    try {
      const st = window[name];
      for (let i = 0; i < st.length && i < 500; i++) {
        const k = st.key(i);
        out.push([kind, k, (st.getItem(k) || '').length]);
      }
    } catch (e) {}
  }
  return [location.origin, out];
}"""


@dataclass(frozen=True)
class BrowserConfig:
    """Everything a pool needs; built from ``SR_BROWSER_*`` settings by the download handler."""

    executable: str = "/usr/bin/chromium"
    proxy: str | None = None
    contexts: int = 4
    page_budget: float = 30.0  # hard wall clock per visit, consent steps included
    nav_timeout: float = 20.0  # until the first response (commit)
    load_timeout: float = 15.0  # until the load event
    idle_timeout: float = 5.0  # until network idle (then the page is recorded anyway)
    consent_wait: float = 6.0  # for autoconsent to settle (and again for post-consent network idle)
    max_popups: int = 10
    user_agent: str | None = None
    extra_args: tuple[str, ...] = ()
    tag: str = ""  # marks the pool's Chromium processes (kill on hang; tests); random when empty
    har_dir: str = ""  # record one HAR file per visit here (``har_name``); "" = none


class BrowserPool:
    """Launches Chromium lazily, restarts it when it dies, and runs bounded, budgeted visits. With ``guard_proxy``
    (``crawler.browser.guard.GuardProxy``) every request of Chromium goes through it (``config.proxy`` is then
    its upstream); requests it turned away are marked in the visit (``RequestRecord.failure``)."""

    def __init__(self, config: BrowserConfig, autoconsent: AutoconsentBundle | None = None, stats=None,
                 guard_proxy=None):
        self.config = config
        self.autoconsent = autoconsent
        self.stats = stats
        self.guard_proxy = guard_proxy
        self._pw = None
        self._browser = None
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max(1, config.contexts))
        self.launches = 0
        self.tag = config.tag or secrets.token_hex(6)
        self._closing: set[asyncio.Future] = set()

    def _inc(self, key: str, n: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"sr/browser/{key}", n)

    # --- browser lifecycle -------------------------------------------------------------------------------
    async def _ensure(self):
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                self._inc("restarts")
                await self._drop_browser()
            if self._pw is None:
                from playwright.async_api import async_playwright

                self._pw = await async_playwright().start()
            kwargs: dict[str, Any] = {"executable_path": self.config.executable, "headless": True,
                                      "args": [*CHROMIUM_ARGS, *self.config.extra_args, TAG_SWITCH + self.tag],
                                      "timeout": 30_000, "handle_sigint": False, "handle_sigterm": False}
            if self.guard_proxy is not None:
                kwargs["proxy"] = {"server": await self.guard_proxy.start()}
            elif self.config.proxy:
                kwargs["proxy"] = {"server": self.config.proxy}
            self._browser = await self._pw.chromium.launch(**kwargs)
            self.launches += 1
            self._inc("launches")
            return self._browser

    async def _drop_browser(self) -> None:
        """Close the browser; one that does not close in 3 s is killed (SIGKILL), so a hang never blocks."""
        browser, self._browser = self._browser, None
        self._closing.clear()
        if browser is None:
            return
        try:
            await asyncio.wait_for(browser.close(), 3.0)
        except Exception:  # noqa: BLE001
            self._inc("killed", len(self.kill_browser_processes()))

    def kill_browser_processes(self) -> list[int]:
        """SIGKILL this pool's browser processes (found by the tag on their command line; Linux /proc)."""
        return kill_tagged(self.tag)

    async def close(self) -> None:
        async with self._lock:
            await self._drop_browser()
            if self._pw is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._pw.stop(), 10.0)
                self._pw = None

    # --- one visit ---------------------------------------------------------------------------------------
    async def visit(self, url: str, pass_: Pass = _PLAIN, patience: float = 1) -> Visit:
        """Load ``url`` in a fresh context; raises ``VisitFailed`` (with the partial visit) on failure.
        ``patience`` multiplies the waits for the page to settle and the consent tool to act (and the budget)."""
        async with self._slots:
            try:
                browser = await self._ensure()
            except Exception as exc:  # noqa: BLE001 - a browser that cannot start fails the visit, not the run
                self._inc("launch_failed")
                raise VisitFailed(Classified("browser_error", type(exc).__name__,
                                             f"browser did not start: {str(exc)[:200]}")) from exc
            visit = Visit(url=url, pass_=pass_)
            if self.config.har_dir:
                visit.har_path = str(Path(self.config.har_dir) / har_name(url, pass_))
            started = time.monotonic()
            holder: dict[str, Any] = {}
            task = asyncio.ensure_future(self._run(browser, visit, holder, patience))
            holder["task"] = task
            budget = self.config.page_budget * patience
            try:
                done, _ = await asyncio.wait({task}, timeout=budget)
                if not done:
                    task.cancel()
                    await asyncio.wait({task}, timeout=2.0)
                    self._inc("budget_exceeded")
                    raise VisitFailed(Classified("page_budget_exceeded", "PageBudget",
                                                 f"page not finished within the {budget:g} s budget "
                                                 f"(reached: {visit.load_state})"), visit)
                if task.cancelled():  # only the watchdogs cancel a visit
                    c = holder.get("abort") or Classified("browser_error", "Cancelled", "visit cancelled")
                    self._inc(f"aborted/{c.error_class}")
                    raise VisitFailed(c, visit)
                exc = task.exception()
                if exc is None:
                    landed = visit.final_url or url
                    away = self.guard_proxy.turned_away(landed) if self.guard_proxy is not None else None
                    if away:  # redirected to where the guard let nothing through (it answered in the site's place)
                        raise VisitFailed(Classified(away[0], "BrowserGuard",
                                                     f"the browser guard turned {landed} away: {away[1]}"), visit)
                    return visit
                c = classify_browser_error(str(exc), type(exc).__name__)
                if not browser.is_connected():
                    c = Classified("browser_error", "BrowserGone", f"browser died during the visit: {c.detail}")
                else:
                    c = self._guarded_navigation(holder) or c
                self._inc(f"failed/{c.outcome}")
                raise VisitFailed(c, visit) from exc
            finally:
                visit.duration_ms = round((time.monotonic() - started) * 1000.0, 1)
                if not visit.requests:  # a partial visit keeps what was seen
                    visit.requests = list(holder.get("records", {}).values())
                self._mark_guarded(visit.requests)
                await self._close_context(holder.get("context"), visit.har_path)

    def _mark_guarded(self, records) -> None:
        """Say in the record of each request the guard proxy turned away (a plain-http one shows the proxy's 403 as
        its answer, an https one fails its tunnel) that it never reached its destination, and why."""
        if self.guard_proxy is None:
            return
        for rec in records:
            away = self.guard_proxy.turned_away(rec.url)
            if away:
                rec.failure = f"{away[0]} (browser guard): {away[1]}"[:200]

    def _guarded_navigation(self, holder: dict[str, Any]) -> Classified | None:
        """The outcome of a navigation that failed because the guard proxy turned its host away, if it did."""
        if self.guard_proxy is None:
            return None
        for rec in reversed(list(holder.get("records", {}).values())):
            away = self.guard_proxy.turned_away(rec.url) if rec.navigation else None
            if away:
                return Classified(away[0], "BrowserGuard", f"the browser guard turned {rec.url} away: {away[1]}")
        return None

    async def _close_context(self, context, har_path: str | None = None) -> None:
        """Close a visit's context (Playwright writes its HAR then) and strip the cookie values from that HAR."""
        if context is None:
            return
        closing = asyncio.ensure_future(context.close())
        if har_path:
            closing.add_done_callback(lambda _f: self._inc("har/written" if strip_har_file(har_path) else "har/missing"))
        done, _ = await asyncio.wait({closing}, timeout=3.0)
        if done:
            closing.exception()  # a dead browser's context "fails" to close: nothing left to do
            return
        # the context is still busy (a popup storm, a renderer stuck in a loop): let it close in the background
        # while the next visits go on; a second one stuck at the same time means the browser itself is sick
        self._inc("slow_close")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        if len(self._closing) > 1:
            self._inc("hung")
            async with self._lock:
                await self._drop_browser()

    async def _run(self, browser, visit: Visit, holder: dict[str, Any], patience: float = 1) -> None:
        cfg, p = self.config, visit.pass_
        gpc = p.signal == "gpc"
        har = {"record_har_path": visit.har_path, "record_har_content": "omit"} if visit.har_path else {}
        if visit.har_path:
            Path(visit.har_path).parent.mkdir(parents=True, exist_ok=True)
        context = await browser.new_context(
            ignore_https_errors=True,  # as the static crawler: record what is served, verify nothing
            user_agent=cfg.user_agent, extra_http_headers=GPC_HEADERS if gpc else None,
            service_workers="block", accept_downloads=False, java_script_enabled=True, **har,
        )
        holder["context"] = context
        if gpc:
            await context.add_init_script(script=GPC_SCRIPT)
        tracker = ConsentTracker(p.consent_state, self.autoconsent)
        await tracker.attach(context)
        records: dict[Any, RequestRecord] = {}
        holder["records"] = records
        net = _Network()
        page = await context.new_page()
        tracker.main_page = page
        self._watch(context, page, visit, holder, records, net)
        initiators, remote_ips = await self._cdp_network(context, page)

        response = await page.goto(visit.url, wait_until="commit", timeout=cfg.nav_timeout * 1000)
        visit.load_state = "commit"
        if response is not None:
            chain, req = [], response.request
            while req is not None:
                chain.append(req.url)
                req = req.redirected_from
            visit.redirect_chain = list(reversed(chain))
            visit.status = response.status
            visit.final_url = response.url
            headers: dict[str, list[str]] = {}
            for h in await response.headers_array():
                headers.setdefault(h["name"].lower(), []).append(h["value"])
            visit.headers = headers
        await page.wait_for_load_state("domcontentloaded", timeout=cfg.load_timeout * 1000)
        visit.load_state = "domcontentloaded"
        await page.wait_for_load_state("load", timeout=cfg.load_timeout * 1000)
        visit.load_state = "load"
        if await net.idle(cfg.idle_timeout * patience):
            visit.load_state = "networkidle"
        # detection runs while the page loads: before consent a short wait names the CMP; a consent pass waits
        # until autoconsent has clicked or given up (a banner that is late under load is still found)
        if p.consent_state != "none":
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(tracker.settled.wait(), cfg.consent_wait * patience)
        elif not tracker.cmps:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(tracker.settled.wait(), min(cfg.consent_wait, 1.5) * patience)
        if p.consent_state != "none" and tracker.result is not None:
            await asyncio.sleep(0.2)
            await net.idle(cfg.idle_timeout)  # what the click made load
        visit.cmp, visit.consent_result = tracker.cmp, tracker.outcome
        if response is not None:
            with contextlib.suppress(Exception):
                visit.body = await response.body()
        with contextlib.suppress(Exception):
            visit.dom = await page.content()
            visit.title = (await page.title())[:500]
        visit.cookies = await context.cookies()
        for frame in page.frames:
            with contextlib.suppress(Exception):
                origin, items = await asyncio.wait_for(frame.evaluate(_STORAGE_JS), 2.0)
                visit.storage.extend((str(origin), kind, str(key), int(n)) for kind, key, n in items)
        for rec in records.values():
            rec.initiator = rec.initiator or initiators.get(rec.url)
            rec.remote_ip = remote_ips.get(rec.url)
        visit.requests = list(records.values())

    def _watch(self, context, page, visit: Visit, holder: dict[str, Any], records: dict[Any, RequestRecord],
               net: "_Network") -> None:
        """Record every request of every frame and page of the context; close popups; abort on a crash."""
        cfg = self.config

        def abort(c: Classified) -> None:
            task = holder.get("task")
            if task is not None and not task.done() and "abort" not in holder:
                holder["abort"] = c
                task.cancel()

        def on_request(req) -> None:
            try:
                frame = req.frame
                frame_url = frame.url
                nav = req.is_navigation_request()
            except Exception:  # noqa: BLE001 - service-worker or detached-frame requests have no frame
                frame_url, nav = "", False
            prev = req.redirected_from
            rec = RequestRecord(url=req.url, resource_type=req.resource_type, frame_url=frame_url,
                                method=req.method, navigation=nav, redirected_from=prev.url if prev else None,
                                requested_at=datetime.now(timezone.utc))
            if prev is not None and prev in records:
                records[prev].status = records[prev].status or 300
            records[req] = rec
            net.started()

        def on_response(resp) -> None:
            rec = records.get(resp.request)
            if rec is not None:
                rec.status = resp.status

        def on_failed(req) -> None:
            net.done()
            rec = records.get(req)
            if rec is not None:
                rec.failure = (req.failure or "failed")[:200]

        def on_page(new_page) -> None:
            if new_page is page:
                return
            visit.popups += 1
            asyncio.ensure_future(_quiet_close(new_page))
            if visit.popups > cfg.max_popups:
                abort(Classified("page_budget_exceeded", "PopupBudget",
                                 f"page opened more than {cfg.max_popups} popups"))

        context.on("request", on_request)
        context.on("response", on_response)
        context.on("requestfailed", on_failed)
        context.on("page", on_page)
        context.on("requestfinished", lambda req: net.done())
        page.on("crash", lambda _p: abort(Classified("browser_error", "RendererCrashed", "the page's renderer crashed")))

    async def _cdp_network(self, context, page) -> tuple[dict[str, str], dict[str, str]]:
        """URL -> the script or document that initiated its first request, and URL -> the remote IP that
        answered it (Chrome DevTools Protocol, which Playwright does not expose; the main page's target only:
        out-of-process iframes are not covered). Behind a proxy the remote IP is the proxy's."""
        found: dict[str, str] = {}
        ips: dict[str, str] = {}
        try:
            cdp = await context.new_cdp_session(page)
        except Exception:  # noqa: BLE001 - not Chromium, or the page is gone
            return found, ips

        def on_response(ev) -> None:
            resp = ev.get("response") or {}
            if resp.get("remoteIPAddress") and resp.get("url"):
                ips.setdefault(resp["url"], str(resp["remoteIPAddress"])[:64])

        def on_sent(ev) -> None:
            url = ev.get("request", {}).get("url", "")
            if not url or url in found:
                return
            ini = ev.get("initiator") or {}
            src, stack = None, ini.get("stack") or {}
            while not src and stack:  # the script on top of the stack, else the document that parsed it
                frames = stack.get("callFrames") or []
                src = next((f.get("url") for f in frames if f.get("url")), None)
                stack = stack.get("parent") or {}
            src = src or ini.get("url")
            if src:
                found[url] = src

        cdp.on("Network.requestWillBeSent", on_sent)
        cdp.on("Network.responseReceived", on_response)
        with contextlib.suppress(Exception):
            await cdp.send("Network.enable")
        return found, ips


class _Network:
    """Requests in flight across the context, to wait for network idle again after a consent click
    (Playwright's ``networkidle`` load state fires once per navigation)."""

    QUIET = 0.5  # seconds without a request in flight

    def __init__(self) -> None:
        self.inflight = 0
        self.last = time.monotonic()

    def started(self) -> None:
        self.inflight += 1
        self.last = time.monotonic()

    def done(self) -> None:
        self.inflight = max(0, self.inflight - 1)
        self.last = time.monotonic()

    async def idle(self, timeout: float) -> bool:
        """Wait until nothing was in flight for ``QUIET`` seconds, at most ``timeout``; True if reached."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.inflight == 0 and time.monotonic() - self.last >= self.QUIET:
                return True
            await asyncio.sleep(0.1)
        return False


async def _quiet_close(page) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(page.close(), 5.0)
