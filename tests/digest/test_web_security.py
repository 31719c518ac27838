"""The review UI's defences (issue 16, hole 7 and the web part of hole 4) and its article lookup
by a pasted URL (issue 15 section 3), in-process through httpx.ASGITransport."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from selectolax.lexbor import LexborHTMLParser

from crawler.urls import canonical_url
from digest.web import COOKIE, SECURITY_HEADERS, create_app, feed_key, token_cookie
from digest.window import get_cursor
from tests.digest.conftest import DigestDB

BASE = "http://127.0.0.1:8080"


def _client(d: DigestDB, base: str = BASE, **kw: object) -> httpx.AsyncClient:
    app = create_app(d.db, **kw)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


def _hidden(html: str, form_action: str) -> dict[str, str]:
    form = LexborHTMLParser(html).css_first(f"form[action='{form_action}']")
    assert form is not None, form_action
    return {
        str(n.attributes["name"]): str(n.attributes["value"])
        for n in form.css("input[type=hidden]")
    }


@pytest.mark.parametrize(
    ("base", "served"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080", True),
        ("http://[::1]:8080", True),
        ("http://review.example.org", True),  # given with hosts=
        ("http://attacker.example:8080", False),  # a rebound name pointing at 127.0.0.1
        ("http://127.0.0.1.attacker.example", False),
    ],
)
async def test_only_the_served_host_names_are_answered(
    digest_db: DigestDB, base: str, served: bool
) -> None:
    """A request whose Host: is not a loopback name or a given one is refused (DNS rebinding)."""
    async with _client(digest_db, base=base, hosts=("review.example.org",)) as c:
        r = await c.get("/")
    assert r.status_code == (200 if served else 400)
    assert r.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]


@pytest.mark.parametrize("origin", [None, "null"])
async def test_a_post_without_the_form_token_is_refused(
    digest_db: DigestDB, origin: str | None
) -> None:
    """No Origin or `Origin: null` (a sandboxed frame, a file) is not enough: the CSRF token is."""
    headers = {"origin": origin} if origin else {}
    async with _client(digest_db) as c:
        page = await c.get("/")
        fields = _hidden(page.text, "/reviewed")
        forged = {k: v for k, v in fields.items() if k != "csrf"}
        assert (await c.post("/reviewed", data=forged, headers=headers)).status_code == 403
        wrong = {**fields, "csrf": "0" * 64}
        assert (await c.post("/reviewed", data=wrong, headers=headers)).status_code == 403
    with digest_db.db.session(readonly=True) as s:
        assert get_cursor(s) is None
    async with _client(digest_db) as other:  # another browser: its session differs
        r = await other.post("/reviewed", data=fields, headers=headers)
        assert r.status_code == 403 and "form token" in r.text
    async with _client(digest_db) as c:
        fields = _hidden((await c.get("/")).text, "/reviewed")
        assert (await c.post("/reviewed", data=fields, headers=headers)).status_code == 303
    with digest_db.db.session(readonly=True) as s:
        assert get_cursor(s) is not None


async def test_the_token_cookie_holds_a_derived_value(digest_db: DigestDB) -> None:
    """The login cookie is an HMAC of the token: the raw secret is never stored in the browser."""
    async with _client(digest_db, token="s3cret-token") as c:
        r = await c.get("/?token=s3cret-token")
        assert r.status_code == 303
        assert "s3cret-token" not in r.headers["set-cookie"]
        assert c.cookies[COOKIE] == token_cookie("s3cret-token")
        assert (await c.get("/")).status_code == 200
    async with _client(digest_db, token="s3cret-token") as c:  # the raw token as cookie: no
        c.cookies.set(COOKIE, "s3cret-token")
        assert (await c.get("/")).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/?page=1e20",
        "/?page=100000000000000000000",
        "/article/1e23",
        "/article/100000000000000000000000",
        "/article/{changed}?from=99999999999999999999999&to=1",
        "/nope",
        "/reviewed",  # GET on a POST route
    ],
)
async def test_bad_numbers_are_4xx_with_the_security_headers(
    digest_db: DigestDB, path: str
) -> None:
    """Huge or malformed numbers are a 400/404 page, never a 500, and every error carries the
    same security headers as a good page."""
    async with _client(digest_db) as c:
        r = await c.get(path.format(**digest_db.ids))
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    for name, value in SECURITY_HEADERS.items():
        assert r.headers[name] == value, name


async def test_an_internal_error_is_a_500_with_the_security_headers(digest_db: DigestDB) -> None:
    """A failure inside a page (here: the database is gone) is a plain 500 with every header."""
    async with _client(digest_db) as c:
        for path in ("/", f"/article/{digest_db.ids['changed']}"):
            with digest_db.db.session() as s:
                s.execute(sa.text("DROP TABLE IF EXISTS versions"))
                s.execute(sa.text("DROP TABLE IF EXISTS articles"))
            r = await c.get(path)
            assert r.status_code == 500 and "Traceback" not in r.text
            for name, value in SECURITY_HEADERS.items():
                assert r.headers[name] == value, name


@pytest.mark.parametrize(
    "pasted",
    [
        "https://www.fmprc.gov.cn/eng/changed.html#para-2",
        "https://www.fmprc.gov.cn/eng/changed.html?utm_source=x&utm_medium=mail",
        "HTTPS://WWW.FMPRC.GOV.CN/eng/changed.html",
    ],
)
async def test_a_pasted_url_finds_its_article_by_canonical_form(
    digest_db: DigestDB, pasted: str
) -> None:
    """The search box, /article?url= and /article/URL look a URL up by its canonical form."""
    want = f"/article/{digest_db.ids['changed']}"
    async with _client(digest_db, canonicalize=canonical_url) as c:
        r = await c.get("/", params={"q": pasted})
        assert r.status_code == 303 and r.headers["location"] == want
        r = await c.get("/article", params={"url": pasted})
        assert r.status_code == 303 and r.headers["location"] == want
        if "?" not in pasted and "#" not in pasted:
            assert (await c.get(f"/article/{pasted}")).status_code == 200
    async with _client(digest_db) as c:  # without the canonicalizer: not found
        assert (await c.get("/article", params={"url": pasted})).status_code == 404


async def test_the_page_links_the_atom_feed_and_the_feed_works_with_a_token(
    digest_db: DigestDB,
) -> None:
    """The digest page links its Atom feed (head and body); with a token the link carries the
    derived read-only key, which opens the feed and nothing else; ?token= opens it too."""
    async with _client(digest_db, token="s3cret") as c:
        page = await c.get("/", headers={"authorization": "Bearer s3cret"})
        tree = LexborHTMLParser(page.text)
        alt = tree.css_first("link[rel=alternate][type='application/atom+xml']")
        shown = tree.css_first("a.feedlink")
        assert alt is not None and shown is not None
        href = str(alt.attributes["href"])
        assert href == shown.attributes["href"] == f"/feed.atom?key={feed_key('s3cret')}"
        assert "s3cret" not in page.text
    async with _client(digest_db, token="s3cret") as reader:  # a feed reader: no cookie
        feed = await reader.get(href)
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("application/atom+xml")
        entries = LexborHTMLParser(feed.text).css("entry")
        assert len(entries) >= 6
        assert (await reader.get("/feed.atom?token=s3cret")).status_code == 200
        assert (await reader.get("/feed.atom")).status_code == 401
        assert (await reader.get("/feed.atom?key=wrong")).status_code == 401
        assert (await reader.get(f"/?key={feed_key('s3cret')}")).status_code == 401
        ids = digest_db.ids
        feed_like = f"/article/{ids['changed']}/feed.atom?key={feed_key('s3cret')}"
        assert (await reader.get(feed_like)).status_code == 401
    async with _client(digest_db) as c:
        page = await c.get("/?as=alice")
        node = LexborHTMLParser(page.text).css_first("a.feedlink")
        assert node is not None and node.attributes["href"] == "/feed.atom?as=alice"
        assert (await c.get("/feed.atom?since=nonsense")).status_code == 400
