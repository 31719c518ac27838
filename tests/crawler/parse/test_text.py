"""Text normalization helpers used by every parser."""

from __future__ import annotations

import pytest

from crawler.parse.text import clean, first_words, join_paragraphs, strip_invisible


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  a \n\t b  ", "a b"),
        ("a\u00a0\u00a0b", "a b"),  # NBSP
        ("\u3000\u3000第一段", "第一段"),  # ideographic indent
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("soft\u00adhyphen", "softhyphen"),
        ("e\u0301", "é"),  # NFC
        ("", ""),
    ],
)
def test_clean(raw: str, expected: str) -> None:
    """clean() gives NFC text without invisible characters and with single spaces."""
    assert clean(raw) == expected


def test_strip_invisible_keeps_visible_text() -> None:
    """Only invisible characters are removed; spaces and letters stay."""
    assert strip_invisible("a\u200b b\u200e") == "a b"


def test_join_and_first_words() -> None:
    """Paragraphs join with one blank line, empty ones skipped; first_words cuts at the limit."""
    assert join_paragraphs(["a", "", "b"]) == "a\n\nb"
    assert first_words("  one   two three ", 7) == "one two"
