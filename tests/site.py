"""A real HTTP/1.1 test site on 127.0.0.1 (port 0, background thread) with named misbehaviours.

It serves a folder of files (as `text/html` WITHOUT charset, like fmprc), responses registered at
runtime (`add`, `redirect`, `remove`), and the named routes below. Every request is recorded.
Built on `http.server` so that every header and every socket trick (reset, truncation, trickling)
is under exact control. It also answers absolute-form request targets, so it can act as an HTTP
proxy for made-up host names (`HTTP_PROXY=site.base_url`): a "public" host served on loopback.

Precedence: registered response > named route > file under `root` > 404.

Named routes (`{s}` seconds, may be fractional):

    /slow-headers/{s}        sleeps s, then answers 200
    /slow-body/{s}           headers at once, then a few bytes every 0.1 s for s seconds (slowloris)
    /delay/{s}               an ordinary 200 after s seconds (for concurrency tests)
    /reset                   reads the request, then resets the TCP connection (RST)
    /drop-mid-body           sends headers and part of the body, then resets
    /truncated               Content-Length: 1000, sends 100 bytes, then closes (FIN)
    /cut-short/{name}        an article of 21 paragraphs with no Content-Length, closed (FIN)
                             after half of it (no `</html>`); the first `?full=k` requests of
                             this exact path+query get the whole article
    /status/{n}              answers status n
    /retry-after/{s}         503 + `Retry-After: s` for the first `?fails=1` requests of this exact
                             path+query, then 200; `?date=1` sends an HTTP-date instead
    /429                     429 always (or `?fails=k` times, then 200); `?retry_after=N` adds it
    /redirect-loop           302 -> /redirect-loop/b -> 302 -> /redirect-loop
    /redirect-to/{url}       302 (or `?status=`) to the percent-decoded url
    /redirect-chain/{n}      n redirects in a row, then 200
    /big/{mb}                mb MB of HTML with Content-Length (`?chunked=1`: chunked, no length)
    /gzip-bomb               ~100 KB of gzip that inflates to 100 MB (`?mb=` to change)
    /no-charset              UTF-8 Chinese text, `text/html`, no charset anywhere
    /wrong-charset           header says iso-8859-1; the bytes (and the <meta>) are UTF-8
    /gb18030                 GB18030 bytes, no header charset, `<meta charset=gb2312>`
    /invalid-utf8            header says utf-8; the body has a few invalid bytes
    /empty                   200 with an empty body
    /etag                    a fixed page with ETag and Last-Modified; 304 on a matching validator
    /challenge               200 bot-challenge page (`window["bobcmn"]`, `/TSPD/`); `?status=403`
    /bot-challenge           alias of /challenge
    /technical-difficulties  200 state.gov "Technical Difficulties" decoy
    /soft-404                200 with tests/fixtures/real-pages/china-error-1.html
    /robots.txt              404 unless registered with `add` (or present under `root`)

  Malformed answers (fetch layer, issue 16 hole 4):

    /ssh-banner              answers `SSH-2.0-OpenSSH_9.6` instead of HTTP, then closes
    /huge-header             200 with one header of `?kb=` KB (default 9, over aiohttp's 8 KB line)
    /many-headers            200 with `?n=` headers (default 20,000)
    /internal/secret         a page standing for an internal service a public source must not reach

  Terminal injection (CLI area, issue 16 hole 3):

    /escape-redirect         302 whose Location carries ESC[2J, OSC 0 (title) and OSC 52 (clipboard)
                             and points back to itself (so the fetch fails, naming the Location)
    /escape-page             200 article-like page whose title, date and body carry the same escapes,
                             BEL and 8-bit C1 controls; `?list=1` makes it a listing of itself

  Bot walls in error answers (crawler area, issue 17: one marker table):

    /wall/{kind}             `?status=` (default 503) with a small page carrying only the marker of
                             `kind`: incapsula (`/_Incapsula_Resource`), cf-verify
                             (`cf-browser-verification`), captcha (the word `captcha`)

  Pages for the browser (crawler area, issue 22):

    /js-only/{name}          an article whose title and paragraphs only a script writes (the
                             bytes hold none); `?list=n` makes it a listing of n such articles
    /js-challenge/{name}     an F5-style JavaScript challenge (`window["bobcmn"]`, `/TSPD/`; 200, or
                             `?status=403`) whose script sets the cookie `TSjs` and reloads, until a
                             request carries `TSjs` equal to `site.challenge_token` (change it to
                             make the cookies stop working): then the article `name` (`?list=n`:
                             a listing `ul.news` of n such articles); `?never=1`: the script sets
                             no cookie (the challenge never clears)
    /js-hang                 a page whose script never ends (`while (true) {}`)

Run `python -m tests.site [ROOT]` to serve a folder from another process (prints the base URL).
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

REAL_PAGES = Path(__file__).parent / "fixtures" / "real-pages"

_FILE_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".shtml": "text/html",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".txt": "text/plain",
}

NO_CHARSET_BODY = (
    "<!DOCTYPE html><html><head><title>外交部发言人答记者问</title></head><body>"
    "<h1>外交部发言人赵立坚主持例行记者会</h1><p>中方对此表示坚决反对。</p>"
    "<p>Sorry — “quoted” text with non-ASCII: café, Москва.</p></body></html>"
)
WRONG_CHARSET_BODY = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>王毅会见布林肯</title></head>'
    "<body><p>王毅同美国国务卿布林肯举行会谈。</p></body></html>"
)
GB18030_TEXT = "<p>朱镕基总理会见外宾。镕字不在 GB2312 中。</p>"
GB18030_BODY = (
    '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    f"<title>新闻</title></head><body>{GB18030_TEXT}</body></html>"
)
INVALID_UTF8_BODY = (
    b"<!DOCTYPE html><html><head><title>broken</title></head><body><p>caf\xc3\xa9 "
    b"\xff\xfe broken \xc3 bytes \xe4\xb8\xad\xe6\x96\x87</p>"
    + b"<p>padding text.</p>" * 20
    + b"</body></html>"
)
CHALLENGE_BODY = (
    "<!DOCTYPE html><html><head><title></title>"
    '<script type="text/javascript">window["bobcmn"] = "1011101010101020000";'
    'window["failureConfig"] = "524f4b";</script>'
    '<script type="text/javascript" src="/TSPD/08a3?type=11"></script>'
    "</head><body><noscript>Please enable JavaScript to view the page content.</noscript>"
    "</body></html>"
)
DIFFICULTIES_BODY = (
    '<!DOCTYPE html><html lang="en"><head><title>Technical Difficulties</title></head><body>'
    "<h1>Technical Difficulties</h1><p>We're sorry, this site is currently experiencing "
    "technical difficulties. Please try again in a few moments.</p>"
    "<p>Exception: request blocked</p></body></html>"
)
ETAG_BODY = (
    "<!DOCTYPE html><html><head><title>etag</title></head><body><p>unchanged</p></body></html>"
)


@dataclass
class RequestRecord:
    """One request as the site saw it (headers with lower-case names)."""

    method: str
    path: str  # path and query, as requested
    headers: dict[str, str]
    host: str = ""
    started: float = 0.0  # time.monotonic() when the request line was read
    status: int = 0  # the status answered (0 for a reset)
    body_bytes: int = 0  # body bytes written

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower())


@dataclass
class _Registered:
    body: bytes
    status: int
    headers: dict[str, str]
    content_type: str | None
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


_BOMBS: dict[int, bytes] = {}
_BOMB_LOCK = threading.Lock()


def gzip_bomb(mb: int) -> bytes:
    """Gzip bytes that inflate to `mb` MB of zeros (cached; built chunk by chunk)."""
    with _BOMB_LOCK:
        if mb not in _BOMBS:
            comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            chunk = bytes(1024 * 1024)
            parts = [comp.compress(chunk) for _ in range(mb)]
            parts.append(comp.flush())
            _BOMBS[mb] = b"".join(parts)
        return _BOMBS[mb]


def _http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, site: Site) -> None:
        self.site = site
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up mid-response on purpose in these tests; that is not a server error.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)


class _Reset(Exception):
    """Raised by a route to end the connection with an RST."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60  # an idle keep-alive connection is dropped after this
    disable_nagle_algorithm = True  # headers and body are separate writes; no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._dispatch()

    # -- plumbing -------------------------------------------------------------------------

    def _dispatch(self) -> None:
        site = self.server.site
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute form: we are a proxy
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.record = RequestRecord(
            method=self.command,
            path=target,
            headers={k.lower(): v for k, v in self.headers.items()},
            host=self.headers.get("Host", ""),
            started=time.monotonic(),
        )
        site._enter(self.record)
        try:
            site._route(self, target)
        except _Reset:
            self.record.status = 0
            self._reset()
        finally:
            site._leave(self.record)

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def send(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str | None = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        content_length: int | None = None,
    ) -> None:
        """Write a whole response (no body for HEAD, 1xx, 204 and 304)."""
        self.record.status = status
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        no_body = self.command == "HEAD" or status in (204, 304) or status < 200
        if status != 304 and status >= 200 and status != 204:
            length = len(body) if content_length is None else content_length
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if not no_body and body:
            self.wfile.write(body)
            self.record.body_bytes += len(body)

    def write(self, data: bytes) -> None:
        """Write part of a body (for streaming routes)."""
        self.wfile.write(data)
        self.record.body_bytes += len(data)

    def query(self, name: str, default: str | None = None) -> str | None:
        """A query parameter of the current request."""
        values = parse_qs(urlsplit(self.record.path).query).get(name)
        return values[0] if values else default

    def not_modified(self, etag: str | None, last_modified: str | None) -> bool:
        """Whether the request's validators match (If-None-Match first, as RFC 9110 says)."""
        inm = self.headers.get("If-None-Match")
        if inm is not None and etag is not None:
            tags = [t.strip() for t in inm.split(",")]
            return "*" in tags or etag in tags or f"W/{etag}" in tags
        ims = self.headers.get("If-Modified-Since")
        if ims and last_modified:
            try:
                return email.utils.parsedate_to_datetime(ims) >= email.utils.parsedate_to_datetime(
                    last_modified
                )
            except (TypeError, ValueError):
                return False
        return False


# -- named routes ---------------------------------------------------------------------------


def _seconds(text: str) -> float:
    try:
        return max(0.0, float(text))
    except ValueError:
        return 1.0


def _html(title: str, text: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body><p>{text}</p></body></html>".encode()


class Site:
    """A loopback HTTP site for tests; see the module docstring for its routes.

    Usage:
        with Site(FIXTURES) as site:
            site.add("/a.html", "<p>hi</p>")
            url = site.url("/a.html")
    """

    def __init__(self, root: Path | None = None, *, file_etags: bool = True) -> None:
        self.root = root.resolve() if root is not None else None
        self.file_etags = file_etags
        self.requests: list[RequestRecord] = []
        self.peak_in_flight = 0  # most requests in progress at once since the last clear
        self._active: set[int] = set()  # ids of records in progress, counted since the last clear
        # Per Host header: the most requests in progress at once, and those in progress now.
        self.peak_per_host: dict[str, int] = {}
        self._active_per_host: dict[str, set[int]] = {}
        self._routes: dict[str, _Registered] = {}
        self._counters: dict[str, int] = {}
        self.challenge_token = "t1"  # what /js-challenge/ wants in its cookie (issue 22)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Site:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with server.sockets_lock:
            open_sockets = list(server.open_sockets)
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Site:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the site listens on."""
        if self._server is None:
            raise RuntimeError("Site is not started; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of a path on this site."""
        return f"{self.base_url}{path if path.startswith('/') else '/' + path}"

    # -- configuration --------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = "text/html; charset=utf-8",
        etag: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Register (or replace) the response for `path` (path plus optional query).

        With `etag=True` the response carries an ETag and Last-Modified, and a matching
        If-None-Match / If-Modified-Since gets a 304 with no body. With `delay`, the answer
        comes that many seconds after the request.
        """
        data = body.encode("utf-8") if isinstance(body, str) else body
        tag = modified = None
        if etag:
            tag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
            modified = _http_date(time.time())
        with self._lock:
            self._routes[path] = _Registered(
                data, status, dict(headers or {}), content_type, tag, modified, delay
            )

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        """Register a redirect from `path` to `to` (absolute or relative Location)."""
        self.add(path, b"", status=status, headers={"Location": to}, content_type=None)

    def remove(self, path: str) -> None:
        """Make `path` answer 404 from now on (even if a file or route exists there)."""
        self.add(path, _html("404", "Not Found"), status=404)

    @property
    def in_flight(self) -> int:
        """Requests in progress that started since the last clear."""
        with self._lock:
            return len(self._active)

    def clear_requests(self) -> None:
        """Forget recorded requests, per-path counters and the concurrency peak."""
        with self._lock:
            self.requests.clear()
            self._counters.clear()
            # Requests still running from before (a slow route whose client gave up) no longer count.
            self._active = set()
            self.peak_in_flight = 0
            self.peak_per_host = {}
            self._active_per_host = {}

    def reset(self) -> None:
        """Back to a fresh site: no registered responses, no records."""
        with self._lock:
            self._routes.clear()
        self.challenge_token = "t1"
        self.clear_requests()

    def requests_to(self, path: str) -> list[RequestRecord]:
        """Recorded requests whose path (without query) is `path`."""
        with self._lock:
            return [r for r in self.requests if urlsplit(r.path).path == path]

    # -- request handling (called from server threads) ----------------------------------

    def _enter(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)
            self._active.add(id(record))
            self.peak_in_flight = max(self.peak_in_flight, len(self._active))
            host = self._active_per_host.setdefault(record.host, set())
            host.add(id(record))
            self.peak_per_host[record.host] = max(self.peak_per_host.get(record.host, 0), len(host))

    def _leave(self, record: RequestRecord) -> None:
        with self._lock:
            self._active.discard(id(record))
            self._active_per_host.get(record.host, set()).discard(id(record))

    def _count(self, key: str) -> int:
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + 1
            return self._counters[key]

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _route(self, h: _Handler, target: str) -> None:
        path = (
            unquote(urlsplit(target).path)
            if "/redirect-to/" not in target
            else urlsplit(target).path
        )
        with self._lock:
            reg = self._routes.get(target) or self._routes.get(urlsplit(target).path)
        if reg is not None:
            self._serve_registered(h, reg)
            return
        head, _, rest = path.lstrip("/").partition("/")
        handler = _NAMED.get(head)
        if handler is not None and head != "robots.txt":
            handler(self, h, rest)
            return
        if self._serve_file(h, path):
            return
        h.send(404, _html("404", f"Not Found: {path}"))

    def _serve_registered(self, h: _Handler, reg: _Registered) -> None:
        if reg.delay:
            self._sleep(reg.delay)
        headers = dict(reg.headers)
        if reg.etag:
            headers["ETag"] = reg.etag
            headers["Last-Modified"] = reg.last_modified or ""
            if h.not_modified(reg.etag, reg.last_modified):
                h.send(304, content_type=None, headers=headers)
                return
        h.send(reg.status, reg.body, content_type=reg.content_type, headers=headers)

    def _serve_file(self, h: _Handler, path: str) -> bool:
        if self.root is None:
            return False
        candidate = (self.root / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root):
            return False
        if candidate.is_dir():
            for index in ("index.html", "default.shtml", "index.shtml"):
                if (candidate / index).is_file():
                    candidate = candidate / index
                    break
            else:
                return False
        if not candidate.is_file():
            return False
        body = candidate.read_bytes()
        headers: dict[str, str] = {}
        if self.file_etags:
            stat = candidate.stat()
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            modified = _http_date(stat.st_mtime)
            headers = {"ETag": etag, "Last-Modified": modified}
            if h.not_modified(etag, modified):
                h.send(304, content_type=None, headers=headers)
                return True
        ctype = _FILE_TYPES.get(candidate.suffix.lower(), "application/octet-stream")
        h.send(200, body, content_type=ctype, headers=headers)
        return True


# Each named route: (site, handler, rest-of-path) -> None.


def _slow_headers(site: Site, h: _Handler, rest: str) -> None:
    site._sleep(_seconds(rest))
    h.send(200, _html("slow", "slow headers"))


def _delay(site: Site, h: _Handler, rest: str) -> None:
    site._sleep(_seconds(rest))
    h.send(200, _html("delay", f"delayed {rest}"))


def _slow_body(site: Site, h: _Handler, rest: str) -> None:
    seconds = _seconds(rest)
    steps = max(1, int(seconds / 0.1))
    piece = b"<!-- trickle -->\n"
    h.record.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(len(piece) * steps))
    h.end_headers()
    for _ in range(steps):
        if site._stopping.is_set():
            break
        h.write(piece)
        site._sleep(0.1)


def _reset(site: Site, h: _Handler, rest: str) -> None:
    raise _Reset


def _drop_mid_body(site: Site, h: _Handler, rest: str) -> None:
    h.record.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    h.write(b"<html><body>" + b"x" * 5000)
    raise _Reset


def _truncated(site: Site, h: _Handler, rest: str) -> None:
    h.send(200, b"<html><body>" + b"t" * 88, content_length=1000)
    h.close_connection = True


def _status(site: Site, h: _Handler, rest: str) -> None:
    try:
        code = int(rest.strip("/"))
    except ValueError:
        code = 400
    h.send(code, _html(f"status {code}", f"This is status {code}."))


def _retry_after(site: Site, h: _Handler, rest: str) -> None:
    fails = int(h.query("fails", "1") or 1)
    n = site._count(h.record.path)
    if n > fails:
        h.send(200, _html("recovered", f"served after {n - 1} refusals"))
        return
    seconds = _seconds(rest)
    value = _http_date(time.time() + seconds) if h.query("date") else rest.strip("/")
    h.send(503, _html("busy", "Service Unavailable"), headers={"Retry-After": value})


def _too_many(site: Site, h: _Handler, rest: str) -> None:
    fails = h.query("fails")
    n = site._count(h.record.path)
    if fails is not None and n > int(fails):
        h.send(200, _html("ok", f"served after {n - 1} refusals"))
        return
    retry_after = h.query("retry_after")
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    h.send(429, _html("429", "Too Many Requests"), headers=headers)


def _redirect_loop(site: Site, h: _Handler, rest: str) -> None:
    to = "/redirect-loop" if rest == "b" else "/redirect-loop/b"
    h.send(302, b"", content_type=None, headers={"Location": to})


def _redirect_to(site: Site, h: _Handler, rest: str) -> None:
    status = int(h.query("status", "302") or 302)
    h.send(status, b"", content_type=None, headers={"Location": unquote(rest)})


def _redirect_chain(site: Site, h: _Handler, rest: str) -> None:
    n = int(rest.split("/")[0] or 0)
    if n <= 0:
        h.send(200, _html("end", "end of the chain"))
    else:
        h.send(302, b"", content_type=None, headers={"Location": f"/redirect-chain/{n - 1}"})


def _big(site: Site, h: _Handler, rest: str) -> None:
    total = int(float(rest or 1) * 1024 * 1024)
    chunk = (b"<p>" + b"big body " * 113 + b"</p>\n")[:1024] * 64
    chunked = bool(h.query("chunked"))
    h.record.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    if chunked:
        h.send_header("Transfer-Encoding", "chunked")
    else:
        h.send_header("Content-Length", str(total))
    h.end_headers()
    if h.command == "HEAD":
        return
    sent = 0
    while sent < total and not site._stopping.is_set():
        piece = chunk[: total - sent]
        h.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        sent += len(piece)
    if chunked:
        h.write(b"0\r\n\r\n")


def _gzip_bomb(site: Site, h: _Handler, rest: str) -> None:
    body = gzip_bomb(int(h.query("mb", "100") or 100))
    h.send(200, body, headers={"Content-Encoding": "gzip"})


def _fixed(body: bytes, content_type: str | None) -> Any:
    def route(site: Site, h: _Handler, rest: str) -> None:
        h.send(200, body, content_type=content_type)

    return route


def _etag(site: Site, h: _Handler, rest: str) -> None:
    body = ETAG_BODY.encode()
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    modified = "Wed, 07 Aug 2019 11:37:52 GMT"
    headers = {"ETag": etag, "Last-Modified": modified}
    if h.not_modified(etag, modified):
        h.send(304, content_type=None, headers=headers)
    else:
        h.send(200, body, headers=headers)


def _challenge(site: Site, h: _Handler, rest: str) -> None:
    status = int(h.query("status", "200") or 200)
    h.send(status, CHALLENGE_BODY.encode(), content_type="text/html")


def _soft_404(site: Site, h: _Handler, rest: str) -> None:
    h.send(200, (REAL_PAGES / "china-error-1.html").read_bytes(), content_type="text/html")


# -- malformed answers (fetch layer) ---------------------------------------------------------

SSH_BANNER = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n"
SECRET_BODY = _html("secret", "internal credentials: do-not-leak")


def _ssh_banner(site: Site, h: _Handler, rest: str) -> None:
    h.record.status = 0
    h.write(SSH_BANNER)
    h.wfile.flush()
    h.close_connection = True


def _huge_header(site: Site, h: _Handler, rest: str) -> None:
    kb = int(h.query("kb", "9") or 9)
    h.send(200, _html("huge header", "one header is huge"), headers={"X-Huge": "a" * (kb * 1024)})


def _many_headers(site: Site, h: _Handler, rest: str) -> None:
    n = int(h.query("n", "20000") or 20000)
    h.record.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    for i in range(n):
        h.send_header(f"X-H{i}", "v")
    body = _html("many headers", f"{n} headers")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.write(body)


def _internal_secret(site: Site, h: _Handler, rest: str) -> None:
    h.send(200, SECRET_BODY)


# -- end of malformed answers -----------------------------------------------------------------


_NAMED: dict[str, Any] = {
    "slow-headers": _slow_headers,
    "slow": _slow_headers,
    "slow-body": _slow_body,
    "delay": _delay,
    "reset": _reset,
    "drop-mid-body": _drop_mid_body,
    "truncated": _truncated,
    "status": _status,
    "retry-after": _retry_after,
    "429": _too_many,
    "redirect-loop": _redirect_loop,
    "redirect-to": _redirect_to,
    "redirect-chain": _redirect_chain,
    "big": _big,
    "gzip-bomb": _gzip_bomb,
    "no-charset": _fixed(NO_CHARSET_BODY.encode(), "text/html"),
    "wrong-charset": _fixed(WRONG_CHARSET_BODY.encode(), "text/html; charset=iso-8859-1"),
    "gb18030": _fixed(GB18030_BODY.encode("gb18030"), "text/html"),
    "invalid-utf8": _fixed(INVALID_UTF8_BODY, "text/html; charset=utf-8"),
    "empty": _fixed(b"", "text/html; charset=utf-8"),
    "etag": _etag,
    "challenge": _challenge,
    "bot-challenge": _challenge,
    "technical-difficulties": _fixed(DIFFICULTIES_BODY.encode(), "text/html; charset=utf-8"),
    "soft-404": _soft_404,
    # malformed answers (fetch layer)
    "ssh-banner": _ssh_banner,
    "huge-header": _huge_header,
    "many-headers": _many_headers,
    "internal": _internal_secret,
}


# -- pages for the browser (issue 22) ---------------------------------------------------------


def js_article(name: str) -> str:
    """The article `/js-only/{name}` renders, as its text reads after the script ran."""
    return f"Statement {name}: the ministry's position, written by a script."


def _js_only(site: Site, h: _Handler, rest: str) -> None:
    count = h.query("list")
    if count is not None:
        links = [f"/js-only/{rest}-{n}" for n in range(1, int(count) + 1)]
        script = (
            "var ul = document.createElement('ul'); ul.className = 'news';"
            f"{json.dumps(links)}.forEach(function (u, i) {{"
            " var li = document.createElement('li'); var a = document.createElement('a');"
            " a.href = u; a.textContent = 'Release ' + (i + 1); li.appendChild(a);"
            " ul.appendChild(li); });"
            "document.getElementById('app').appendChild(ul);"
        )
    else:
        script = (
            f"document.title = {json.dumps('Release ' + rest)};"
            "var h = document.createElement('h1'); h.className = 'title';"
            f"h.textContent = {json.dumps('Release ' + rest)};"
            "var d = document.createElement('div'); d.className = 'content';"
            # reversed, so that the bytes as sent do not hold the text a script writes
            f"d.innerHTML = '<p>' + {json.dumps(js_article(rest)[::-1])}"
            ".split('').reverse().join('') + '</p>';"
            "var app = document.getElementById('app'); app.appendChild(h); app.appendChild(d);"
        )
    body = (
        "<!DOCTYPE html><html><head><title>Loading</title></head><body>"
        f"<div id='app'></div><script>{script}</script></body></html>"
    )
    h.send(200, body.encode())


def _js_challenge(site: Site, h: _Handler, rest: str) -> None:
    cookies = h.headers.get("Cookie") or ""
    wanted = f"TSjs={site.challenge_token}"
    if any(part.strip() == wanted for part in cookies.split(";")):
        count = h.query("list")
        if count is not None:
            links = "".join(
                f"<li><a href='/js-challenge/{rest}-{n}'>Release {n}</a></li>"
                for n in range(1, int(count) + 1)
            )
            h.send(200, f"<html><body><ul class='news'>{links}</ul></body></html>".encode())
            return
        body = (
            f"<!DOCTYPE html><html><head><title>Release {rest}</title></head><body>"
            f"<h1 class='title'>Release {rest}</h1><div class='content'>"
            f"<p>The real statement {rest}, past the challenge.</p></div></body></html>"
        )
        h.send(200, body.encode())
        return
    token = json.dumps(list(reversed(site.challenge_token)))  # only a script puts it together
    script = (
        ""
        if h.query("never")
        else f"document.cookie = 'TSjs=' + {token}.reverse().join('') + '; path=/';"
        "setTimeout(function () { location.reload(); }, 50);"
    )
    body = (
        "<!DOCTYPE html><html><head><title></title>"
        '<script type="text/javascript">window["bobcmn"] = "1011101010101020000";</script>'
        '<script type="text/javascript" src="/TSPD/08a3?type=11"></script>'
        f"<script>{script}</script></head><body><noscript>Please enable JavaScript to view "
        "the page content.</noscript></body></html>"
    )
    h.send(int(h.query("status") or 200), body.encode())


def _js_hang(site: Site, h: _Handler, rest: str) -> None:
    h.send(200, b"<html><body><p>hang</p><script>while (true) {}</script></body></html>")


_NAMED["js-only"] = _js_only
_NAMED["js-challenge"] = _js_challenge
_NAMED["js-hang"] = _js_hang


# -- run bounds and incomplete pages (issue 16 holes 5-6) -------------------------------------


def cut_short_article(name: str) -> bytes:
    """The whole article `/cut-short/{name}` serves (21 paragraphs in `div.content`)."""
    paras = "".join(
        f"<p>Paragraph {n} of {name}: the ministry states its position once more.</p>"
        for n in range(1, 22)
    )
    return (
        f"<!DOCTYPE html><html><head><title>{name}</title></head><body><h1>Release {name}</h1>"
        f"<div class='content'>{paras}</div><div class='footer'>Footer</div></body></html>"
    ).encode()


def _cut_short(site: Site, h: _Handler, rest: str) -> None:
    body = cut_short_article(rest.strip("/") or "article")
    full = int(h.query("full", "0") or 0)
    if site._count(h.record.path) > full:
        body = body[: len(body) // 2]
    h.record.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Connection", "close")  # no Content-Length: the body ends where the socket does
    h.end_headers()
    h.write(body)
    h.close_connection = True


_NAMED["cut-short"] = _cut_short


# -- terminal injection (CLI area) ------------------------------------------------------------

# Clear screen, set the window title, write the clipboard (OSC 52), BEL, and 8-bit CSI/OSC.
TERMINAL_ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x9b31m\x9d0;t\x9c"


def _escape_redirect(site: Site, h: _Handler, rest: str) -> None:
    h.send(302, b"", content_type=None, headers={"Location": f"/escape-redirect{TERMINAL_ESCAPES}"})


def _escape_page(site: Site, h: _Handler, rest: str) -> None:
    esc = TERMINAL_ESCAPES
    if h.query("list"):
        link = f'<li><a href="/escape-page">Evil{esc} title</a> <span>2024-05-0{esc}1</span></li>'
        body = f"<html><head><title>List{esc}</title></head><body><ul>{link}</ul></body></html>"
    else:
        body = (
            f"<html><head><title>Evil{esc} title</title></head><body><h1>Evil{esc} title</h1>"
            f"<p class=date>2024-05-01</p><div class=content><p>First{esc} paragraph.</p>"
            f"<p>Second{esc} paragraph.</p></div></body></html>"
        )
    h.send(200, body.encode(), content_type="text/html; charset=utf-8")


_NAMED.update({"escape-redirect": _escape_redirect, "escape-page": _escape_page})

# -- end of terminal injection ------------------------------------------------------------------


def iter_named_routes() -> Iterator[str]:
    """The names of the misbehaviour routes (first path segment)."""
    yield from _NAMED


# -- bot walls in error answers (crawler area, issue 17) --------------------------------------

WALL_MARKERS = {
    "incapsula": '<script src="/_Incapsula_Resource?SWJIYLWA=1"></script>',
    "cf-verify": '<div class="cf-browser-verification">Checking your browser</div>',
    "captcha": "<p>Please solve the captcha to continue.</p>",
}


def _wall(site: Site, h: _Handler, rest: str) -> None:
    status = int(h.query("status", "503") or 503)
    marker = WALL_MARKERS[rest.strip("/")]
    h.send(status, f"<html><head><title>Error</title></head><body>{marker}</body></html>".encode())


_NAMED["wall"] = _wall


def main(argv: list[str] | None = None) -> None:
    """Serve a folder from this process until interrupted; prints the base URL as JSON."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else None
    site = Site(root).start()
    sys.stdout.write(json.dumps({"base_url": site.base_url}) + "\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
