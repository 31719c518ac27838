"""The review web UI (`mfawatch serve`): the digest as a page with filters and a search box, an
article page with every version and highlighted diffs, a "mark reviewed" button, a "check now"
button per source and the digest as an Atom feed.

Plain Starlette + Jinja2 (autoescape on): no scripts, no CDN, no build step. Every response,
errors included, carries a strict Content-Security-Policy (no scripts at all, inline styles only)
and the other security headers. Only requests whose `Host:` is one the UI serves (loopback names
and the names it was given) are answered (else 400): a page on another site cannot reach a UI on
loopback by rebinding its own name to 127.0.0.1.

When a token is set, every request needs it: `Authorization: Bearer TOKEN`, or `?token=TOKEN`
once (which sets an HttpOnly cookie holding a value derived from the token, never the token, and
redirects to the same URL without it), else 401. The Atom feed also accepts `?key=`, a read-only
key derived from the token, so a feed reader can follow it without cookies.

Every POST (mark reviewed, check now) must carry a CSRF token bound to the browser's session
cookie (an HMAC of it under a key of this process) and must not come from another site; else 403.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any, Protocol
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest import highlight
from digest._text import one_line
from digest.alerts import AlertRule
from digest.formats import atom
from digest.model import Item, ItemKind
from digest.report import ReportFilterError, build_report
from digest.templating import environment
from digest.web_pairs import pair_routes
from digest.window import (
    DEFAULT_CURSOR,
    CursorNameError,
    SinceError,
    check_name,
    resolve_since,
    set_cursor,
)
from storage import cluster
from storage.articles import find_article_id
from storage.engine import Database
from storage.errors import ArticleNotFound, VersionNotFound
from storage.model import VersionKind
from storage.queries import history, source_status, version_pair
from storage.readouts.officials import Officials
from storage.readouts.store import list_pairs
from storage.sources import list_sources

log = logging.getLogger(__name__)

COOKIE = "mfawatch_token"  # holds token_cookie(token), never the token itself
SESSION_COOKIE = "mfawatch_session"  # a random id per browser; the CSRF token is bound to it
CSRF_FIELD = "csrf"
NODE_LIVE_WINDOW = timedelta(seconds=30)  # a cluster node silent longer is shown as lost
PAGE_SIZE = 100  # items per digest page; the counts and "mark reviewed" cover the whole window
MAX_NUMBER = 2**31 - 1  # the largest page, version or article id a URL may name
FEED_WINDOW = timedelta(days=7)  # the Atom feed's default window
FEED_LIMIT = 500  # items in one feed document
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def _derive(secret: str | bytes, purpose: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, purpose.encode(), sha256).hexdigest()


def token_cookie(token: str) -> str:
    """The value of the login cookie for `token` (an HMAC of it: the cookie never holds it)."""
    return _derive(token, "mfawatch web cookie v1")


def feed_key(token: str) -> str:
    """The read-only `?key=` of the Atom feed for `token` (an HMAC of it)."""
    return _derive(token, "mfawatch atom feed v1")


def host_of(header: str) -> str:
    """The host name of a `Host:` header value, lower-case, without port or IPv6 brackets."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


@dataclass(frozen=True)
class CheckState:
    """The last "check now" crawl of one source: running, or finished with a one-line result."""

    running: bool
    started_at: datetime
    finished_at: datetime | None = None
    ok: bool | None = None
    result: str = ""


class SourceChecker(Protocol):
    """Runs an immediate crawl of one source in the background (given by the composition root)."""

    def keys(self) -> list[str]:
        """The keys of the sources it can crawl."""
        ...

    def start(self, key: str) -> bool:
        """Start a crawl of `key`; False when one is already running. KeyError: unknown key."""
        ...

    def state(self, key: str) -> CheckState | None:
        """The last (or running) check of `key`, None when there was none."""
        ...


class _Guard:
    """ASGI middleware: host check, token check, CSRF session, security headers on every response."""

    def __init__(
        self, app: ASGIApp, token: str | None, hosts: frozenset[str], csrf_key: bytes
    ) -> None:
        self.app = app
        self.token = token
        self.cookie = token_cookie(token) if token else None
        self.feed_key = feed_key(token) if token else None
        self.hosts = hosts
        self.csrf_key = csrf_key

    @staticmethod
    def _same(value: str | None, expected: str | None) -> bool:
        return (
            bool(value)
            and bool(expected)
            and hmac.compare_digest(str(value).encode(), str(expected).encode())
        )

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if self._same(bearer, self.token) or self._same(request.cookies.get(COOKIE), self.cookie):
            return True
        path, root = str(request.scope.get("path", "")), _base(request)
        if path.removeprefix(root) == "/healthz":  # for a load balancer; says only ok or not
            return True
        if path.removeprefix(root) == "/feed.atom":  # feed readers keep no cookies
            q = request.query_params
            return self._same(q.get("key"), self.feed_key) or self._same(q.get("token"), self.token)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        new_session: str | None = None

        async def send_secure(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if new_session is not None:
                    headers.append(
                        "set-cookie",
                        f"{SESSION_COOKIE}={new_session}; HttpOnly; Path=/; SameSite=Strict",
                    )
            await send(message)

        request = Request(scope)
        if host_of(request.headers.get("host", "")) not in self.hosts:
            response: Response = PlainTextResponse(
                "400 Bad Request: this mfawatch does not serve that host name\n", status_code=400
            )
            await response(scope, receive, send_secure)
            return
        if self.token is not None and not self._authorized(request):
            if self._same(request.query_params.get("token"), self.token):
                # Trade the token in the URL for a cookie, so it leaves the address bar and history.
                params = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                target = request.url.replace(query=urlencode(params))
                response = RedirectResponse(
                    str(target.path) + (f"?{target.query}" if target.query else ""),
                    status_code=303,
                )
                assert self.cookie is not None
                response.set_cookie(COOKIE, self.cookie, httponly=True, samesite="strict", path="/")
            else:
                response = PlainTextResponse(
                    "401 Unauthorized: this mfawatch needs its token (Authorization: Bearer "
                    "TOKEN, or open the page once with ?token=TOKEN)\n",
                    status_code=401,
                    headers={"www-authenticate": 'Bearer realm="mfawatch"'},
                )
            await response(scope, receive, send_secure)
            return
        session = request.cookies.get(SESSION_COOKIE, "")
        if len(session) != 43 or not session.replace("-", "").replace("_", "").isalnum():
            session = new_session = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf"] = _derive(self.csrf_key, "csrf:" + session)
        scope["state"]["csrf_ok"] = new_session is None
        try:
            await self.app(scope, receive, send_secure)
        except Exception:
            log.exception("review UI: internal error on %s", one_line(scope.get("path", "")))
            if started:
                raise
            error = PlainTextResponse("500 Internal Server Error: see the log\n", status_code=500)
            await error(scope, receive, send_secure)


def _csrf_valid(request: Request, submitted: object) -> bool:
    """True when the POST carries the CSRF token of this browser's existing session."""
    expected = str(request.state.csrf)
    return bool(request.state.csrf_ok) and hmac.compare_digest(
        str(submitted or "").encode(), expected.encode()
    )


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status)


def _message(request: Request, status: int, title: str, text: str) -> HTMLResponse:
    return _page("web_message.html", status, base=_base(request), title=title, text=text)


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _article_href(base: str) -> Callable[[Item], str]:
    def href(item: Item) -> str:
        query = ""
        if item.change is not None:
            query = f"?from={item.change.from_version}&to={item.change.to_version}"
        elif item.kind is not ItemKind.REMOVED:
            query = f"?to={item.version}"
        return f"{base}/article/{item.article_id}{query}"

    return href


def _list_param(request: Request, name: str) -> list[str]:
    values = [v.strip() for v in request.query_params.getlist(name)]
    return [v for part in values for v in part.split(",") if v.strip()]


def _looks_like_url(text: str) -> bool:
    return text[:8].lower().startswith(("http://", "https://"))


def create_app(
    db: Database,
    *,
    token: str | None = None,
    alerts: tuple[AlertRule, ...] = (),
    page_size: int = PAGE_SIZE,
    hosts: Iterable[str] = (),
    canonicalize: Callable[[str], str] | None = None,
    checker: SourceChecker | None = None,
    officials: Officials | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    node_tags: Mapping[str, Sequence[str]] | None = None,
) -> Starlette:
    """The review UI over `db`; with `token` set, every request must carry it (else 401).

    `alerts` marks matching items; the digest page shows `page_size` items at a time. `hosts`
    are the host names the UI answers besides the loopback ones. `canonicalize` maps a pasted
    article URL to the canonical form it is stored under; `checker`, when given, backs the
    "check now" button of each source; `officials` names the officials in the pair pages.
    `extra_routes` are served too (the monitoring endpoints `/healthz`, open without the token,
    and `/metrics`). `node_tags` are the configured `nodes:` of each source, for the status page
    (`/status`) to warn about a pinned source that no live cluster node serves.
    """
    allowed = LOOPBACK_HOSTS | {host_of(h) if h.startswith("[") else h.lower() for h in hosts}
    feed_href_key = feed_key(token) if token else None

    def lookup_url(url: str) -> int | None:
        candidates = [url.strip()]
        if canonicalize is not None:
            try:
                candidates.append(canonicalize(url.strip()))
            except ValueError:
                pass
        with db.session(readonly=True) as session:
            for candidate in dict.fromkeys(candidates):
                found = find_article_id(session, candidate)
                if found is not None:
                    return found
        return None

    def feed_href(base: str, reviewer: str) -> str:
        params = [("as", reviewer)] if reviewer != DEFAULT_CURSOR else []
        if feed_href_key:
            params.append(("key", feed_href_key))
        return f"{base}/feed.atom" + (f"?{urlencode(params)}" if params else "")

    def digest_page(request: Request) -> Response:
        base = _base(request)
        q = request.query_params
        filters = {
            "source": _list_param(request, "source"),
            "country": _list_param(request, "country"),
            "kind": _list_param(request, "kind"),
        }
        text = (q.get("q") or "").strip()
        if _looks_like_url(text):  # a pasted article URL: go to that article
            found = lookup_url(text)
            if found is None:
                return _message(request, 404, "No such article", f"no stored article for {text}")
            return RedirectResponse(f"{base}/article/{found}", status_code=303)
        since_text = (q.get("since") or "").strip()
        silent = q.get("silent") == "1"  # only silent edits
        try:
            page = _number_param(q, "page") or 1
            reviewer = check_name(q.get("as") or DEFAULT_CURSOR)
            with db.session(readonly=True) as session:
                now = datetime.now(UTC)
                since = resolve_since(session, since_text or None, cursor=reviewer, now=now)
                report = build_report(
                    session,
                    since=since,
                    until=now,
                    sources=filters["source"] or None,
                    countries=filters["country"] or None,
                    kinds=filters["kind"] or None,
                    query=text or None,
                    alerts=alerts,
                    cursor=reviewer,
                    limit=page_size,
                    offset=(page - 1) * page_size,
                    silent=silent,
                )
                sources = [(x.key, x.name, x.country) for x in list_sources(session)]
        except (SinceError, ReportFilterError, CursorNameError, ValueError) as exc:
            return _message(request, 400, "Bad filter", str(exc))
        keep = [(k, v) for k, v in q.multi_items() if k not in ("page", "checked", "check") and v]
        checked = q.get("checked") or ""
        checks = {key: checker.state(key) for key in checker.keys()} if checker else {}
        return _page(
            "web_digest.html",
            base=base,
            report=report,
            sources=sources,
            countries=sorted({c for _, _, c in sources if c}),
            kinds=[k.value for k in ItemKind],
            filters=filters,
            text=text,
            silent=silent,
            since_text=since_text,
            reviewer=reviewer,
            article_href=_article_href(base),
            page=page,
            page_size=page_size,
            prev_href=_page_href(base, keep, page - 1) if page > 1 else None,
            next_href=_page_href(base, keep, page + 1)
            if report.offset + len(report.items) < report.total
            else None,
            csrf=request.state.csrf,
            feed_href=feed_href(base, reviewer),
            checker=checker is not None,
            checks=checks,
            check_notice=_check_notice(checked, q.get("check") or ""),
        )

    def article_by_url(request: Request) -> Response:
        url = (request.query_params.get("url") or "").strip()
        if not _looks_like_url(url):
            return _message(request, 400, "Bad article URL", "?url= must be an http(s) URL")
        found = lookup_url(url)
        if found is None:
            return _message(request, 404, "No such article", f"no stored article for {url}")
        return RedirectResponse(f"{_base(request)}/article/{found}", status_code=303)

    def article_page(request: Request) -> Response:
        base = _base(request)
        raw_id = str(request.path_params["article_id"]).strip()
        if _looks_like_url(raw_id):
            found = lookup_url(raw_id)
            if found is None:
                return _message(request, 404, "No such article", f"no stored article for {raw_id}")
            raw_id = str(found)
        elif raw_id.isdigit() and int(raw_id) > MAX_NUMBER:
            return _message(
                request, 400, "Bad article id", f"no article id is that large: {raw_id[:40]}"
            )
        try:
            wanted = {k: _number_param(request.query_params, k) for k in ("from", "to")}
        except ValueError as exc:
            return _message(request, 400, "Bad version number", str(exc))
        try:
            with db.session(readonly=True) as session:
                hist = history(session, raw_id)
                content = [v for v in hist.versions if v.kind != VersionKind.REMOVED]
                to_v = wanted["to"] or (content[-1].number if content else None)
                from_v = wanted["from"]
                if from_v is None and to_v is not None:
                    earlier = [v.number for v in content if v.number < to_v]
                    from_v = earlier[-1] if earlier else None
                pair = None
                if from_v is not None and to_v is not None and from_v != to_v:
                    pair = version_pair(session, hist.article.id, from_v, to_v)
                shown = next((v for v in content if v.number == to_v), None)
                if wanted["to"] is not None and shown is None:
                    raise VersionNotFound(hist.article.id, wanted["to"], "has no content")
                pairs = list_pairs(session, article_id=hist.article.id)
        except ArticleNotFound as exc:
            return _message(request, 404, "No such article", str(exc))
        except VersionNotFound as exc:
            return _message(request, 404, "No such version", str(exc))
        return _page(
            "web_article.html",
            base=base,
            hist=hist,
            pairs=pairs,
            article=hist.article,
            content=content,
            from_v=from_v,
            to_v=to_v,
            pair=pair,
            shown=shown,
            diff_style=Markup(highlight.STYLE),  # our own constant CSS, not page text
            inline=highlight.to_html_inline(pair.diff) if pair else None,
            side=highlight.to_html_side_by_side(pair.diff) if pair else None,
        )

    async def _checked_form(request: Request) -> tuple[Any, Response | None]:
        if not _same_site(request):
            return None, PlainTextResponse(
                "403 Forbidden: cross-site request refused\n", status_code=403
            )
        form = await request.form()
        if not _csrf_valid(request, form.get(CSRF_FIELD)):
            return None, PlainTextResponse(
                "403 Forbidden: missing or stale form token; reload the page and try again\n",
                status_code=403,
            )
        return form, None

    async def mark_reviewed(request: Request) -> Response:
        form, refused = await _checked_form(request)
        if refused is not None:
            return refused
        now = datetime.now(UTC)
        try:
            reviewer = check_name(str(form.get("as") or DEFAULT_CURSOR))
            until = _until(str(form.get("until") or ""), now)
        except (CursorNameError, ValueError) as exc:
            return _message(request, 400, "Cannot mark reviewed", str(exc))

        def write() -> None:
            with db.session() as session:
                set_cursor(session, until, reviewer)

        await run_in_threadpool(write)
        keep = [
            (k, str(v))
            for k, v in form.multi_items()
            if k in ("source", "country", "kind", "q") and str(v)
        ]
        if reviewer != DEFAULT_CURSOR:
            keep.append(("as", reviewer))
        target = f"{_base(request)}/" + (f"?{urlencode(keep)}" if keep else "")
        return RedirectResponse(target, status_code=303)

    async def check_now(request: Request) -> Response:
        form, refused = await _checked_form(request)
        if refused is not None:
            return refused
        key = str(request.path_params["key"])
        if checker is None:
            return _message(request, 404, "No crawler", "this review UI cannot start crawls")
        try:
            started = await run_in_threadpool(checker.start, key)
        except KeyError:
            return _message(request, 404, "No such source", f"no configured source {key!r}")
        outcome = "started" if started else "running"
        query = urlencode([("checked", key), ("check", outcome)])
        return RedirectResponse(f"{_base(request)}/?{query}#check", status_code=303)

    def search_page(request: Request) -> Response:
        from digest.web_search import BadSearch, search_context

        text = (request.query_params.get("q") or "").strip()
        if _looks_like_url(text):  # a pasted article URL: go to that article
            return RedirectResponse(f"{_base(request)}/article?{urlencode([('url', text)])}", 303)
        try:
            page = _number_param(request.query_params, "page") or 1
            context = search_context(db, request.query_params, _base(request), page, page_size)
        except (BadSearch, ValueError) as exc:
            return _message(request, 400, "Bad search", str(exc))
        return _page("web_search.html", **context)

    def feed(request: Request) -> Response:
        q = request.query_params
        try:
            reviewer = check_name(q.get("as") or DEFAULT_CURSOR)
            now = datetime.now(UTC)
            with db.session(readonly=True) as session:
                since_text = (q.get("since") or "").strip()
                since = (
                    resolve_since(session, since_text, now=now) if since_text else now - FEED_WINDOW
                )
                report = build_report(
                    session,
                    since=since,
                    until=now,
                    sources=_list_param(request, "source") or None,
                    countries=_list_param(request, "country") or None,
                    kinds=_list_param(request, "kind") or None,
                    alerts=alerts,
                    cursor=reviewer if reviewer != DEFAULT_CURSOR else None,
                    limit=FEED_LIMIT,
                    silent=q.get("silent") == "1",
                )
        except (SinceError, ReportFilterError, CursorNameError, ValueError) as exc:
            return PlainTextResponse(f"400 Bad Request: {exc}\n", status_code=400)
        return Response(atom.render(report), media_type="application/atom+xml; charset=utf-8")

    def status_page(request: Request) -> Response:
        now = datetime.now(UTC)
        with db.session(readonly=True) as session:
            stored = source_status(session)
            stats = cluster.queue_stats(session)
            nodes = cluster.list_nodes(session) if stats is not None else []
            last = cluster.last_nodes(session) if stats is not None else {}
        live = {t for n in nodes if n.alive(now, NODE_LIVE_WINDOW) for t in n.tags}
        rows = []
        for s in stored:
            tags = list((node_tags or {}).get(s.source, ()))
            unserved = (
                ", ".join(tags) if stats is not None and tags and not live & set(tags) else ""
            )
            rows.append({**asdict(s), "last_node": last.get(s.source), "unserved": unserved})
        shown = [
            {
                **asdict(n),
                "state": "stopped"
                if n.stopped_at is not None
                else ("alive" if n.alive(now, NODE_LIVE_WINDOW) else "lost"),
            }
            for n in nodes
        ]
        return _page("web_status.html", base=_base(request), sources=rows, queue=stats, nodes=shown)

    routes = [
        Route("/", digest_page, methods=["GET"], name="digest"),
        Route("/status", status_page, methods=["GET"], name="status"),
        Route("/feed.atom", feed, methods=["GET"], name="feed"),
        Route("/search", search_page, methods=["GET"], name="search"),
        Route("/article", article_by_url, methods=["GET"], name="article_by_url"),
        Route("/article/{article_id:path}", article_page, methods=["GET"], name="article"),
        Route("/reviewed", mark_reviewed, methods=["POST"], name="reviewed"),
        Route("/check/{key}", check_now, methods=["POST"], name="check"),
        *pair_routes(
            db,
            officials,
            page=_page,
            message=_message,
            checked_form=_checked_form,
            base_of=_base,
        ),
        *extra_routes,
    ]
    guard = Middleware(
        _Guard, token=token or None, hosts=frozenset(allowed), csrf_key=secrets.token_bytes(32)
    )
    return Starlette(routes=routes, middleware=[guard])


def _check_notice(key: str, outcome: str) -> str | None:
    if not key:
        return None
    if outcome == "started":
        return f"crawl of {key} started"
    if outcome == "running":
        return f"a crawl of {key} is already running"
    return None


def _page_href(base: str, keep: list[tuple[str, str]], page: int) -> str:
    params = [*keep, ("page", str(page))] if page > 1 else keep
    return f"{base}/" + (f"?{urlencode(params)}" if params else "")


def _number_param(params: Mapping[str, str], name: str) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_NUMBER:
        what = "a page number" if name == "page" else "a version number"
        raise ValueError(f"?{name}= must be {what} (1, 2, ...), got {value[:40]!r}")
    return int(value)


def _until(value: str, now: datetime) -> datetime:
    """The time the reviewed page was built (so items that arrived since stay unreviewed)."""
    if not value:
        return now
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"until={value[:40]!r} is not an ISO date-time") from None
    if at.tzinfo is None:
        raise ValueError("until must carry a UTC offset")
    return min(at, now)


def _same_site(request: Request) -> bool:
    """False for a browser request made from another site (a CSRF attempt)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return URL(origin).netloc == request.headers.get("host", "")
    return True
