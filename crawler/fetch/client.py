"""The shared HTTP client: `Fetcher.fetch(url, source, validators) -> Page`.

One `httpx.AsyncClient` (small pool, `http.pool_size`; `http.transport: aiohttp` swaps in the
httpx-aiohttp transport, in its lighter form of transport.py) serves every source. Each fetch:

1. refuses anything but a well-formed http/https URL, and a host of an address class the source
   may not reach (`AddressRefused`; addresses.py: a source on a public host reaches public
   addresses only);
2. asks robots.txt (robots.py) unless `politeness.respect_robots` is false;
3. runs tries (retry.py) of: take the host slot (hosts.py), send a conditional GET with the
   source's User-Agent, stream the body under `limits.max_bytes` / `max_decompressed_bytes`
   (reading.py) within `limits.timeout` in total, follow redirects itself (at most
   `limits.max_redirects`, no loops, no hop to an address class the source may not reach unless
   `politeness.allow_private_redirects`);
4. returns a `Page` for 2xx, 304 (`not_modified=True`, empty text), 404 and 410, and raises a
   `FetchError` subclass for everything else, with the URL and a one-line human reason.

The address rule holds on the address actually connected to: there is one client per address
policy (a deployment of public sources has one), whose direct transport resolves a name once and
connects only to allowed addresses (pinning.py). A source with `proxy:` (proxies.py) has a client
per proxy, httpx's own transport (http, https and socks5 proxies); the proxy resolves and
connects, so only the URL's host is judged, and a proxy that refuses or fails is
`PathUnavailable` (the source `blocked`). A source's `accept_language:` and `headers:` are sent
with each request, its `cookies:` to its own hosts (`article_hosts`), before the jar's. An unknown host, a TLS name mismatch, a refused
port and an answer that is not HTTP are `permanent` failures: not retried within the run.

Status outcomes: 403, 412, 451 and any 4xx/5xx carrying a bot-challenge page (by the markers of
`crawler.parse.soft_errors`) are `Blocked`; 429 is retried and becomes `Blocked` when it never
ends; the other statuses retry.py retries (408/500/502/503/504) are retried, then
`HTTPStatusError`; other 4xx/5xx are `HTTPStatusError` at once.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import os
import socket
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from crawler.config import FetchMode, HttpSettings, Source, host_matches
from crawler.errors import (
    AddressRefused,
    Blocked,
    ConnectionFailed,
    FetchError,
    HTTPStatusError,
    PathUnavailable,
    RedirectError,
    RobotsDisallowed,
    Timeout,
    TooLarge,
)
from crawler.fetch.addresses import ANY, AddressPolicy
from crawler.fetch.hosts import HostSlots
from crawler.fetch.pinning import PinnedBackend, Refused
from crawler.fetch.proxies import Proxy, ProxyCredentialsMissing, enable_socks, expand
from crawler.fetch.reading import ACCEPT_ENCODING, BodyReader
from crawler.fetch.retry import (
    RETRY_AFTER_STATUSES,
    RetryableAnswer,
    RetryPolicy,
    parse_retry_after,
    run_with_retries,
    status_is_retryable,
)
from crawler.fetch.robots import RobotsAnswer, RobotsCache
from crawler.fetch.tls import verified_context
from crawler.model import Page
from crawler.parse import soft_errors
from crawler.parse.charset import decode, with_text
from storage.model import RawResponse

if TYPE_CHECKING:
    from crawler.fetch.browser import BrowserPool, Loaded, PageRequest

log = logging.getLogger(__name__)

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,application/rss+xml;q=0.9,*/*;q=0.8"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PAGE_STATUSES = frozenset({404, 410})  # answers the pipeline interprets (article gone)
BLOCK_STATUSES = frozenset({403, 412, 451})
ROBOTS_MAX_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class Validators:
    """Conditional-GET validators remembered from an earlier answer for the same URL."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class _Answer:
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None


def _joined(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """Every value of header `name` (lower case) joined by ", ", as httpx's `headers.get` does."""
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def _phrase(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _check_url(url: str) -> str:
    """The URL's host; a FetchError for anything but a well-formed http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise FetchError(url, f"invalid URL: {exc}", permanent=True) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(
            url, f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}"
        )
    if not host:
        raise FetchError(url, "the URL has no host")
    return host


def one_line(text: str, limit: int = 300) -> str:
    """`text` on one line (runs of whitespace, newlines included, become one space), at most
    `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# httpcore's words for a connection cut before the answer was complete (worth another try);
# any other protocol error is an answer h11 could not parse (not HTTP, a header too long).
_CUT_MARKERS = ("disconnected", "peer closed", "incomplete", "connection")

_PERMANENT_GAI = {
    code
    for name in ("EAI_NONAME", "EAI_NODATA", "EAI_FAIL", "EAI_ADDRFAMILY")
    if (code := getattr(socket, name, None)) is not None
}


def permanent_failure(exc: BaseException) -> bool:
    """Whether a connection failure would only repeat if tried again within this run.

    Permanent: the name does not exist (not "temporary failure in name resolution"), the TLS
    certificate does not match or verify, the port refuses connections.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return current.errno in _PERMANENT_GAI
        if isinstance(current, ssl.SSLCertVerificationError | ConnectionRefusedError):
            return True
        if isinstance(current, OSError) and current.errno == errno.ECONNREFUSED:
            return True
        names = {klass.__name__ for klass in type(current).__mro__}
        if "ClientConnectorCertificateError" in names:
            return True
        os_error = getattr(current, "os_error", None)  # aiohttp's ClientConnectorError
        if isinstance(os_error, BaseException) and os_error is not current:
            if permanent_failure(os_error):
                return True
        current = current.__cause__ or current.__context__
    return False


def _transport_error(url: str, exc: Exception, limits_timeout: float) -> FetchError:
    """Map an httpx (or httpx-aiohttp) transport error to our error tree with a one-line reason."""
    detail = one_line(str(exc) or type(exc).__name__)
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith("aiohttp"):
        # httpx-aiohttp maps every aiohttp connection error to ConnectTimeout; judge the cause.
        if isinstance(cause, TimeoutError):
            return Timeout(url, f"the server did not answer in time ({detail})")
        kinds = {klass.__name__ for klass in type(cause).__mro__}  # aiohttp is optional: by name
        if "ClientResponseError" in kinds:  # the answer could not be parsed as HTTP
            message = one_line(str(getattr(cause, "message", "") or detail))
            return ConnectionFailed(
                url, f"the server's answer is not valid HTTP: {message}", permanent=True
            )
        if "ClientConnectorError" in kinds:  # includes ClientConnectorDNSError
            return ConnectionFailed(
                url, f"could not connect: {detail}", permanent=permanent_failure(cause)
            )
        if type(cause).__name__ in (
            "ClientPayloadError",
            "ContentLengthError",
            "TransferEncodingError",
        ):
            return ConnectionFailed(url, f"the server broke the connection mid-response: {detail}")
        return ConnectionFailed(url, f"the connection was reset or broken: {detail}")
    if isinstance(exc, httpx.PoolTimeout):
        return Timeout(url, f"no free connection in the pool within {limits_timeout:g} s")
    if isinstance(exc, httpx.ConnectTimeout):
        return Timeout(url, f"could not connect in time (limits.connect_timeout): {detail}")
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(url, f"the server stopped sending data ({detail})")
    if isinstance(exc, httpx.ConnectError):
        return ConnectionFailed(
            url, f"could not connect: {detail}", permanent=permanent_failure(exc)
        )
    if isinstance(exc, httpx.RemoteProtocolError):
        if any(marker in detail.lower() for marker in _CUT_MARKERS):
            return ConnectionFailed(url, f"the server broke the connection mid-response: {detail}")
        return ConnectionFailed(
            url, f"the server's answer is not valid HTTP: {detail}", permanent=True
        )
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return ConnectionFailed(url, f"the connection was reset or closed: {detail}")
    return ConnectionFailed(url, f"{type(exc).__name__}: {detail}")


def _proxy_error(url: str, exc: Exception, total: float, proxy: Proxy) -> FetchError:
    """A transport error of a fetch through `proxy`: one reaching or told by the proxy is
    `PathUnavailable` (the source is blocked until its path works); credentials redacted."""
    if isinstance(exc, httpx.ProxyError | httpx.ConnectError | httpx.ConnectTimeout):
        detail = proxy.redact(one_line(str(exc) or type(exc).__name__))
        return PathUnavailable(
            url, f"the proxy {proxy.display} did not carry the request: {detail}", permanent=True
        )
    error = _transport_error(url, exc, total)
    error.reason = proxy.redact(error.reason)
    error.args = (f"{url}: {error.reason}",)
    return error


def _not_challenge(dom: str) -> bool:
    """Whether a rendered DOM is no longer a JavaScript challenge (nor any bot wall)."""
    return not soft_errors.text_is_challenge(dom)


def _with_cookies(configured: tuple[tuple[str, str], ...], from_jar: str | None) -> str:
    """A Cookie header: the source's `cookies:`, then the jar's cookies of other names."""
    names = {name for name, _ in configured}
    parts = [f"{name}={value}" for name, value in configured]
    for pair in (from_jar or "").split(";"):
        name = pair.split("=", 1)[0].strip()
        if name and name not in names:
            parts.append(pair.strip())
    return "; ".join(parts)


@dataclass
class BrowserUse:
    """How much one source needed the browser since it was last asked (`take_browser_use`)."""

    pages: int = 0  # pages loaded in the browser (`fetch: browser`)
    solves: Counter[str] = field(default_factory=Counter)  # challenges solved, per host


class _Cookies(httpx.Cookies):
    """The client's cookie jar; answers without Set-Cookie skip the extraction.

    httpx hands every response to `http.cookiejar`, which first copies the request and all the
    response headers into urllib objects, on every answer; one without `Set-Cookie` (or the old
    `Set-Cookie2`) can add nothing to the jar, so that work is skipped for it.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keep the cookies `response` sets, as httpx does."""
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verified TLS context per process (reading the CA bundle is its cost: it is deferred to
    the first TLS connection, `crawler.fetch.tls`)."""
    return verified_context()


class _PinnedClient(httpx.AsyncClient):
    """httpx's own client whose direct transport connects only where `policy` allows."""

    def __init__(self, *, policy: AddressPolicy, **kwargs: Any) -> None:
        self._policy = policy
        super().__init__(**kwargs)

    def _init_transport(self, **settings: Any) -> httpx.AsyncBaseTransport:  # type: ignore[override]
        transport = super()._init_transport(**settings)
        if not self._policy.unrestricted and isinstance(transport, httpx.AsyncHTTPTransport):
            pool = transport._pool  # httpcore's pool hands its backend to every new connection
            pool._network_backend = PinnedBackend(pool._network_backend, self._policy)
        return transport


def _listing_hosts(source: Source) -> tuple[str, ...]:
    return tuple(listing.url.host or "" for listing in source.listings)


class Fetcher:
    """Fetches pages politely through one shared client; use as `async with Fetcher(http) as f`.

    One Fetcher belongs to one event loop (its pool and host slots are bound to it). Proxies come
    from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`), as httpx reads them.
    """

    def __init__(
        self,
        http: HttpSettings,
        *,
        slots: HostSlots | None = None,
        robots: RobotsCache | None = None,
    ) -> None:
        self.http = http
        self.slots = slots if slots is not None else HostSlots()
        self.robots = robots if robots is not None else RobotsCache()
        # Per (User-Agent, Accept-Language, extra headers) of a source.
        self._headers: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], httpx.Headers] = {}
        self._timeouts: dict[tuple[float, float], dict[str, dict[str, float | None]]] = {}
        self._policies: dict[int, tuple[Source, AddressPolicy]] = {}  # per source object
        self._cookies = _Cookies()  # one jar shared by the clients
        # One client (and pool) per address policy: a connection opened under one policy is
        # never reused by a fetch under another. Public sources all share the first one.
        # A source with `proxy:` has a client of its own per proxy (httpx's transport, which
        # speaks http, https and socks5 proxies), not pinned: the proxy resolves and connects.
        self._clients: dict[tuple[AddressPolicy, str | None], httpx.AsyncClient] = {}
        self._proxies: dict[str, Proxy] = {}  # per `proxy:` as configured
        self._browser: BrowserPool | None = None  # started by the first page that needs it
        self._solving: dict[str, asyncio.Lock] = {}  # one challenge solve at a time per host
        self._solved_at: dict[str, float] = {}
        self._browser_use: dict[str, BrowserUse] = {}  # per source key
        self._client = self._client_for(AddressPolicy.for_hosts(()))

    def _client_for(self, policy: AddressPolicy, proxy: Proxy | None = None) -> httpx.AsyncClient:
        key = (policy, None if proxy is None else proxy.url)
        client = self._clients.get(key)
        if client is not None:
            return client
        http = self.http
        limits = httpx.Limits(
            max_connections=http.pool_size, max_keepalive_connections=http.pool_size
        )
        if proxy is not None:
            if proxy.scheme.startswith("socks"):
                enable_socks()
            client = httpx.AsyncClient(
                proxy=proxy.url,
                trust_env=False,
                limits=limits,
                follow_redirects=False,
                verify=_ssl_context(),
            )
        elif http.transport == "aiohttp":
            from crawler.fetch.transport import LeanAiohttpClient

            client = LeanAiohttpClient(
                policy=policy, limits=limits, follow_redirects=False, verify=_ssl_context()
            )
        else:
            client = _PinnedClient(
                policy=policy, limits=limits, follow_redirects=False, verify=_ssl_context()
            )
        # The client reads its jar through `_cookies` (the public setter would wrap ours in a
        # plain `httpx.Cookies`); the site's cookies are still kept and sent back as before.
        client._cookies = self._cookies
        self._clients[key] = client
        return client

    def proxy(self, source: Source, url: str = "") -> Proxy | None:
        """The source's proxy with its credentials read from the environment (None without one).

        Raises `PathUnavailable` naming the variable a `${NAME}` of the URL needs.
        """
        template = source.proxy
        if template is None:
            return None
        proxy = self._proxies.get(template)
        if proxy is None:
            try:
                proxy = expand(template, os.environ)
            except ProxyCredentialsMissing as exc:
                raise PathUnavailable(url or template, str(exc), permanent=True) from None
            self._proxies[template] = proxy
        return proxy

    def policy(self, source: Source) -> AddressPolicy:
        """The address classes `source` may reach: public, plus those of its listing hosts."""
        cached = self._policies.get(id(source))
        if cached is not None and cached[0] is source:
            return cached[1]
        policy = AddressPolicy.for_hosts(_listing_hosts(source))
        if len(self._policies) > 1024:  # sources of configurations reloaded long ago
            self._policies.clear()
        self._policies[id(source)] = (source, policy)
        return policy

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection, and the browser if one was started."""
        for client in self._clients.values():
            await client.aclose()
        if self._browser is not None:
            await self._browser.aclose()

    @property
    def browser(self) -> BrowserPool:
        """The headless browser of `fetch: browser` / `challenge` (made, not started, here)."""
        if self._browser is None:
            from crawler.fetch.browser import BrowserPool

            self._browser = BrowserPool(self.http.browser)
        return self._browser

    def take_browser_use(self, source_key: str) -> BrowserUse:
        """What the source's fetches needed of the browser since the last call (then reset)."""
        return self._browser_use.pop(source_key, None) or BrowserUse()

    def _use(self, source: Source) -> BrowserUse:
        return self._browser_use.setdefault(source.key, BrowserUse())

    # -- public API -----------------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        source: Source,
        *,
        validators: Validators | None = None,
        decode_text: bool = True,
        mode: FetchMode | None = None,
    ) -> Page:
        """Fetch `url` for `source`; see the module docstring for outcomes and errors.

        With `decode_text=False` the page comes undecoded (`text` empty, `charset_rule` empty),
        for a caller that hands the raw bytes on (to a parse worker, which decodes them itself);
        `with_text(page)` decodes it. `mode` (default: the source's, or its listing's for a
        listing URL) says how: `plain`, `browser` (the page is loaded in the browser: its text
        is the rendered DOM, kept in `raw.rendered`), `challenge` (plain, the browser solving a
        JavaScript challenge when one is answered).
        """
        host = _check_url(url)
        refusal = self.policy(source).refusal(host)
        if refusal is not None:
            raise AddressRefused(url, refusal, permanent=True)
        self.proxy(source, url)  # missing proxy credentials: said before anything is sent
        if source.politeness.respect_robots:
            await self._check_robots(url, source)
        policy = RetryPolicy(retries=source.politeness.retries)
        mode = mode or source.fetch_mode(url)
        if mode == "browser":
            return await run_with_retries(
                lambda: self._browser_attempt(url, source), policy, url=url
            )

        async def plain() -> Page:
            return await run_with_retries(
                lambda: self._attempt(url, source, validators, decode_text=decode_text),
                policy,
                url=url,
            )

        if mode == "plain":
            return await plain()
        return await self._through_challenge(url, source, plain)

    # -- browser --------------------------------------------------------------------------

    async def _through_challenge(
        self, url: str, source: Source, plain: Callable[[], Awaitable[Page]]
    ) -> Page:
        """`fetch: challenge`: a plain fetch; when it is answered a JavaScript challenge, the
        browser solves it once for the host, its cookies go to the jar, and the fetch is made
        again (plainly). Still a challenge then: `Blocked`."""
        challenge = await self._challenge_of(url, plain)
        if isinstance(challenge, Page):
            return challenge
        status, what = challenge
        await self._solve(url, source, status, what)
        again = await self._challenge_of(url, plain)
        if isinstance(again, Page):
            return again
        raise Blocked(
            url,
            again[0],
            f"{_phrase(again[0])}: still {again[1]} after the browser solved it; the site may "
            "also check the address (a proxy or a node inside the country: see README)",
        )

    async def _challenge_of(
        self, url: str, plain: Callable[[], Awaitable[Page]]
    ) -> Page | tuple[int, str]:
        """The page of a plain fetch, or (status, what) when it is a JavaScript challenge."""
        try:
            page = await plain()
        except Blocked as exc:
            if not getattr(exc, "challenge", False):
                raise
            return exc.status, "a bot-challenge page"
        sig = soft_errors.classify(with_text(page)) if page.status < 300 else None
        if sig is not None and sig.name in soft_errors.JS_CHALLENGES:
            return page.status, f"a JavaScript challenge ({sig.reason})"
        return page

    async def _solve(self, url: str, source: Source, status: int, what: str) -> None:
        """Let the browser clear the challenge at `url`; its cookies go to the shared jar."""
        host = urlsplit(url).hostname or ""
        lock = self._solving.setdefault(host, asyncio.Lock())
        asked = time.monotonic()
        async with lock:
            if self._solved_at.get(host, 0.0) > asked:  # solved while this fetch waited
                return
            wait = self.http.browser.challenge_timeout.total_seconds()
            log.info("%s answered %s: solving it in the browser", host, what, extra={"url": url})
            loaded = await self._browser_load(url, source, until=_not_challenge, until_wait=wait)
            if not _not_challenge(loaded.dom):
                raise Blocked(
                    url,
                    status,
                    f"{_phrase(status)}: {what} did not clear in the browser within {wait:g} s "
                    "(http.browser.challenge_timeout)",
                )
            self._keep_cookies(loaded.cookies)
            self._solved_at[host] = time.monotonic()
            self._use(source).solves[host] += 1

    async def _browser_attempt(self, url: str, source: Source) -> Page:
        """One try of a page in the browser: main document and rendered DOM, judged as a plain
        answer would be (status, bot walls, size)."""
        async with self.slots.acquire(url, source.politeness):
            try:
                loaded = await self._browser_load(url, source)
            except FetchError:
                self.slots.failed(url)
                raise
            self.slots.succeeded(url)
        self._use(source).pages += 1
        self._keep_cookies(loaded.cookies)
        dom = loaded.dom.encode("utf-8")
        limit = source.limits.max_bytes
        if max(len(loaded.body), len(dom)) > limit:
            raise TooLarge(
                url, f"the page is over {limit / 1048576:.1f} MB (limits.max_bytes) in the browser"
            )
        answer = _Answer(loaded.url, loaded.status, loaded.headers, loaded.body, loaded.fetched_at)
        page = self._outcome(url, answer, loaded.redirects)
        if dom == loaded.body:
            return page
        return Page(
            raw=replace(page.raw, rendered=dom),
            text=loaded.dom,
            charset="utf-8",
            charset_rule="rendered",
        )

    async def _browser_load(
        self,
        url: str,
        source: Source,
        *,
        until: Callable[[str], bool] | None = None,
        until_wait: float = 0.0,
    ) -> Loaded:
        """`url` loaded in the browser for `source`; browser failures as `FetchError`s."""
        from crawler.fetch.browser import BrowserUnavailable, PageFailed

        request = self._page_request(url, source)
        try:
            return await self.browser.load(
                url,
                request,
                timeout=source.limits.timeout.total_seconds(),
                until=until,
                until_timeout=until_wait,
            )
        except BrowserUnavailable as exc:
            raise PathUnavailable(url, f"the browser is needed: {exc}", permanent=True) from None
        except PageFailed as exc:
            if exc.refused is not None:
                raise AddressRefused(url, exc.refused, permanent=True) from None
            if exc.timed_out:
                raise Timeout(url, exc.reason, permanent=True) from None
            raise ConnectionFailed(url, exc.reason) from None

    def _page_request(self, url: str, source: Source) -> PageRequest:
        from crawler.fetch.browser import PageRequest

        host = urlsplit(url).hostname or ""
        headers = list(source.headers)
        if source.accept_language:
            headers.append(("Accept-Language", source.accept_language))
        cookies: list[dict[str, Any]] = []
        if source.cookies and host_matches(host, source.effective_article_hosts):
            cookies += [{"name": n, "value": v, "url": url} for n, v in source.cookies]
        configured = {name for name, _ in source.cookies}
        for cookie in self._cookies.jar:
            domain = cookie.domain.lstrip(".")
            if (host == domain or host.endswith("." + domain)) and cookie.name not in configured:
                cookies.append(
                    {
                        "name": cookie.name,
                        "value": cookie.value or "",
                        "domain": cookie.domain,
                        "path": cookie.path or "/",
                    }
                )
        proxy = self.proxy(source, url)
        if proxy is not None and proxy.scheme.startswith("socks") and proxy.username is not None:
            raise PathUnavailable(
                url,
                f"the browser cannot log in to the SOCKS proxy {proxy.display} (Chromium has no "
                "SOCKS authentication): give this source an http(s) proxy with credentials, or "
                "a SOCKS proxy without them (e.g. an SSH tunnel)",
                permanent=True,
            )
        policy = self.policy(source)

        def refusal(target: str) -> str | None:
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https"):
                return None  # data:, blob:, about: stay in the browser
            return policy.refusal(parts.hostname or "")

        return PageRequest(
            user_agent=source.user_agent,
            headers=tuple(headers),
            cookies=tuple(cookies),
            proxy=proxy,
            refusal=refusal,
        )

    def _keep_cookies(self, cookies: tuple[dict[str, Any], ...]) -> None:
        """Cookies a browser page ended with, into the jar the plain client sends from."""
        for c in cookies:
            self._cookies.set(
                str(c["name"]), str(c["value"]), domain=str(c["domain"]), path=str(c["path"])
            )

    # -- robots ---------------------------------------------------------------------------

    async def _check_robots(self, url: str, source: Source) -> None:
        async def load(robots_url: str) -> RobotsAnswer:
            try:
                page = await self._attempt(robots_url, source, None, max_bytes=ROBOTS_MAX_BYTES)
            except RetryableAnswer as exc:
                raise exc.error from None
            return RobotsAnswer(page.status, page.raw.header("content-type"), page.text, page.url)

        rules = await self.robots.rules(url, load)
        self.slots.set_crawl_delay(url, rules.crawl_delay(source.user_agent))
        if not rules.allows(url, source.user_agent):
            raise RobotsDisallowed(
                url,
                f"robots.txt of {urlsplit(url).netloc} disallows this path for our user agent "
                f"({source.user_agent!r}); set respect_robots: false only with the site's consent",
            )

    # -- one try --------------------------------------------------------------------------

    async def _attempt(
        self,
        url: str,
        source: Source,
        validators: Validators | None,
        *,
        max_bytes: int | None = None,
        decode_text: bool = True,
    ) -> Page:
        current = url
        chain: list[str] = []
        policy = self.policy(source)
        while True:
            try:
                answer = await self._exchange(
                    current, source, validators, policy=policy, max_bytes=max_bytes
                )
            except AddressRefused as exc:
                if not chain:
                    raise
                raise self._redirect_refused(url, exc.reason) from None
            location = answer.header("location")
            if answer.status in REDIRECT_STATUSES and location:
                try:
                    target = urljoin(current, location.strip())
                except ValueError as exc:
                    raise RedirectError(url, f"redirect to an invalid URL: {exc}") from None
                policy = self._check_redirect(url, current, target, chain, source)
                chain.append(current)
                current = target
                continue
            return self._outcome(url, answer, tuple(chain), decode_text=decode_text)

    @staticmethod
    def _redirect_refused(url: str, reason: str) -> RedirectError:
        host = urlsplit(url).hostname
        return RedirectError(
            url,
            f"redirect from {host} refused: {reason}; set politeness.allow_private_redirects: "
            "true to allow it",
            permanent=True,
        )

    def _check_redirect(
        self, url: str, current: str, target: str, chain: list[str], source: Source
    ) -> AddressPolicy:
        """Refuse a bad redirect hop; the address policy the hop is fetched under otherwise."""
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("http", "https"):
            raise RedirectError(url, f"redirect from {current} to a non-http URL {target!r}")
        try:
            host = _check_url(target)
        except FetchError as exc:
            raise RedirectError(url, f"redirect from {current} to {exc.reason}") from None
        if target in chain or target == current:
            hops = " -> ".join([*chain, current, target])
            raise RedirectError(url, f"redirect loop: {hops}")
        limit = source.limits.max_redirects
        if len(chain) >= limit:
            raise RedirectError(
                url, f"more than {limit} redirects (limits.max_redirects); last one to {target}"
            )
        if source.politeness.allow_private_redirects:
            return ANY
        policy = self.policy(source)
        refusal = policy.refusal(host)
        if refusal is not None:
            raise self._redirect_refused(url, f"{target}: {refusal}")
        return policy

    def _request(self, url: str, source: Source, validators: Validators | None) -> httpx.Request:
        """The GET for one exchange: what `client.build_request` makes, from cached parts.

        Raises `httpx.InvalidURL` for a URL httpx cannot parse, as `build_request` would.
        """
        limits = source.limits
        timeouts = (limits.timeout.total_seconds(), limits.connect_timeout.total_seconds())
        extensions = self._timeouts.get(timeouts)
        if extensions is None:
            timeout = httpx.Timeout(timeouts[0], connect=timeouts[1])
            extensions = self._timeouts[timeouts] = {"timeout": timeout.as_dict()}
        key = (source.user_agent, source.accept_language, source.headers)
        headers = self._headers.get(key)
        if headers is None:
            # The client's defaults overridden by ours, in the order build_request gives them,
            # then the source's Accept-Language and extra headers.
            headers = httpx.Headers(self._client.headers)
            headers.update(
                {
                    "User-Agent": source.user_agent,
                    "Accept": ACCEPT,
                    "Accept-Encoding": ACCEPT_ENCODING,
                }
            )
            if source.accept_language:
                headers["Accept-Language"] = source.accept_language
            for name, value in source.headers:
                headers[name] = value
            self._headers[key] = headers
        if validators is not None and (validators.etag or validators.last_modified):
            headers = headers.copy()
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        # The Request copies the headers and the jar, so the cached ones are never changed.
        request = httpx.Request(
            "GET", url, headers=headers, cookies=self._cookies, extensions=extensions
        )
        if source.cookies and host_matches(request.url.host, source.effective_article_hosts):
            request.headers["Cookie"] = _with_cookies(source.cookies, request.headers.get("cookie"))
        return request

    async def _send(
        self, request: httpx.Request, policy: AddressPolicy, proxy: Proxy | None = None
    ) -> httpx.Response:
        """`client.send(request, stream=True)` without the layers this fetcher does not use.

        Redirects are followed by `_attempt`, there is no auth and there are no event hooks, so
        the request goes straight to the transport the client mounts for its URL (a proxy's,
        per the environment, or the direct one), and the answer's cookies to the client's jar.
        """
        client = self._client_for(policy, proxy)
        transport = client._transport_for_url(request.url)
        response = await transport.handle_async_request(request)
        response.request = request
        self._cookies.extract_cookies(response)
        return response

    async def _exchange(
        self,
        url: str,
        source: Source,
        validators: Validators | None,
        *,
        policy: AddressPolicy,
        max_bytes: int | None = None,
    ) -> _Answer:
        limits = source.limits
        total = limits.timeout.total_seconds()
        proxy = self.proxy(source, url)
        async with self.slots.acquire(url, source.politeness):
            try:
                async with asyncio.timeout(total):
                    request = self._request(url, source, validators)
                    resp = await self._send(request, policy, proxy)
                    try:
                        headers = tuple(
                            (k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers.raw
                        )
                        reader = BodyReader(
                            url,
                            _joined(headers, "content-encoding"),
                            max_bytes=max_bytes or limits.max_bytes,
                            max_decompressed=limits.max_decompressed_bytes,
                        )
                        if resp.status_code not in (204, 304):
                            reader.check_declared_length(_joined(headers, "content-length"))
                        # Read to the end even when there is no body (204/304): a response left
                        # unread makes httpcore close its connection, so every 304 would cost a
                        # new TCP (and TLS) handshake.
                        async for chunk in resp.aiter_raw():
                            reader.feed(chunk)
                        answer = _Answer(
                            str(request.url),
                            resp.status_code,
                            headers,
                            reader.body(),
                            datetime.now(UTC),
                        )
                    finally:
                        await resp.aclose()
            except TimeoutError:
                self.slots.failed(url)
                raise Timeout(
                    url, f"no complete response within {total:g} s (limits.timeout)"
                ) from None
            except httpx.TransportError as exc:
                self.slots.failed(url)
                if proxy is not None:
                    raise _proxy_error(url, exc, total, proxy) from None
                raise _transport_error(url, exc, total) from None
            except httpx.InvalidURL as exc:
                raise FetchError(
                    url, f"invalid URL: {one_line(str(exc))}", permanent=True
                ) from None
            except Refused as exc:
                raise AddressRefused(url, exc.reason, permanent=True) from None
        if status_is_retryable(answer.status):
            self.slots.failed(url)
        else:
            self.slots.succeeded(url)
        return answer

    # -- outcome --------------------------------------------------------------------------

    def _outcome(
        self, url: str, answer: _Answer, chain: tuple[str, ...], *, decode_text: bool = True
    ) -> Page:
        status = answer.status
        where = "" if answer.url == url else f" (at {answer.url})"
        if status == 304:
            return self._page(url, answer, chain, not_modified=True)
        if 200 <= status < 300 or status in PAGE_STATUSES:
            return self._page(url, answer, chain, decode_text=decode_text)
        reason = f"{_phrase(status)}{where}"
        retry_after = parse_retry_after(answer.header("retry-after"))
        if retry_after is not None and status in RETRY_AFTER_STATUSES:
            self.slots.pause(answer.url, retry_after)
        challenge = soft_errors.challenge_in_error_answer(answer.body)
        if status == 429:
            raise RetryableAnswer(
                Blocked(url, status, f"{reason}: the site keeps rate-limiting us"), retry_after
            )
        if status in BLOCK_STATUSES or (status >= 400 and challenge):
            what = "a bot-challenge page" if challenge else "the site refuses us"
            blocked = Blocked(url, status, f"{reason}: {what}")
            blocked.challenge = challenge
            raise blocked
        if status_is_retryable(status):
            raise RetryableAnswer(HTTPStatusError(url, status, reason), retry_after)
        if 300 <= status < 400:
            raise HTTPStatusError(url, status, f"{reason} without a usable Location header")
        raise HTTPStatusError(url, status, reason)

    def _page(
        self,
        url: str,
        answer: _Answer,
        chain: tuple[str, ...],
        *,
        not_modified: bool = False,
        decode_text: bool = True,
    ) -> Page:
        body = b"" if not_modified else answer.body
        if decode_text or not_modified:
            text, charset, rule = decode(body, answer.header("content-type"))
        else:
            text = charset = rule = ""
        raw = RawResponse(
            url=url,
            final_url=answer.url,
            status=answer.status,
            headers=answer.headers,
            body=body,
            fetched_at=answer.fetched_at,
            redirects=chain,
        )
        return Page(
            raw=raw, text=text, charset=charset, charset_rule=rule, not_modified=not_modified
        )
