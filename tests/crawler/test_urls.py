"""Canonical URLs: the identity of an article."""

from __future__ import annotations

import pytest

from crawler.urls import canonical_url

SAME = [
    # (variant, canonical form)
    ("HTTPS://WWW.FMPRC.GOV.CN/web/t1.shtml", "https://www.fmprc.gov.cn/web/t1.shtml"),
    ("https://www.fmprc.gov.cn:443/web/t1.shtml", "https://www.fmprc.gov.cn/web/t1.shtml"),
    ("http://www.fmprc.gov.cn:80/web/t1.shtml", "http://www.fmprc.gov.cn/web/t1.shtml"),
    ("https://www.fmprc.gov.cn/web/t1.shtml#top", "https://www.fmprc.gov.cn/web/t1.shtml"),
    (
        "https://www.fmprc.gov.cn/web/t1.shtml?utm_source=tw&utm_medium=x",
        "https://www.fmprc.gov.cn/web/t1.shtml",
    ),
    ("https://a.example/news?fbclid=abc&id=5", "https://a.example/news?id=5"),
    ("https://a.example/news/index.html", "https://a.example/news/"),
    ("https://a.example/web/default.shtml", "https://a.example/web/"),
    ("https://a.example/x?b=2&a=1", "https://a.example/x?a=1&b=2"),
    ("https://a.example", "https://a.example/"),
    ("https://a.example/caf%C3%A9", "https://a.example/caf%C3%A9"),
    ("https://a.example/café", "https://a.example/caf%C3%A9"),
]


@pytest.mark.parametrize(("variant", "expected"), SAME)
def test_variants_fold_to_one_canonical_url(variant: str, expected: str) -> None:
    """Case, default ports, fragments, tracking parameters, index documents and query order fold."""
    assert canonical_url(variant) == expected


def test_meaningful_differences_are_kept() -> None:
    """Paths, real parameters, non-default ports and opaque queries still tell articles apart."""
    assert canonical_url("https://a.example/t1.shtml") != canonical_url(
        "https://a.example/t2.shtml"
    )
    assert canonical_url("https://a.example/n?id=1") != canonical_url("https://a.example/n?id=2")
    assert canonical_url("https://a.example:8443/n") != canonical_url("https://a.example/n")
    mea = "https://www.mea.gov.in/press-releases.htm?dtl/40313/Visit_of_the_Minister"
    assert canonical_url(mea) == mea
    assert canonical_url(mea) != canonical_url(
        "https://www.mea.gov.in/press-releases.htm?dtl/40846"
    )


def test_canonical_url_is_idempotent() -> None:
    """Canonicalizing a canonical URL changes nothing."""
    for variant, _ in SAME:
        once = canonical_url(variant)
        assert canonical_url(once) == once
