"""`md_escape`: enough escaping that Markdown shows page text as written, and no more."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from digest._text import md_escape

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "![pixel](https://evil.example/p.gif)",
    "*stars* and _underscores_ and `code` and ~~strike~~",
    "# not a heading",
    "> not a quote",
    "- not a list",
    "+ not a list",
    "1. not a list",
    "2) not a list",
    "=== not a heading underline",
    "--- not a rule",
    "a | table | cell",
    "an &amp; entity and &#60; a reference, and a plain & ampersand",
    "a back\\slash \\*and an escaped star",
    "<https://autolink.example>",
    "2020-07-03 (day, title)",
]


def _rendered_text(markdown: str) -> tuple[str, str]:
    out = MarkdownIt("commonmark", {"html": True}).enable(["strikethrough", "table"])
    rendered = out.render(markdown)
    body = LexborHTMLParser(rendered).body
    return rendered, (body.text() if body is not None else "").strip()


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("where", ["line start", "inline"])
def test_escaped_text_renders_as_written(text: str, where: str) -> None:
    """Rendered by a CommonMark parser, the escaped text is exactly the text: no tag, no link,
    no emphasis, no block."""
    prefix = "" if where == "line start" else "Title: "
    rendered, shown = _rendered_text(prefix + md_escape(text))
    assert shown == prefix + text, rendered
    assert rendered.startswith("<p>"), rendered
    for tag in ("<a", "<img", "<script", "<em", "<strong", "<code", "<del", "<h", "<li", "<table"):
        assert tag not in rendered, rendered


def test_ordinary_text_is_left_readable() -> None:
    """Dates, parentheses, hyphens, ampersands and dots inside a line are not escaped."""
    for text in (
        "2020-07-03 (day, title)",
        "Foreign, Commonwealth & Development Office",
        "U.S.-China talks (2nd round), 14:00 + Q&A!",
        "Wang Yi: 1. cooperation",
    ):
        assert md_escape(text) == text
