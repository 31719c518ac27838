"""Fetcher over real loopback HTTP: pages, conditional GET, and every named misbehaviour."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import pytest

from crawler.config import HttpSettings, Source
from crawler.errors import (
    Blocked,
    ConnectionFailed,
    FetchError,
    HTTPStatusError,
    RedirectError,
    Timeout,
    TooLarge,
)
from crawler.fetch import Fetcher, Validators
from crawler.parse.charset import with_text
from tests.crawler.fetch.conftest import MakeSource, quiet_slots
from tests.site import GB18030_TEXT, Site

REAL = Path(__file__).parents[2] / "fixtures" / "real-pages"


# -- ordinary pages ---------------------------------------------------------------------------


async def test_real_page_is_fetched_and_decoded(
    fetcher: Fetcher, site: Site, source: Source
) -> None:
    """A real fmprc page sent as charset-less text/html comes back as UTF-8 text with its raw bytes."""
    url = site.url("/real-pages/china-zh-article-2.html")
    page = await fetcher.fetch(url, source)
    expected = json.loads((REAL / "china-zh-article-2.json").read_text())["expected"]["title"]
    assert (page.status, page.url, page.charset, page.not_modified) == (200, url, "utf-8", False)
    assert expected in page.text
    assert page.raw.body == (REAL / "china-zh-article-2.html").read_bytes()
    assert page.raw.fetched_at.tzinfo is not None
    assert page.raw.header("Content-Type") == "text/html"


async def test_user_agent_and_accept_encoding_are_sent(
    fetcher: Fetcher, site: Site, source: Source
) -> None:
    """Every request carries the source's User-Agent and asks only for gzip/deflate."""
    await fetcher.fetch(site.url("/etag"), source)
    req = site.requests_to("/etag")[-1]
    assert req.header("user-agent") == source.user_agent
    assert req.header("accept-encoding") == "gzip, deflate"


async def test_cookies_a_site_sets_are_sent_back(
    fetcher: Fetcher, site: Site, source: Source
) -> None:
    """A cookie set by one answer goes with the next request to that site (sites that gate pages
    behind a first-visit cookie), and a page without Set-Cookie leaves it in place."""
    site.add("/set", b"<p>hi</p>", headers={"Set-Cookie": "visited=1; Path=/"})
    site.add("/next", b"<p>again</p>")
    await fetcher.fetch(site.url("/next"), source)
    assert site.requests_to("/next")[-1].header("cookie") is None
    await fetcher.fetch(site.url("/set"), source)
    await fetcher.fetch(site.url("/next"), source)
    await fetcher.fetch(site.url("/next"), source)
    assert site.requests_to("/next")[-1].header("cookie") == "visited=1"


async def test_gzip_body_is_decoded_and_kept_decoded(
    fetcher: Fetcher, site: Site, source: Source
) -> None:
    """A gzip-encoded page is inflated; `raw.body` holds the decoded bytes."""
    html = "<html><head><meta charset='utf-8'></head><body><p>压缩的页面</p></body></html>"
    site.add("/gz", gzip.compress(html.encode()), headers={"Content-Encoding": "gzip"})
    page = await fetcher.fetch(site.url("/gz"), source)
    assert page.text == html
    assert page.raw.body == html.encode()


@pytest.mark.parametrize("status", [404, 410])
async def test_gone_statuses_return_a_page(
    fetcher: Fetcher, site: Site, source: Source, status: int
) -> None:
    """404 and 410 are returned as a Page for the pipeline to interpret, without retries."""
    page = await fetcher.fetch(site.url(f"/status/{status}"), source)
    assert page.status == status
    assert len(site.requests_to(f"/status/{status}")) == 1


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/challenge", 'window["bobcmn"]'),
        ("/technical-difficulties", "Technical Difficulties"),
        ("/soft-404", "对不起"),
        ("/empty", ""),
    ],
)
async def test_http_200_oddities_are_pages(
    fetcher: Fetcher, site: Site, source: Source, path: str, marker: str
) -> None:
    """HTTP-200 challenge, decoy, soft-404 and empty answers are Pages; the parse step judges them."""
    page = await fetcher.fetch(site.url(path), source)
    assert page.status == 200
    assert marker in page.text
    if path == "/empty":
        assert page.text == "" and page.raw.body == b""


# -- conditional GET --------------------------------------------------------------------------


async def test_etag_round_trip_transfers_no_body(
    fetcher: Fetcher, site: Site, source: Source
) -> None:
    """A stored ETag is sent as If-None-Match and the 304 Page is `not_modified` with no body."""
    site.add("/listing", "<p>list</p>", etag=True)
    first = await fetcher.fetch(site.url("/listing"), source)
    etag = first.raw.header("ETag")
    assert etag and not first.not_modified
    validators = Validators(etag, first.raw.header("Last-Modified"))
    second = await fetcher.fetch(site.url("/listing"), source, validators=validators)
    assert (second.status, second.not_modified, second.text, second.raw.body) == (
        304,
        True,
        "",
        b"",
    )
    req = site.requests_to("/listing")[-1]
    assert req.header("if-none-match") == etag
    assert req.header("if-modified-since") == first.raw.header("Last-Modified")
    assert (req.status, req.body_bytes) == (304, 0)


async def test_last_modified_round_trip(fetcher: Fetcher, site: Site, source: Source) -> None:
    """A stored Last-Modified is sent as If-Modified-Since and earns a 304."""
    first = await fetcher.fetch(site.url("/etag"), source)
    lm = first.raw.header("Last-Modified")
    second = await fetcher.fetch(site.url("/etag"), source, validators=Validators(last_modified=lm))
    assert second.not_modified
    assert site.requests_to("/etag")[-1].header("if-modified-since") == lm


async def test_changed_page_answers_200_despite_validators(
    fetcher: Fetcher, site: Site, source: Source
) -> None:
    """When the content changed, the old ETag no longer matches and the new body comes back."""
    site.add("/p", "<p>v1</p>", etag=True)
    etag = (await fetcher.fetch(site.url("/p"), source)).raw.header("ETag")
    site.add("/p", "<p>v2</p>", etag=True)
    page = await fetcher.fetch(site.url("/p"), source, validators=Validators(etag=etag))
    assert (page.not_modified, page.text) == (False, "<p>v2</p>")


# -- slow, broken and cut connections -------------------------------------------------------


async def test_slow_headers_time_out(fetcher: Fetcher, site: Site, make_source: MakeSource) -> None:
    """A server that sits on its headers past limits.timeout gives Timeout naming the URL."""
    src = make_source(limits={"timeout": "0.5s"}, politeness={"retries": 0})
    url = site.url("/slow-headers/5")
    with pytest.raises(Timeout) as err:
        await fetcher.fetch(url, src)
    assert url in str(err.value)


async def test_slowloris_body_hits_the_total_deadline(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """A body trickled faster than any read timeout is still cut at the total deadline."""
    src = make_source(limits={"timeout": "0.6s"}, politeness={"retries": 0})
    with pytest.raises(Timeout) as err:
        await fetcher.fetch(site.url("/slow-body/10"), src)
    assert "limits.timeout" in str(err.value) or "stopped sending" in str(err.value)


@pytest.mark.parametrize("path", ["/reset", "/truncated", "/drop-mid-body"])
async def test_cut_connections_fail_after_retries(
    fetcher: Fetcher, site: Site, source: Source, path: str
) -> None:
    """Resets and truncated bodies are ConnectionFailed after the allowed tries, with the URL."""
    url = site.url(path)
    with pytest.raises(ConnectionFailed) as err:
        await fetcher.fetch(url, source)
    assert url in str(err.value)
    assert "after 3 tries" in str(err.value)
    # aiohttp itself may resend an idempotent request once when a persistent connection dies
    # (RFC 9112 section 9.3.1), so its transport can show up to two requests per try.
    assert len(site.requests_to(path)) in (3, 6)


async def test_refused_connection(fetcher: Fetcher, source: Source, refused_port: int) -> None:
    """A port nobody listens on gives ConnectionFailed."""
    with pytest.raises(ConnectionFailed) as err:
        await fetcher.fetch(f"http://127.0.0.1:{refused_port}/x", source)
    assert f"127.0.0.1:{refused_port}" in str(err.value)
    # A refused port is permanent: not retried within the run (the next run tries again).
    assert err.value.permanent and "tries" not in str(err.value)


# -- statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried_then_raised(
    fetcher: Fetcher, site: Site, source: Source, status: int
) -> None:
    """5xx answers are retried, then raise HTTPStatusError with the status and tries."""
    with pytest.raises(HTTPStatusError) as err:
        await fetcher.fetch(site.url(f"/status/{status}"), source)
    assert type(err.value) is HTTPStatusError
    assert err.value.status == status
    assert f"HTTP {status}" in str(err.value) and "after 3 tries" in str(err.value)
    assert len(site.requests_to(f"/status/{status}")) == 3


async def test_client_error_is_not_retried(fetcher: Fetcher, site: Site, source: Source) -> None:
    """A 400 is raised at once: retrying would not change it."""
    with pytest.raises(HTTPStatusError) as err:
        await fetcher.fetch(site.url("/status/400"), source)
    assert err.value.status == 400 and err.value.kind == "down"
    assert len(site.requests_to("/status/400")) == 1


@pytest.mark.parametrize(
    "path", ["/status/403", "/status/412", "/challenge?status=521", "/challenge?status=503"]
)
async def test_walls_are_blocked(fetcher: Fetcher, site: Site, source: Source, path: str) -> None:
    """403, 412 and error statuses carrying a bot challenge raise Blocked (kind `blocked`)."""
    with pytest.raises(Blocked) as err:
        await fetcher.fetch(site.url(path), source)
    assert err.value.kind == "blocked"
    assert site.url(path) in str(err.value)


@pytest.mark.parametrize("kind", ["incapsula", "cf-verify", "captcha"])
async def test_walls_named_by_the_soft_error_table_are_blocked(
    fetcher: Fetcher, site: Site, source: Source, kind: str
) -> None:
    """An error answer carrying any bot-wall marker of the soft-error table is Blocked, not
    retried as a server error: the client and the parse step share one marker table."""
    path = f"/wall/{kind}"
    with pytest.raises(Blocked) as err:
        await fetcher.fetch(site.url(path), source)
    assert err.value.kind == "blocked"
    assert len(site.requests_to(path)) == 1


async def test_plain_521_is_down_not_blocked(fetcher: Fetcher, site: Site, source: Source) -> None:
    """A 521 without a challenge page is an ordinary server error, not a block."""
    with pytest.raises(HTTPStatusError) as err:
        await fetcher.fetch(site.url("/status/521"), source)
    assert not isinstance(err.value, Blocked)


async def test_endless_429_is_blocked(fetcher: Fetcher, site: Site, source: Source) -> None:
    """A 429 that never ends is retried, then raised as Blocked saying how many tries."""
    with pytest.raises(Blocked) as err:
        await fetcher.fetch(site.url("/429"), source)
    assert err.value.status == 429 and "after 3 tries" in str(err.value)
    assert len(site.requests_to("/429")) == 3


async def test_429_that_ends_gives_the_page(fetcher: Fetcher, site: Site, source: Source) -> None:
    """A single 429 is retried and the next answer is returned."""
    page = await fetcher.fetch(site.url("/429?fails=1"), source)
    assert page.status == 200
    assert [r.status for r in site.requests_to("/429")] == [429, 200]


@pytest.mark.parametrize("query", ["", "?date=1"])
async def test_retry_after_is_honoured(
    fetcher: Fetcher, site: Site, source: Source, query: str
) -> None:
    """After 503 + Retry-After: 1 (seconds or HTTP-date), the retry waits it out, then gets 200."""
    page = await fetcher.fetch(site.url(f"/retry-after/1{query}"), source)
    first, second = site.requests_to("/retry-after/1")
    assert (first.status, second.status, page.status) == (503, 200, 200)
    # An HTTP-date has one-second resolution, so it may round down by up to a second.
    assert second.started - first.started >= (0.9 if not query else 0.0)
    assert second.started > first.started


async def test_retry_after_beyond_cap_gives_up_and_pauses_host(
    fetcher: Fetcher, site: Site, source: Source
) -> None:
    """A Retry-After over the cap is not waited in-line; the host stays paused for later fetches."""
    with pytest.raises(HTTPStatusError) as err:
        await fetcher.fetch(site.url("/retry-after/3600"), source)
    assert "exceeds the 120 s cap" in str(err.value)
    assert len(site.requests_to("/retry-after/3600")) == 1
    with pytest.raises(FetchError, match="Retry-After"):
        await fetcher.fetch(site.url("/etag"), source)
    assert site.requests_to("/etag") == []


# -- redirects --------------------------------------------------------------------------------


async def test_redirects_are_followed_and_recorded(
    fetcher: Fetcher, site: Site, source: Source
) -> None:
    """A chain of 3 redirects is followed; the Page keeps the requested, final and hop URLs."""
    url = site.url("/redirect-chain/3")
    page = await fetcher.fetch(url, source)
    assert page.status == 200 and page.raw.url == url
    assert page.url == site.url("/redirect-chain/0")
    assert page.raw.redirects == (url, site.url("/redirect-chain/2"), site.url("/redirect-chain/1"))


async def test_too_many_redirects(fetcher: Fetcher, site: Site, make_source: MakeSource) -> None:
    """More redirects than limits.max_redirects raise RedirectError."""
    src = make_source(limits={"max_redirects": 2})
    with pytest.raises(RedirectError, match="more than 2 redirects"):
        await fetcher.fetch(site.url("/redirect-chain/3"), src)


async def test_redirect_loop(fetcher: Fetcher, site: Site, source: Source) -> None:
    """A redirect loop is recognised as a loop and not retried."""
    with pytest.raises(RedirectError, match="redirect loop"):
        await fetcher.fetch(site.url("/redirect-loop"), source)
    assert len(site.requests_to("/redirect-loop")) == 1


async def test_redirect_to_other_scheme(fetcher: Fetcher, site: Site, source: Source) -> None:
    """A redirect to a non-http scheme is refused."""
    with pytest.raises(RedirectError, match="non-http"):
        await fetcher.fetch(
            site.url("/redirect-to/" + quote("file:///etc/passwd", safe="")), source
        )


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_public_host_may_not_redirect_to_loopback(
    site: Site,
    make_source: MakeSource,
    monkeypatch: pytest.MonkeyPatch,
    transport: Literal["httpx", "aiohttp"],
) -> None:
    """A 'public' host (served through the site acting as proxy) redirecting to 127.0.0.1 is refused."""
    monkeypatch.setenv("HTTP_PROXY", site.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    target = site.url("/etag")
    url = "http://ministry.example/redirect-to/" + quote(target, safe="")
    async with Fetcher(HttpSettings(transport=transport), slots=quiet_slots()) as f:
        with pytest.raises(RedirectError) as err:
            await f.fetch(url, make_source(url))
        assert "ministry.example" in str(err.value) and "loopback" in str(err.value)
        assert site.requests_to("/etag") == []
        allowed = make_source(url, politeness={"allow_private_redirects": True})
        page = await f.fetch(url, allowed)
    assert (page.status, page.url) == (200, target)


# -- size limits ------------------------------------------------------------------------------


async def test_declared_big_body_is_refused_before_download(
    fetcher: Fetcher, site: Site, source: Source
) -> None:
    """A 50 MB Content-Length over the 10 MB default is refused without reading the body."""
    with pytest.raises(TooLarge, match="Content-Length is 50.0 MB"):
        await fetcher.fetch(site.url("/big/50"), source)


async def test_streamed_big_body_is_aborted(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """A chunked body without length is aborted once it passes limits.max_bytes."""
    src = make_source(limits={"max_bytes": 1024 * 1024})
    with pytest.raises(TooLarge, match="while downloading"):
        await fetcher.fetch(site.url("/big/20?chunked=1"), src)
    assert site.requests_to("/big/20")[0].body_bytes < 20 * 1024 * 1024


async def test_gzip_bomb_is_stopped(fetcher: Fetcher, site: Site, make_source: MakeSource) -> None:
    """A small gzip body that would inflate past max_decompressed_bytes is stopped, not inflated."""
    src = make_source(limits={"max_decompressed_bytes": 5 * 1024 * 1024})
    with pytest.raises(TooLarge, match="max_decompressed_bytes"):
        await fetcher.fetch(site.url("/gzip-bomb?mb=20"), src)


# -- charsets over the wire -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "charset", "rule", "snippet"),
    [
        ("/no-charset", "utf-8", "detected", "中方对此表示坚决反对"),
        ("/wrong-charset", "utf-8", "meta", "王毅同美国国务卿布林肯举行会谈"),
        ("/gb18030", "gb18030", "meta", GB18030_TEXT),
        ("/invalid-utf8", "utf-8", "header", "café"),
    ],
)
async def test_charset_routes(
    fetcher: Fetcher, site: Site, source: Source, path: str, charset: str, rule: str, snippet: str
) -> None:
    """Missing, wrong, GB and broken charsets decode to readable text and say which rule won."""
    page = await fetcher.fetch(site.url(path), source)
    assert (page.charset, page.charset_rule) == (charset, rule)
    assert snippet in page.text
    undecoded = await fetcher.fetch(site.url(path), source, decode_text=False)
    assert (undecoded.text, undecoded.charset, undecoded.charset_rule) == ("", "", "")
    assert undecoded.raw.body == page.raw.body
    assert with_text(undecoded) == page.__class__(
        raw=undecoded.raw, text=page.text, charset=charset, charset_rule=rule
    )
    assert with_text(page) is page


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "http:///nohost"])
async def test_only_http_urls(fetcher: Fetcher, source: Source, url: str) -> None:
    """Non-http(s) or host-less URLs raise FetchError naming the URL, without any request."""
    with pytest.raises(FetchError) as err:
        await fetcher.fetch(url, source)
    assert url in str(err.value)


@pytest.mark.parametrize("url", ["http://h:99999/", "http://[::1/", "http://h:port/"])
async def test_unusable_urls_are_fetch_errors(fetcher: Fetcher, source: Source, url: str) -> None:
    """A URL no client can parse is a FetchError naming it, never a ValueError."""
    with pytest.raises(FetchError, match="invalid URL") as err:
        await fetcher.fetch(url, source)
    assert str(err.value).startswith(url)


# -- answers that are not HTTP ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ssh-banner", "/huge-header", "/huge-header?kb=200", "/many-headers"]
)
async def test_malformed_answers_are_one_line_fetch_errors(
    fetcher: Fetcher, site: Site, source: Source, path: str
) -> None:
    """An SSH banner, a header over 8 KB, 20,000 headers: a FetchError with a one-line reason
    naming the URL (or, where the client accepts the answer, a page), never a library error."""
    url = site.url(path)
    try:
        page = await fetcher.fetch(url, source)
    except FetchError as exc:
        assert str(exc).startswith(url)
        assert "\n" not in str(exc) and len(exc.reason) < 400
        assert "ClientResponseError" not in str(exc)
    else:  # httpx's own parser takes a 9 KB header
        assert fetcher.http.transport == "httpx" and path == "/huge-header"
        assert page.status == 200


async def test_answer_that_is_not_http_is_not_retried(site: Site, source: Source) -> None:
    """aiohttp's parser says exactly that the answer is not HTTP: a permanent failure."""
    async with Fetcher(HttpSettings(transport="aiohttp"), slots=quiet_slots()) as f:
        with pytest.raises(ConnectionFailed, match="not valid HTTP") as err:
            await f.fetch(site.url("/ssh-banner"), source)
    assert err.value.permanent
    assert len(site.requests_to("/ssh-banner")) <= 2  # aiohttp may resend once on a new socket


@pytest.mark.parametrize("location", ["http://h:99999/", "http://[::1/", "http://h:port/x"])
async def test_redirect_to_an_unusable_url(
    fetcher: Fetcher, site: Site, source: Source, location: str
) -> None:
    """A Location no client can parse is a RedirectError naming the URL asked for."""
    site.redirect("/bad-redirect", location)
    url = site.url("/bad-redirect")
    with pytest.raises(RedirectError, match="invalid URL") as err:
        await fetcher.fetch(url, source)
    assert str(err.value).startswith(url)
