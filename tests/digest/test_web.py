"""The review web UI in-process (httpx.ASGITransport): token, filters, article page, mark reviewed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from digest.alerts import AlertRule
from digest.web import create_app
from digest.window import get_cursor
from tests.digest.conftest import HOSTILE_TITLE, DigestDB

BASE = "http://127.0.0.1:8080"


def _client(d: DigestDB, token: str | None = None, **kw: object) -> httpx.AsyncClient:
    app = create_app(d.db, token=token, **kw)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


@pytest.fixture
async def client(digest_db: DigestDB) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the UI without a token, with one watchlist rule."""
    async with _client(digest_db, alerts=(AlertRule("taiwan", keywords=("Taiwan", "台湾")),)) as c:
        yield c


async def _csrf(c: httpx.AsyncClient) -> str:
    """The form token of the client's session (its first page sets the session cookie)."""
    node = LexborHTMLParser((await c.get("/")).text).css_first("input[name=csrf]")
    assert node is not None
    return str(node.attributes["value"])


def _cards(html: str) -> list[str]:
    return [n.text(deep=True) for n in LexborHTMLParser(html).css("article.item .title")]


async def test_digest_page_lists_items_safely(client: httpx.AsyncClient) -> None:
    """The digest page shows every item, marks alerts, runs no script and sends a strict CSP."""
    r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    titles = _cards(r.text)
    assert len(titles) == 6 and HOSTILE_TITLE in titles
    tree = LexborHTMLParser(r.text)
    assert (
        tree.css("script") == [] and tree.css("img") == [] and len(tree.css("article.alert")) == 3
    )
    assert "script-src" not in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("source=uk-fcdo", {"UK announces new sanctions"}),
        ("country=GB", {"UK announces new sanctions"}),
        ("kind=removed&kind=restored", {"Statement on a Vanished Topic", "Restored Readout"}),
        ("q=%E5%8F%B0%E6%B9%BE", {"外交部发言人就台湾问题答记者问"}),
        ("q=strait", {"UK announces new sanctions"}),
        ("since=1h", set()),
        ("since=1h30m", None),
    ],
)
async def test_filters_narrow_the_digest(
    client: httpx.AsyncClient, query: str, expected: set[str] | None
) -> None:
    """Source, country, kind, search and since filters narrow the page; a bad since is a 400."""
    r = await client.get(f"/?{query}")
    if expected is None:
        assert r.status_code == 400 and "not a duration or ISO date" in r.text
        return
    assert r.status_code == 200
    assert set(_cards(r.text)) == expected


async def test_article_page_shows_versions_and_highlighted_diff(
    client: httpx.AsyncClient, digest_db: DigestDB
) -> None:
    """An article page lists every version and shows inline and side-by-side diffs with ins/del."""
    r = await client.get(f"/article/{digest_db.ids['changed']}?from=1&to=2")
    assert r.status_code == 200
    tree = LexborHTMLParser(r.text)
    assert len(tree.css("table.versions tr")) == 3  # header + two versions
    inline = tree.css_first(".diffbox.inline")
    side = tree.css_first(".diffbox.side")
    assert inline is not None and side is not None
    assert "candid" in " ".join(n.text() for n in inline.css("ins"))
    assert side.css("ins") and tree.css("script") == []


async def test_article_page_defaults_to_the_latest_change(
    client: httpx.AsyncClient, digest_db: DigestDB
) -> None:
    """Without ?from/?to the page compares the latest content version with the one before it."""
    r = await client.get(f"/article/{digest_db.ids['changed']}")
    assert r.status_code == 200 and "Changes from version 1 to 2" in r.text


async def test_hostile_article_page_is_inert(
    client: httpx.AsyncClient, digest_db: DigestDB
) -> None:
    """The hostile article's title and body are text on its page, not markup."""
    r = await client.get(f"/article/{digest_db.ids['hostile']}")
    assert r.status_code == 200
    tree = LexborHTMLParser(r.text)
    assert tree.css("script") == [] and tree.css("img") == []
    assert tree.css_first("h1").text() == HOSTILE_TITLE  # type: ignore[union-attr]
    assert "\x1b" not in r.text and "<img src=x" in tree.css_first(".bodytext").text()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/article/999999", 404, "no stored article"),
        ("/article/{changed}?to=9", 404, "version 9"),
        ("/article/{changed}?from=abc", 400, "must be a version number"),
        ("/article/{removed}?from=1&to=2", 404, "records a removal"),
    ],
)
async def test_article_errors_are_clear(
    client: httpx.AsyncClient, digest_db: DigestDB, path: str, status: int, message: str
) -> None:
    """Unknown articles or versions and malformed numbers get a page saying what was wrong."""
    r = await client.get(path.format(**digest_db.ids))
    assert r.status_code == status and message in r.text


async def test_mark_reviewed_empties_the_digest(
    client: httpx.AsyncClient, digest_db: DigestDB
) -> None:
    """Pressing "mark reviewed" moves the cursor to the page's time; the digest is then empty."""
    page = LexborHTMLParser((await client.get("/")).text)
    form = page.css_first("form[action='/reviewed']")
    assert form is not None
    fields = {n.attributes["name"]: n.attributes["value"] for n in form.css("input[type=hidden]")}
    r = await client.post("/reviewed", data=fields)
    assert r.status_code == 303 and r.headers["location"] == "/"
    after = await client.get("/")
    assert _cards(after.text) == [] and LexborHTMLParser(after.text).css_first("#empty") is not None
    with digest_db.db.session(readonly=True) as s:
        assert get_cursor(s) is not None


async def test_named_reviewer_cursor_is_separate(client: httpx.AsyncClient) -> None:
    """Marking reviewed as alice leaves the default reviewer's digest as it was."""
    r = await client.post("/reviewed", data={"as": "alice", "csrf": await _csrf(client)})
    assert r.status_code == 303 and r.headers["location"] == "/?as=alice"
    assert _cards((await client.get("/?as=alice")).text) == []
    assert len(_cards((await client.get("/")).text)) == 6


async def test_cross_site_post_is_refused(client: httpx.AsyncClient, digest_db: DigestDB) -> None:
    """A POST from another origin cannot move the cursor."""
    r = await client.post("/reviewed", data={}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    with digest_db.db.session(readonly=True) as s:
        assert get_cursor(s) is None


async def test_token_is_required_when_set(digest_db: DigestDB) -> None:
    """With a token every request without it is 401; Bearer works; ?token= sets a cookie once."""
    async with _client(digest_db, token="s3cret") as c:
        assert (await c.get("/")).status_code == 401
        assert (await c.get("/", headers={"authorization": "Bearer wrong"})).status_code == 401
        assert (await c.post("/reviewed", data={})).status_code == 401
        assert (await c.get(f"/article/{digest_db.ids['changed']}")).status_code == 401
        assert (await c.get("/", headers={"authorization": "Bearer s3cret"})).status_code == 200
        r = await c.get("/?token=s3cret&kind=new")
        assert r.status_code == 303 and r.headers["location"] == "/?kind=new"
        assert "httponly" in r.headers["set-cookie"].lower()
        assert (await c.get("/?kind=new")).status_code == 200  # the cookie now authenticates
    async with _client(digest_db, token="s3cret") as fresh:
        assert (await fresh.get("/?token=nope")).status_code == 401


async def test_digest_pages_through_a_long_window(digest_db: DigestDB) -> None:
    """With more items than a page holds, pages follow each other and the totals stay whole."""
    async with _client(digest_db, page_size=4) as c:
        first = await c.get("/?kind=new&kind=changed&kind=removed&kind=restored")
        tree = LexborHTMLParser(first.text)
        assert len(_cards(first.text)) == 4 and "items 1–4 of 6" in first.text
        nxt = tree.css_first("a[rel=next]")
        assert nxt is not None and tree.css_first("a[rel=prev]") is None
        second = await c.get(nxt.attributes["href"] or "")
        assert len(_cards(second.text)) == 2 and "items 5–6 of 6" in second.text
        assert set(_cards(first.text)).isdisjoint(_cards(second.text))
        assert "kind=removed" in (nxt.attributes["href"] or "")
        assert (await c.get("/?page=zero")).status_code == 400
