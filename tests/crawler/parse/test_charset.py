"""Bytes to text: every rule, GB18030, and every real page in tests/fixtures/real-pages."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from crawler.parse.charset import decode, header_charset, meta_charset, normalize_charset

REAL = Path(__file__).parents[2] / "fixtures" / "real-pages"
HTML_PAGES = sorted(p.name for p in REAL.glob("*.html"))
ZH = "<p>外交部发言人</p>"


@pytest.mark.parametrize("name", HTML_PAGES)
def test_real_pages_decode_as_utf8_without_header_charset(name: str) -> None:
    """Each real page, sent as charset-less text/html like fmprc does, decodes as UTF-8 text."""
    body = (REAL / name).read_bytes()
    text, charset, rule = decode(body, "text/html")
    assert charset == "utf-8" and rule in ("meta", "detected")
    assert "\ufffd" not in text and "Ã" not in text and "å¤" not in text
    sidecar = json.loads((REAL / name.replace(".html", ".json")).read_text())
    title = sidecar.get("expected", {}).get("title")
    if title:
        assert title.split()[0] in text


def test_header_charset_wins_when_it_decodes() -> None:
    """A header charset that decodes the bytes is used (rule `header`)."""
    body = "<p>Ελληνικά</p>".encode("iso-8859-7")
    assert decode(body, "text/html; charset=ISO-8859-7") == (
        "<p>Ελληνικά</p>",
        "iso8859-7",
        "header",
    )


def test_bom_beats_a_stale_header() -> None:
    """A UTF-8 BOM decides even when the header claims another charset."""
    body = codecs.BOM_UTF8 + ZH.encode()
    assert decode(body, "text/html; charset=windows-1251") == (ZH, "utf-8", "bom")


def test_utf16_bom() -> None:
    """A UTF-16 LE BOM decodes as UTF-16."""
    body = codecs.BOM_UTF16_LE + ZH.encode("utf-16-le")
    assert decode(body, None)[0::2] == (ZH, "bom")


def test_meta_http_equiv_gb2312_means_gb18030() -> None:
    """`<meta http-equiv ... charset=gb2312>` decodes as GB18030, so GBK-only characters survive."""
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>朱镕基</body></html>'
    text, charset, rule = decode(html.encode("gb18030"), "text/html")
    assert (charset, rule) == ("gb18030", "meta") and "朱镕基" in text


def test_header_gbk_means_gb18030() -> None:
    """A `charset=GBK` header is read as its superset GB18030."""
    text, charset, rule = decode("𠀀镕".encode("gb18030"), "text/html; charset=GBK")
    assert (text, charset, rule) == ("𠀀镕", "gb18030", "header")


def test_latin1_label_over_utf8_is_a_misdeclaration() -> None:
    """Valid non-ASCII UTF-8 under an iso-8859-1 header is not turned into mojibake."""
    text, charset, rule = decode(ZH.encode(), "text/html; charset=iso-8859-1")
    assert (text, charset, rule) == (ZH, "utf-8", "detected")


def test_true_latin1_stays_latin1() -> None:
    """Real Latin-1 bytes under a Latin-1 header decode under it (as windows-1252)."""
    text, charset, rule = decode(
        "<p>café déjà</p>".encode("latin-1"), "text/html; charset=ISO-8859-1"
    )
    assert (text, charset, rule) == ("<p>café déjà</p>", "cp1252", "header")


def test_detection_without_any_declaration() -> None:
    """Undeclared Shift_JIS is detected by charset-normalizer, not forced into UTF-8."""
    body = (
        "<html><body><p>"
        + "外務省は本日、日本国政府の立場を発表しました。" * 20
        + "</p></body></html>"
    ).encode("shift_jis")
    text, charset, rule = decode(body, "text/html")
    assert rule == "detected" and "外務省" in text and charset != "utf-8"


def test_broken_utf8_keeps_utf8_with_replacement() -> None:
    """A UTF-8 page with a couple of bad bytes stays UTF-8, bad bytes become U+FFFD."""
    body = ("<p>" + "正文" * 200 + "</p>").encode() + b"\xff"
    text, charset, rule = decode(body, "text/html; charset=utf-8")
    assert (charset, rule) == ("utf-8", "header") and text.endswith("\ufffd")


def test_unknown_label_falls_through() -> None:
    """An unknown header charset is ignored and the next rule decides."""
    assert decode(ZH.encode(), "text/html; charset=x-made-up")[1:] == ("utf-8", "detected")


def test_empty_body() -> None:
    """An empty body decodes to empty text under the declared charset, or UTF-8."""
    assert decode(b"", None) == ("", "utf-8", "detected")
    assert decode(b"", "text/html; charset=gbk") == ("", "gb18030", "header")


def test_helpers() -> None:
    """Header and meta charsets are extracted; names are normalised to codec names."""
    assert header_charset('text/html; charset="UTF-8"') == "UTF-8"
    assert header_charset("text/html") is None
    assert meta_charset(b"<head><meta charset=utf-8 /></head>") == "utf-8"
    assert meta_charset(b" " * 9000 + b"<meta charset=utf-8>") is None
    assert normalize_charset("GB2312") == "gb18030"
    assert normalize_charset("nonsense") is None
