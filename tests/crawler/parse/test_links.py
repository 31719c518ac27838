"""The fast href resolver gives exactly what urljoin gives."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from crawler.parse.links import Resolver, is_http

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
