"""Fingerprint normalization: noise does not change the content hash, edits do."""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from storage.normalize import (
    FINGERPRINT_FIELDS,
    INVISIBLE,
    content_hash,
    fingerprint_fields,
    normalize_line,
    normalize_text,
)
from tests.storage.conftest import BODY


def _hash(title: str = "Title", body: str = BODY, at: datetime | None = None) -> str:
    return content_hash(
        fingerprint_fields(
            title=title,
            body_text=body,
            published_at=at,
            published_date=date(2024, 3, 1),
            precision="minute" if at else "day",
        )
    )


NOISE = {
    "trailing and inner spaces": BODY.replace("held talks", "held   talks ") + "  ",
    "nbsp character": BODY.replace("held talks", "held\u00a0talks"),
    "nbsp entity": BODY.replace("held talks", "held&nbsp;talks"),
    "CRLF line ends": BODY.replace("\n", "\r\n"),
    "zero-width space": BODY.replace("Wang", "Wa\u200bng"),
    "BOM and word joiner": "\ufeff" + BODY.replace("Yi", "Y\u2060i"),
    "soft hyphen": BODY.replace("bilateral", "bi\u00adlateral"),
    "extra blank lines between paragraphs": BODY.replace("\n\n", "\n \n\n"),
    "line wrapped inside a paragraph": BODY.replace("exchanged views", "exchanged\nviews"),
    "ideographic space": BODY.replace("held talks", "held\u3000talks"),
}


@pytest.mark.parametrize("noisy", list(NOISE.values()), ids=list(NOISE))
def test_noise_keeps_the_hash(noisy: str) -> None:
    """Whitespace, entity, line-end, invisible-character and Unicode-form noise is not a change."""
    assert _hash(body=noisy) == _hash()


def test_nfc_composes_accents() -> None:
    """A decomposed accent (e + combining acute) and the precomposed é fingerprint the same."""
    assert normalize_text("Caf\u0065\u0301") == normalize_text("Caf\u00e9")
    assert _hash(title="Caf\u0065\u0301") == _hash(title="Caf\u00e9")


@pytest.mark.parametrize(
    "edited",
    [
        BODY.replace("Saturday", "Sunday"),
        BODY.replace("\n\nBoth agreed to keep in close contact.", ""),
        BODY + "\n\nA new paragraph.",
        BODY.replace("relations.\n\nBoth", "relations. Both"),  # paragraphs merged
    ],
)
def test_edits_change_the_hash(edited: str) -> None:
    """A changed word, a removed or added paragraph, or merged paragraphs change the hash."""
    assert _hash(body=edited) != _hash()


def test_title_and_date_edits_change_the_hash() -> None:
    """A changed title or publication time changes the hash; the same instant in another zone does not."""
    at = datetime(2024, 3, 1, 14, 12, tzinfo=timezone(timedelta(hours=8)))
    assert _hash(title="Other") != _hash()
    assert _hash(at=at) != _hash(at=at + timedelta(minutes=1))
    assert _hash(at=at) == _hash(at=at.astimezone(UTC))
    assert _hash(at=at) != _hash()


def test_normalize_line_collapses_everything() -> None:
    """A title loses line breaks, tabs and repeated spaces."""
    assert normalize_line("  Wang\tYi\n\nmeets\u00a0Blinken ") == "Wang Yi meets Blinken"


def test_content_hash_format_never_changes() -> None:
    """Stored versions are compared by this hash: it stays SHA-256 of the JSON list of the fields."""
    fields = {
        "title": 'Wang Yi "quoted" \\ back',
        "date": "2021-11-13T06:12Z (minute)",
        "body_text": "外交部\n\n\tline\u2028 é \x00 end",
    }
    expected = hashlib.sha256(
        json.dumps([fields[k] for k in FINGERPRINT_FIELDS], ensure_ascii=False).encode()
    ).hexdigest()
    assert content_hash(fields) == expected
    assert expected == "3d9a5b1185af7ef7f2ec7cdb3afa741c04fba59f1023d1e840561b8c6dc59dc0"


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii\n\n  second   paragraph \n",
        "tab\there\r\nand\rthere\n\n\n\nafter blanks",
        "zero\u200bwidth and soft\u00adhyphen",
        "e\u0301 composed later\u3000wide\xa0space",
        "&nbsp;entity &amp; more",
        "\x1cascii\x1dcontrol\x1eseparators\x1f",
    ],
)
def test_ascii_and_unicode_paths_normalize_alike(text: str) -> None:
    """Skipping the invisible/NFC pass for ASCII text changes nothing an ASCII text can hold."""
    slow = html.unescape(text)
    slow = unicodedata.normalize("NFC", re.sub(f"[{INVISIBLE}]", "", slow))
    slow = slow.replace("\r\n", "\n").replace("\r", "\n")
    assert normalize_text(text) == _reference_normalize(text)


def _reference_normalize(text: str) -> str:
    """normalize_text as its docstring defines it, one obvious pass at a time."""
    slow = html.unescape(text)
    slow = unicodedata.normalize("NFC", re.sub(f"[{INVISIBLE}]", "", slow))
    slow = slow.replace("\r\n", "\n").replace("\r", "\n")
    blocks = (" ".join(b.split()) for b in re.split(r"\n\s*\n", slow))
    return "\n\n".join(b for b in blocks if b)


# Text built from what the fast paths test for: spaces and their runs, every kind of line break
# and control, Unicode spaces, invisible and combining characters, entities, JSON specials.
_PIECES = st.sampled_from(
    [" ", "  ", "\n", "\n\n", "\n \n", "\r\n", "\t", "\x00", "\x1c", "\x7f", "\xa0", "\u3000",
     "\u2028", "\u200b", "\u00ad", "\ufeff", "e\u0301", "é", "外交", "&amp;", "&", '"', "\\",
     "word", "Wang Yi", ".", "x" * 300]
)  # fmt: skip
_TEXTS = st.lists(_PIECES, max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
@example("plain ascii paragraph " * 40 + "\n\n" + "second one " * 40)
def test_fast_paths_normalize_like_the_reference(text: str) -> None:
    """The fast paths (ASCII without controls, printable blocks) change nothing the slow one would not."""
    assert normalize_text(text) == _reference_normalize(text)


@settings(max_examples=400, deadline=None)
@given(_TEXTS, _TEXTS)
@example("T", 'long "quoted" \\ ascii\n\n' * 40)
def test_content_hash_is_the_json_of_the_fields(title: str, body: str) -> None:
    """Whatever the text, the hash is SHA-256 of json.dumps(..., ensure_ascii=False)."""
    for fields in ({"title": title, "date": "", "body_text": body},
                   {"title": title, "date": "d", "body_text": normalize_text(body)}):  # fmt: skip
        expected = json.dumps([fields[k] for k in FINGERPRINT_FIELDS], ensure_ascii=False)
        assert content_hash(fields) == hashlib.sha256(expected.encode()).hexdigest()
