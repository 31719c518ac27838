"""The web UI's search page: the query language, facets with counts, pages, marks, links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from digest.web import create_app
from storage.engine import open_db
from tests.storage.search.corpus import load

BASE = "http://127.0.0.1:8080"


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the UI over the multilingual search corpus (each database)."""
    db = open_db(db_url)
    load(db)
    app = create_app(db, page_size=8)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c
    assert db.checked_out() == 0
    db.dispose()


async def _get(client: httpx.AsyncClient, **params: str | list[str]) -> LexborHTMLParser:
    r = await client.get("/search", params=params)
    assert r.status_code == 200, r.text
    return LexborHTMLParser(r.text)


async def test_search_page_marks_matches_and_links_versions_and_diffs(
    client: httpx.AsyncClient,
) -> None:
    """Hits show the snippet with <mark>, and link to the matching version and its diff."""
    tree = await _get(client, q="岸田", **{"in": "all"})
    assert [m.text() for m in tree.css("li.hit .snippet mark")] == ["岸田"]
    links = {a.text(): a.attributes["href"] for a in tree.css("li.hit a")}
    assert links["version"].endswith("?to=2") and links["diff"].endswith("?from=1&to=2")
    assert tree.css("script") == []


async def test_removed_scope_links_the_diff_to_the_current_text(client: httpx.AsyncClient) -> None:
    """In removed text, the diff link goes from the matching version to the current one."""
    tree = await _get(client, q='"taiwan strait"', **{"in": "removed"})
    hits = tree.css("li.hit")
    assert len(hits) == 1
    links = {a.text(): a.attributes["href"] for a in hits[0].css("a")}
    assert links["diff"].endswith("?from=1&to=2")
    assert [m.text() for m in hits[0].css("mark")] == ["Taiwan Strait"]


async def test_facets_count_hits_and_narrow_the_search(client: httpx.AsyncClient) -> None:
    """Source and country facets carry counts; following one narrows the hits to it."""
    tree = await _get(client, q="taiwan OR 台湾", **{"in": "all"})
    assert tree.css_first("#total").text() == "6 articles"
    countries = {a.text(): a.attributes["href"] for a in tree.css(".facets a")}
    assert "JP (1)" in countries and "CN (3)" in countries
    narrowed = await client.get(str(countries["JP (1)"]))
    assert LexborHTMLParser(narrowed.text).css_first("#total").text() == "1 article"


async def test_pages_split_the_hits(client: httpx.AsyncClient) -> None:
    """More than a page of hits gives a next link whose page holds the rest."""
    tree = await _get(client, q="-zzzz", **{"in": "all"})
    total = int(tree.css_first("#total").text().split()[0])
    assert total == 20 and len(tree.css("li.hit")) == 8
    seen = {n.text() for n in tree.css("li.hit strong")}
    for _ in range(2):
        nxt = next(a for a in tree.css("a") if a.text().startswith("next"))
        tree = LexborHTMLParser((await client.get(str(nxt.attributes["href"]))).text)
        seen |= {n.text() for n in tree.css("li.hit strong")}
    assert len(tree.css("li.hit")) == 4 and len(seen) == 20
    assert not [a for a in tree.css("a") if a.text().startswith("next")]


@pytest.mark.parametrize("q", ['"unbalanced', "OR", "x" * 10_000])
async def test_bad_queries_are_a_400_page_with_the_reason(
    client: httpx.AsyncClient, q: str
) -> None:
    """A bad query is a 400 page naming the problem, never a server error."""
    r = await client.get("/search?" + urlencode({"q": q}))
    assert r.status_code == 400 and "Bad search" in r.text


async def test_the_header_search_box_uses_the_search_page(client: httpx.AsyncClient) -> None:
    """The search box of every page (the digest's too) submits to /search over every version."""
    tree = LexborHTMLParser((await client.get("/")).text)
    form = tree.css_first("header form[role=search]")
    assert form is not None and form.attributes["action"] == "/search"
