"""The fast href resolver gives exactly what urljoin gives."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from crawler.parse.links import Resolver, is_http, link_problem

BASES = [
    "https://www.fmprc.gov.cn/mfa_eng/xwfw_665399/s2510_665401/2511_665403/default.shtml",
    "https://www.fmprc.gov.cn/web/wjdt_674879/fyrbt_674889/",
    "https://www.gov.uk/government/publications?page=3",
    "http://example.org",
    "https://example.org/a/b/c.html#frag",
]
HREFS = [
    "./t1794629.shtml",
    "t1794629.shtml",
    "../index.html",
    "./../../x/",
    "/government/publications/mozambique-consular-fees",
    "//cdn.example.org/img.jpg",
    "https://other.example/x",
    "HTTP://UPPER.example/x",
    "?page=2",
    "#top",
    "a/./b",
    ".hidden",
    "mailto:a@b.c",
    "javascript:void(0)",
    "x y.html",
    "a%20b.html",
    "",
    "/",
    "./",
]


@pytest.mark.parametrize("base", BASES)
def test_resolver_matches_urljoin(base: str) -> None:
    """For every href shape (relative, root, protocol-relative, dot segments, queries) the result is urljoin's."""
    resolver = Resolver(base)
    for href in HREFS:
        assert resolver.resolve(href) == urljoin(base, href), href


def test_is_http() -> None:
    """Only http(s) URLs count, whatever the case of the scheme."""
    assert is_http("https://x/") and is_http("HTTP://x/")
    assert not is_http("mailto:a@b.c") and not is_http("ftp://x/")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://www.fmprc.gov.cn/mfa_eng/t1.shtml", None),
        ("http://[::1]:8080/x", None),
        ("http://h:99999/", "invalid URL"),
        ("http://[::1/", "invalid URL"),
        ("http://h:port/", "invalid URL"),
        ("http:///nohost", "no host"),
        ("ftp://example.org/x", "not an http"),
    ],
)
def test_link_problem(url: str, problem: str | None) -> None:
    """A link no client can fetch gets a one-line reason instead of a ValueError later."""
    found = link_problem(url)
    assert found is None if problem is None else (found is not None and problem in found)


def test_listing_with_unresolvable_links_keeps_its_other_items() -> None:
    """`//[::1/` makes urljoin raise; the listing parser keeps it as written for the crawl to
    skip and count, and reads the other items."""
    from datetime import UTC, datetime

    from crawler.config import Source
    from crawler.model import Page
    from crawler.parse.listing import parse_listing
    from storage.model import RawResponse

    html = "<ul><li><a href='//[::1/x'>bad</a></li><li><a href='/a1.html'>good</a></li></ul>"
    source = Source.model_validate(
        {
            "key": "t",
            "name": "T",
            "country": "CN",
            "listings": [{"url": "http://ministry.example/list.html"}],
            "list": {"item": "li"},
        }
    )
    raw = RawResponse(
        url="http://ministry.example/list.html",
        final_url="http://ministry.example/list.html",
        status=200,
        headers=(),
        body=html.encode(),
        fetched_at=datetime.now(UTC),
    )
    page = Page(raw=raw, text=html, charset="utf-8", charset_rule="test")
    items = parse_listing(page, source, source.listings[0]).items
    assert [i.url for i in items] == ["//[::1/x", "http://ministry.example/a1.html"]
    assert link_problem(items[0].url) is not None
