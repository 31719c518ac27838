"""The body text the parser extracts is in storage's normal form (but for HTML entities).

`crawler.workers.prepare` fingerprints articles with `normal_body=True`, which skips normalizing a body
without `&`: these tests are what that rests on. Should body extraction ever produce text that
`normalize_text` would still change, they fail, and the fingerprints would be wrong.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from crawler.parse.article import parse_article
from crawler.parse.body import extract_body
from crawler.workers.prepare import prepare_article
from storage.model import Article
from storage.normalize import INVISIBLE, article_fingerprint, normalize_text
from tests.crawler.parse.support import real_names, real_page, source_for

WHITESPACE = [
    " ", "  ", "\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
    "\u1680", "\u2002", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
]  # fmt: skip
ODD = [
    *INVISIBLE, "\u202a", "\u202e", "\u2066", "\x01", "\x7f", "e\u0301", "\u1100\u1161",
    "\ue000", "\U0001f600", "\u0378", "，", "中文", "Москва",
]  # fmt: skip
MARKUP = [
    "<p>", "</p>", "<div>", "</div>", "<br>", "<b>", "</b>", "<span>", "</span>", "<li>",
    "</li>", "<ul>", "</ul>", "<td>", "</td>", "<tr>", "<table>", "</table>", "<h2>", "</h2>",
    "<font>", "</font>", "<a href='/x'>", "</a>", "<img src=i.png>", "<script>x</script>",
    "<!-- c -->", "<pre>", "</pre>", "<center>", "<hr>", "&nbsp;", "&#8203;", "&#x2061;",
]  # fmt: skip
TOKENS = st.sampled_from([*WHITESPACE, *ODD, *MARKUP, "word", "Print", "x", "."])


def _body_text(fragment: str) -> str:
    tree = LexborHTMLParser(f"<html><body><div class=content>{fragment}</div></body></html>")
    return extract_body(tree.css("div.content"), "https://example.org/a/b.html").text


@settings(max_examples=600, deadline=None)
@given(st.lists(TOKENS, max_size=40).map("".join))
@example("<p>a\u2061b</p><p>\u180ec</p>")
@example("<p>e\u0301</p>\u3000<p> \x85x\xa0</p>")
def test_extracted_body_text_is_in_normal_form(fragment: str) -> None:
    """Whatever the markup, whitespace and invisible characters, normalizing changes nothing."""
    text = _body_text(fragment)
    assert "&" in text or normalize_text(text) == text


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=40).map("".join), st.sampled_from(["", "AT&amp;T ", "&amp;lt;"]))
def test_the_vouched_fingerprint_is_the_full_one(fragment: str, amp: str) -> None:
    """`normal_body=True` gives the same hash as normalizing, entities in the text included."""
    text = _body_text(amp + fragment)
    article = Article("src", "https://example.org/a", "T", text)
    assert article_fingerprint(article, normal_body=True) == article_fingerprint(article)


@pytest.mark.parametrize("name", [n for n in real_names() if "article" in n or "wang" in n])
def test_real_pages_are_prepared_with_their_full_fingerprint(name: str) -> None:
    """On every real article page the prepared digest is the one full normalization gives."""
    page, source = real_page(name), source_for(name)
    prepared = prepare_article(page, source, None, page.url, pack_body=False)
    assert normalize_text(prepared.article.body_text) == prepared.article.body_text
    assert prepared.digest == article_fingerprint(parse_article(page, source))
