"""The web UI's search page: the query language of `mfawatch search`, facets with counts,
pages, snippets with `<mark>`ed matches, and links to each hit's version and diff."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from digest.search_hits import hit_date, snippet_html, versions_label
from digest.window import SinceError, parse_since
from storage.engine import Database
from storage.search import index
from storage.search.passages import Passage, passages
from storage.search.query import QueryError, parse
from storage.search.results import Facets, Hit, Order, Scope, SearchRequest, facets, search

PAGE_SIZE = 20
KINDS = ("new", "changed", "removed")


class BadSearch(ValueError):
    """A search the page cannot run; the message says why (shown with status 400)."""


def _links(base: str, hit: Hit, passage: Passage | None, scope: Scope) -> dict[str, str]:
    number = passage.number if passage else hit.current_version
    links = {"version": f"{base}/article/{hit.article_id}?to={number}", "diff": ""}
    if scope is Scope.REMOVED and number != hit.current_version and hit.status != "removed":
        links["diff"] = f"{base}/article/{hit.article_id}?from={number}&to={hit.current_version}"
    elif number > 1:
        links["diff"] = f"{base}/article/{hit.article_id}?from={number - 1}&to={number}"
    return links


def _href(base: str, keep: Sequence[tuple[str, str]], **changes: str | None) -> str:
    params = [(k, v) for k, v in keep if k not in changes and k != "page"]
    params += [(k, v) for k, v in changes.items() if v]
    return f"{base}/search" + (f"?{urlencode(params)}" if params else "")


def search_context(
    db: Database, params: QueryParams, base: str, page: int, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    """What the search template shows for the request's parameters; `BadSearch` for bad ones."""
    text = (params.get("q") or "").strip()
    keep = [(k, v) for k, v in params.multi_items() if v and k != "page"]
    context: dict[str, Any] = {"base": base, "text": text, "keep": keep, "result": None}
    scope_text = params.get("in") or Scope.CURRENT.value
    order_text = params.get("sort") or Order.RELEVANCE.value
    if scope_text not in {s.value for s in Scope} or order_text not in {o.value for o in Order}:
        raise BadSearch("?in= must be current, all or removed; ?sort= relevance or date")
    kinds = tuple(k for k in params.getlist("kind") if k)
    if any(k not in KINDS for k in kinds):
        raise BadSearch(f"?kind= must be one of {', '.join(KINDS)}")
    context.update(scope=scope_text, sort=order_text, kinds=kinds, all_kinds=KINDS)
    context.update(sources=params.getlist("source"), countries=params.getlist("country"))
    with db.session(readonly=True) as session:
        context["pending"] = index.backfill_state(session).pending
    if not text:
        return context
    try:
        tree = parse(text)
        since = parse_since(params["since"]) if params.get("since") else None
    except (QueryError, SinceError) as exc:
        raise BadSearch(str(exc)) from None
    request = SearchRequest(
        tree,
        scope=Scope(scope_text),
        sources=tuple(s for s in params.getlist("source") if s),
        countries=tuple(c.upper() for c in params.getlist("country") if c),
        since=since,
        kinds=kinds,
        order=Order(order_text),
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    with db.session(readonly=True) as session:
        result = search(session, request)
        found = passages(session, result.hits, request.scope, tree)
        counts: Facets = facets(session, request)
    context.update(
        result=result,
        facets=counts,
        hits=[
            {
                "hit": h,
                "date": hit_date(h),
                "versions": versions_label(h),
                "snippet": snippet_html(
                    found[h.article_id].snippet if h.article_id in found else None
                ),
                "links": _links(base, h, found.get(h.article_id), request.scope),
            }
            for h in result.hits
        ],
        source_href=lambda key: _href(base, keep, source=None if key in request.sources else key),
        country_href=lambda cc: _href(base, keep, country=None if cc in request.countries else cc),
        prev_href=_href(base, keep, page=str(page - 1)) if page > 1 else None,
        next_href=_href(base, keep, page=str(page + 1))
        if request.offset + len(result.hits) < result.total
        else None,
        page=page,
        page_size=page_size,
    )
    return context
