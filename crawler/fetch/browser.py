"""Headless Chromium through Playwright, for the sources that refuse scripts.

`BrowserPool` owns one browser for the fetcher that made it (one per process in a deployment),
started on first need from the system's Chromium (`http.browser.executable`; nothing is ever
downloaded) with a fixed set of flags, Playwright's fresh temporary profile, and no signal
handlers of its own (the daemon handles SIGTERM). Playwright is imported only then, so a crawl
without `fetch: browser` / `fetch: challenge` sources never imports it.

Each page gets a context of its own (the source's User-Agent, Accept-Language, headers, proxy
and cookies; service workers blocked), closed after use; at most `http.browser.pages` are open at
once. Every request the page makes is checked against the source's address rule by the host of
its URL (the browser resolves names itself, as a proxy does: the rule's first check); images,
media and fonts are not loaded. A page that does not finish within its timeout fails alone; a
crash (the browser disconnects) or a page that cannot be closed makes the next page start a new
browser; so does a browser whose memory (its processes' PSS) passed `http.browser.memory_mb`,
once its open pages are done. A browser without a page for `http.browser.idle_stop` is stopped.

`load` returns the main document's response as received (status, headers, body: the evidence)
and the DOM after the scripts ran; `until` lets a caller wait for the DOM to become something
(a JavaScript challenge to clear) within a time limit. Cookies the page ends with are handed back,
so the plain client can send them (`fetch: challenge`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.config import BrowserSettings
from crawler.fetch.proxies import Proxy

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright, Response, Route

log = logging.getLogger(__name__)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SKIPPED_RESOURCES = frozenset({"image", "media", "font"})
CLOSE_TIMEOUT = 5.0  # a page or browser that does not close by then is killed
LAUNCH_RETRY_AFTER = 30.0  # a browser that failed to start is not tried again sooner
POLL_INTERVAL = 0.25
# After the load event, the page's own requests (a script fetching the content) may go on: the
# DOM is read once none was in flight for QUIET_FOR, or after SETTLE_MAX. Playwright's
# "networkidle" waits 500 ms of silence, which made each page cost half a second more.
QUIET_FOR = 0.1
SETTLE_MAX = 2.0
MEMORY_CHECK_EVERY = 5.0  # seconds between two readings of the browser's memory


class BrowserUnavailable(Exception):
    """The browser cannot be started (not installed, not executable, fails at launch)."""


class PageFailed(Exception):
    """One page failed in the browser (timeout, crash, navigation error); `reason` says why."""

    def __init__(self, reason: str, *, refused: str | None = None, timed_out: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.refused = refused  # the address rule refused the main document: why
        self.timed_out = timed_out


@dataclass(frozen=True, slots=True)
class Loaded:
    """A page as the browser loaded it: its main document response, and the DOM after scripts."""

    url: str  # the final URL of the main document
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes  # the main document's bytes as received (decompressed)
    dom: str
    redirects: tuple[str, ...]
    fetched_at: datetime
    cookies: tuple[dict[str, Any], ...]  # the context's cookies when the page was done


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What one page load is made with (from the source)."""

    user_agent: str
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[dict[str, Any], ...] = ()  # Playwright cookie dicts (name, value, url|domain)
    proxy: Proxy | None = None
    refusal: Callable[[str], str | None] = lambda url: None  # the address rule, by URL


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc; empty elsewhere)."""
    if not Path("/proc").is_dir():
        return []
    tree = _children()
    found: list[int] = []
    todo = list(tree.get(pid, ()))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(tree.get(child, ()))
    return found


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _memory(pid: int) -> int:
    """The process's proportional share of memory (PSS: shared pages divided among the
    processes sharing them, so Chromium's many processes are not counted many times over);
    its RSS where PSS is not available."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


class BrowserPool:
    """One headless Chromium, started on demand; see the module docstring."""

    def __init__(self, settings: BrowserSettings) -> None:
        self.settings = settings
        self.launches = 0
        self.pages_loaded = 0
        self._pages = asyncio.Semaphore(settings.pages)
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._pids: list[int] = []  # the browser's main process (and, found later, its children)
        self._open = 0
        self._restart = False
        self._failed: tuple[float, str] | None = None  # (when, why) the last launch failed
        self._memory_checked = float("-inf")
        self._idle = asyncio.Event()  # set while no page is open
        self._idle.set()
        self._idle_stop: asyncio.Task[None] | None = None

    # -- processes --------------------------------------------------------------------------

    def pids(self) -> list[int]:
        """The processes of the running browser (main process first), or []."""
        if not self._pids:
            return []
        main = self._pids[0]
        if not Path(f"/proc/{main}").exists():
            return []
        return [main, *descendants(main)]

    def rss_bytes(self) -> int:
        """The memory of the browser's processes together (their PSS; 0 when none runs)."""
        return sum(_memory(pid) for pid in self.pids())

    # -- life cycle -------------------------------------------------------------------------

    async def _launch(self) -> Browser:
        if self._failed is not None and time.monotonic() - self._failed[0] < LAUNCH_RETRY_AFTER:
            raise BrowserUnavailable(self._failed[1])
        executable = self.settings.executable
        try:
            if not os.access(executable, os.X_OK):
                raise BrowserUnavailable(
                    f"no Chromium at {executable} (http.browser.executable): install it "
                    "(Debian: apt-get install chromium) or set its path"
                )
            try:
                from playwright.async_api import async_playwright
            except ImportError as exc:
                raise BrowserUnavailable(
                    f"the playwright package is not installed ({exc}); reinstall mfawatch"
                ) from None
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            before = set(self._browser_mains())
            try:
                browser = await self._playwright.chromium.launch(
                    executable_path=executable,
                    headless=True,
                    args=list(FLAGS),
                    chromium_sandbox=False,
                    handle_sigint=False,
                    handle_sigterm=False,
                    handle_sighup=False,
                    timeout=30_000,
                )
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise BrowserUnavailable(
                    f"Chromium at {executable} did not start: {first[:300]}"
                ) from None
        except BrowserUnavailable as exc:
            self._failed = (time.monotonic(), str(exc))
            raise
        self._failed = None
        self._pids = sorted(set(self._browser_mains()) - before)[:1]
        self.launches += 1
        log.info("browser started: %s (%s)", executable, browser.version)
        return browser

    @staticmethod
    def _browser_mains() -> list[int]:
        """Chromium main processes started by this process's Playwright driver."""
        return [
            pid
            for pid in descendants(os.getpid())
            if "--remote-debugging-pipe" in (line := _cmdline(pid)) and "--type=" not in line
        ]

    async def _browser_ready(self) -> Browser:
        """The running browser, with one more page counted open; a new one after a crash, an
        idle stop, or a restart that was asked for (once the pages still open are done: a new
        page waits for them, so a busy browser restarts)."""
        while self._restart and self._open > 0:
            await self._idle.wait()
        async with self._lock:
            browser = self._browser
            dead = browser is None or not browser.is_connected()
            if not dead and self._restart and self._open == 0:
                log.info(
                    "browser restarted: over its memory ceiling (http.browser.memory_mb %d)",
                    self.settings.memory_mb,
                )
                await self._stop_browser()
                dead = True
            if dead:
                if browser is not None and self._browser is not None:
                    await self._stop_browser()
                self._restart = False
                self._browser = await self._launch()
            assert self._browser is not None
            # Counted open under the lock, so an idle stop cannot take the browser away now.
            self._open += 1
            self._idle.clear()
            if self._idle_stop is not None:
                self._idle_stop.cancel()
                self._idle_stop = None
            return self._browser

    async def _stop_browser(self) -> None:
        browser, self._browser = self._browser, None
        pids = self.pids()
        self._pids = []
        if browser is not None:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await browser.close()
            except Exception:  # hung or already gone: its processes are ended below
                log.debug("browser did not close cleanly", exc_info=True)
        for pid in pids:  # our own child processes, by id
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _arm_idle_stop(self) -> None:
        """(Re)start the countdown after which an unused browser is stopped."""
        if self._idle_stop is not None:
            self._idle_stop.cancel()
        self._idle_stop = asyncio.get_running_loop().create_task(self._stop_when_idle())

    async def _stop_when_idle(self) -> None:
        wait = self.settings.idle_stop.total_seconds()
        await asyncio.sleep(wait)
        async with self._lock:
            if self._open == 0 and self._browser is not None:
                log.info("browser stopped: no page for %g s (http.browser.idle_stop)", wait)
                await self._stop_browser()

    async def aclose(self) -> None:
        """Stop the browser and the Playwright driver."""
        if self._idle_stop is not None:
            self._idle_stop.cancel()
        async with self._lock:
            await self._stop_browser()
            if self._playwright is not None:
                with contextlib.suppress(Exception):
                    await self._playwright.stop()
                self._playwright = None

    # -- pages ------------------------------------------------------------------------------

    async def load(
        self,
        url: str,
        request: PageRequest,
        *,
        timeout: float,  # noqa: ASYNC109 - the page's own limit, applied inside
        until: Callable[[str], bool] | None = None,
        until_timeout: float = 0.0,
    ) -> Loaded:
        """Load `url` in a fresh context; wait (up to `until_timeout` more) for `until(dom)`.

        Raises `BrowserUnavailable` when no browser can run, `PageFailed` for this page alone.
        """
        async with self._pages:
            browser = await self._browser_ready()  # counts the page as open
            try:
                return await self._load(browser, url, request, timeout, until, until_timeout)
            finally:
                self._open -= 1
                if self._open == 0:
                    self._idle.set()
                    self._arm_idle_stop()
                self.pages_loaded += 1
                now = time.monotonic()
                if now - self._memory_checked >= MEMORY_CHECK_EVERY:
                    # Reading every process's memory walks /proc (30-100 ms): not per page.
                    self._memory_checked = now
                    if self.rss_bytes() > self.settings.memory_mb * 1024 * 1024:
                        self._restart = True

    async def _load(
        self,
        browser: Browser,
        url: str,
        request: PageRequest,
        timeout: float,  # noqa: ASYNC109
        until: Callable[[str], bool] | None,
        until_timeout: float,
    ) -> Loaded:
        from playwright.async_api import Error as PlaywrightError

        refused: list[str] = []
        context: BrowserContext | None = None
        try:
            async with asyncio.timeout(timeout + until_timeout):
                context = await browser.new_context(**_context_options(request))
                await context.route("**/*", _router(request.refusal, refused))
                await _add_cookies(context, request.cookies)
                page = await context.new_page()
                page.set_default_timeout(timeout * 1000)
                documents: list[Response] = []
                page.on(
                    "response",
                    lambda r: (
                        documents.append(r)
                        if r.request.is_navigation_request() and r.frame == page.main_frame
                        else None
                    ),
                )
                in_flight: set[Any] = set()
                page.on("request", lambda r: in_flight.add(r))
                page.on("requestfinished", lambda r: in_flight.discard(r))
                page.on("requestfailed", lambda r: in_flight.discard(r))
                first = await page.goto(url, wait_until="load", timeout=timeout * 1000)
                await _quiet(in_flight, min(SETTLE_MAX, timeout))
                dom = await _settled_dom(page, until, until_timeout)
                response = _last_document(documents, first)
                if response is None:
                    raise PageFailed("the browser got no response for the page")
                body = await _body(response)
                cookies = tuple(dict(c) for c in await context.cookies())
                return Loaded(
                    url=response.url,
                    status=response.status,
                    headers=tuple((h["name"], h["value"]) for h in await response.headers_array()),
                    body=body,
                    dom=dom,
                    redirects=_redirects(response),
                    fetched_at=datetime.now(UTC),
                    cookies=cookies,
                )
        except TimeoutError:
            raise PageFailed(
                f"the page did not load in the browser within {timeout:g} s (limits.timeout)",
                timed_out=True,
            ) from None
        except PlaywrightError as exc:
            if refused:
                raise PageFailed(refused[0], refused=refused[0]) from None
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if not browser.is_connected():
                detail = f"the browser crashed or was closed ({detail})"
            raise PageFailed(f"the browser could not load the page: {detail[:300]}") from None
        finally:
            if context is not None:
                await self._close_context(context)

    async def _close_context(self, context: BrowserContext) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await context.close()
        except Exception:  # a hung renderer or a dead browser: start afresh next time
            log.warning("a browser page could not be closed; the browser will be restarted")
            self._restart = True
            if self._browser is not None and self._open <= 1:
                async with self._lock:
                    await self._stop_browser()


def _context_options(request: PageRequest) -> dict[str, Any]:
    options: dict[str, Any] = {
        "user_agent": request.user_agent,
        "service_workers": "block",
        "accept_downloads": False,
    }
    if request.headers:
        options["extra_http_headers"] = dict(request.headers)
    proxy = request.proxy
    if proxy is not None:
        # Chromium's socks5:// resolves names through the proxy already (socks5h's meaning).
        settings = {"server": proxy.server.replace("socks5h://", "socks5://", 1)}
        if proxy.username is not None:
            settings["username"] = proxy.username
        if proxy.password is not None:
            settings["password"] = proxy.password
        options["proxy"] = settings
    return options


def _router(
    refusal: Callable[[str], str | None], refused: list[str]
) -> Callable[[Route], Awaitable[None]]:
    async def route(route: Route) -> None:
        req = route.request
        if req.resource_type in SKIPPED_RESOURCES:
            await route.abort("blockedbyclient")
            return
        why = refusal(req.url)
        if why is not None:
            refused.append(why)
            await route.abort("addressunreachable")
            return
        await route.continue_()

    return route


async def _add_cookies(context: BrowserContext, cookies: tuple[dict[str, Any], ...]) -> None:
    """Give the context the cookies; one Chromium refuses (an odd value a site set) is left out
    rather than failing the page."""
    from playwright.async_api import Error as PlaywrightError

    if not cookies:
        return
    try:
        await context.add_cookies(list(cookies))  # type: ignore[arg-type]
    except PlaywrightError:
        for cookie in cookies:
            with contextlib.suppress(PlaywrightError):
                await context.add_cookies([cookie])  # type: ignore[list-item]


async def _quiet(in_flight: set[Any], limit: float) -> None:
    """Return once no request of the page was in flight for QUIET_FOR (at most `limit`)."""
    deadline = time.monotonic() + limit
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        if in_flight:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= QUIET_FOR:
            return
        await asyncio.sleep(0.025)


async def _settled_dom(page: Any, until: Callable[[str], bool] | None, wait: float) -> str:
    """The page's DOM; with `until`, polled (through reloads) until it holds or `wait` ends."""
    from playwright.async_api import Error as PlaywrightError

    deadline = time.monotonic() + wait
    dom = ""
    while True:
        try:
            dom = str(await page.content())
        except PlaywrightError:  # navigating (a challenge reloading the page): ask again
            dom = ""
        if until is None or (dom and until(dom)) or time.monotonic() >= deadline:
            if dom or time.monotonic() >= deadline:
                return dom
        await asyncio.sleep(POLL_INTERVAL)


def _last_document(documents: Sequence[Response], first: Response | None) -> Response | None:
    """The main frame's last document response (after a script reloaded or navigated)."""
    finals = [r for r in documents if not 300 <= r.status < 400]
    return finals[-1] if finals else first


async def _body(response: Response) -> bytes:
    from playwright.async_api import Error as PlaywrightError

    try:
        return bytes(await response.body())
    except PlaywrightError:  # evicted (the document navigated away): nothing kept
        return b""


def _redirects(response: Response) -> tuple[str, ...]:
    chain: list[str] = []
    request = response.request.redirected_from
    while request is not None:
        chain.append(request.url)
        request = request.redirected_from
    return tuple(reversed(chain))
