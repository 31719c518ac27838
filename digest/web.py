"""The review web UI (`mfawatch serve`): the digest as a page with filters and a search box, an
article page with every version and highlighted diffs, and a "mark reviewed" button.

Plain Starlette + Jinja2 (autoescape on): no scripts, no CDN, no build step. Every response
carries a strict Content-Security-Policy (no scripts at all, inline styles only). When a token
is set, every request needs it: `Authorization: Bearer TOKEN`, or `?token=TOKEN` once (which
sets an HttpOnly cookie and redirects to the same URL without the token), else 401. The one
state-changing request (POST /reviewed) is refused when it comes from another site.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest import highlight
from digest.alerts import AlertRule
from digest.cursors import DEFAULT_CURSOR, CursorNameError, check_name, resolve_since, set_cursor
from digest.model import Item, ItemKind
from digest.report import ReportFilterError, build_report
from digest.since import SinceError
from digest.templating import environment
from storage.engine import Database
from storage.errors import ArticleNotFound, VersionNotFound
from storage.queries import history, version_pair
from storage.schema import SourceRow

COOKIE = "mfawatch_token"
PAGE_SIZE = 100  # items per digest page; the counts and "mark reviewed" cover the whole window
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


class _Guard:
    """ASGI middleware: the token check and the security headers on every response."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    def _ok(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), str(self.token).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        if self.token is None:
            await self.app(scope, receive, send_secure)
            return
        request = Request(scope)
        auth = request.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if self._ok(bearer) or self._ok(request.cookies.get(COOKIE)):
            await self.app(scope, receive, send_secure)
            return
        if self._ok(request.query_params.get("token")):
            # Trade the token in the URL for a cookie, so it leaves the address bar and history.
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.replace(query=urlencode(params))
            response: Response = RedirectResponse(
                str(target.path) + (f"?{target.query}" if target.query else ""), status_code=303
            )
            response.set_cookie(COOKIE, str(self.token), httponly=True, samesite="strict", path="/")
        else:
            response = PlainTextResponse(
                "401 Unauthorized: this mfawatch needs its token (Authorization: Bearer TOKEN, "
                "or open the page once with ?token=TOKEN)\n",
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="mfawatch"'},
            )
        await response(scope, receive, send_secure)


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


def create_app(
    db: Database,
    *,
    token: str | None = None,
    alerts: tuple[AlertRule, ...] = (),
    page_size: int = PAGE_SIZE,
) -> Starlette:
    """The review UI over `db`; with `token` set, every request must carry it (else 401).

    `alerts` marks matching items; the digest page shows `page_size` items at a time.
    """

    def digest_page(request: Request) -> Response:
        base = _base(request)
        q = request.query_params
        filters = {
            "source": _list_param(request, "source"),
            "country": _list_param(request, "country"),
            "kind": _list_param(request, "kind"),
        }
        text = (q.get("q") or "").strip()
        since_text = (q.get("since") or "").strip()
        try:
            page = _version_param(q, "page") or 1
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
                )
                sources = session.execute(
                    sa.select(SourceRow.key, SourceRow.name, SourceRow.country).order_by(
                        SourceRow.country, SourceRow.key
                    )
                ).all()
        except (SinceError, ReportFilterError, CursorNameError, ValueError) as exc:
            return _message(request, 400, "Bad filter", str(exc))
        keep = [(k, v) for k, v in q.multi_items() if k != "page" and v]
        return _page(
            "web_digest.html",
            base=base,
            report=report,
            sources=sources,
            countries=sorted({c for _, _, c in sources if c}),
            kinds=[k.value for k in ItemKind],
            filters=filters,
            text=text,
            since_text=since_text,
            reviewer=reviewer,
            article_href=_article_href(base),
            page=page,
            page_size=page_size,
            prev_href=_page_href(base, keep, page - 1) if page > 1 else None,
            next_href=_page_href(base, keep, page + 1)
            if report.offset + len(report.items) < report.total
            else None,
        )

    def article_page(request: Request) -> Response:
        base = _base(request)
        raw_id = request.path_params["article_id"]
        try:
            wanted = {k: _version_param(request.query_params, k) for k in ("from", "to")}
        except ValueError as exc:
            return _message(request, 400, "Bad version number", str(exc))
        try:
            with db.session(readonly=True) as session:
                hist = history(session, raw_id)
                content = [v for v in hist.versions if v.kind != "removed"]
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
        except ArticleNotFound as exc:
            return _message(request, 404, "No such article", str(exc))
        except VersionNotFound as exc:
            return _message(request, 404, "No such version", str(exc))
        return _page(
            "web_article.html",
            base=base,
            hist=hist,
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

    async def mark_reviewed(request: Request) -> Response:
        if not _same_site(request):
            return PlainTextResponse("403 Forbidden: cross-site request refused\n", status_code=403)
        form = await request.form()
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

    routes = [
        Route("/", digest_page, methods=["GET"], name="digest"),
        Route("/article/{article_id}", article_page, methods=["GET"], name="article"),
        Route("/reviewed", mark_reviewed, methods=["POST"], name="reviewed"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Guard, token=token or None)])


def _page_href(base: str, keep: list[tuple[str, str]], page: int) -> str:
    params = [*keep, ("page", str(page))] if page > 1 else keep
    return f"{base}/" + (f"?{urlencode(params)}" if params else "")


def _version_param(params: Mapping[str, str], name: str) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
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
