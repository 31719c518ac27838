"""Every format renders the fixture digest; Atom is valid, HTML self-contained, hostile text inert."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import feedparser
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from digest.alerts import AlertRule
from digest.formats import FORMATS, UnknownFormatError, get_format, render
from digest.model import Report
from digest.report import build_report
from tests.digest.conftest import HOSTILE_TITLE, DigestDB

A = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def report(digest_db: DigestDB, rules: tuple[AlertRule, ...]) -> Report:
    """The fixture window as a report, with watchlist rules applied."""
    with digest_db.db.session(readonly=True) as s:
        return build_report(s, since=digest_db.since, until=digest_db.now, alerts=rules)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_shows_every_item(report: Report, fmt: str) -> None:
    """Each format names every item's title (in its own escaping) and the four kinds."""
    out = render(report, fmt, color=False)
    for title in ("UK announces new sanctions", "Wang Yi Holds Talks with Counterpart",
                  "Statement on a Vanished Topic", "Restored Readout", "外交部发言人就台湾问题答记者问"):  # fmt: skip
        assert title in out, f"{fmt} lacks {title!r}"
    for kind in ("new", "changed", "removed", "restored"):
        assert kind in out.lower()


def test_unknown_format_lists_the_valid_ones() -> None:
    """`--format pdf` is refused with the names that exist."""
    with pytest.raises(
        UnknownFormatError, match="unknown digest format 'pdf' .valid: text, md, html, json, atom"
    ):
        get_format("pdf")


def test_atom_has_the_required_elements_and_stable_ids(digest_db: DigestDB, report: Report) -> None:
    """The feed and each entry have id, title and updated; ids are tag URIs equal across runs."""
    first = render(report, "atom")
    root = ET.fromstring(first.encode())
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert (root.findtext(f"{A}{name}") or "").strip(), f"feed lacks {name}"
    assert root.find(f"{A}author/{A}name") is not None
    health = f"{A}category[@term='source-health']"
    entries = [e for e in root.findall(f"{A}entry") if e.find(health) is None]
    assert len(entries) == len(report.items) == 6
    assert len(root.findall(f"{A}entry")) - len(entries) == len(report.sources) == 1
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert (entry.findtext(f"{A}{name}") or "").strip(), f"entry lacks {name}"
        assert re.fullmatch(
            r"tag:mfawatch,2026:article/\d+/v/\d+(/\w+/\d+)?", entry.findtext(f"{A}id") or ""
        )
        assert entry.find(f"{A}content").get("type") == "html"  # type: ignore[union-attr]
    # A second, independent build of the same window gives the same ids.
    with digest_db.db.session(readonly=True) as s:
        again = build_report(s, since=digest_db.since, until=digest_db.now)
    ids = [e.findtext(f"{A}id") for e in root.findall(f"{A}entry")]
    assert ids == [
        e.findtext(f"{A}id")
        for e in ET.fromstring(render(again, "atom").encode()).findall(f"{A}entry")
    ]
    assert len(set(ids)) == len(ids)
    parsed = feedparser.parse(first)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10" and len(parsed.entries) == 7


def test_html_is_self_contained(report: Report) -> None:
    """The HTML file has inline CSS, no scripts, and no external resources."""
    html = render(report, "html")
    tree = HTMLParser(html)
    assert tree.css("script") == [] and tree.css("link") == [] and tree.css("iframe") == []
    assert tree.css_first("style") is not None
    for node in tree.css("[src]"):
        pytest.fail(f"resource loaded from {node.attributes['src']!r}")
    assert "url(" not in html and "@import" not in html
    for a in tree.css("a[href]"):
        assert (a.attributes["href"] or "").startswith("https://")
    assert len(tree.css("article.item")) == 6 and tree.css("ins") and tree.css("del")
    assert len(tree.css("article.item.alert")) == 3


def test_hostile_article_is_text_everywhere(report: Report) -> None:
    """A `<script>` title, an `<img onerror>` body and `\\x1b[2J` are shown as text in every format."""
    for fmt in FORMATS:
        out = render(report, fmt, color=False)
        assert "\x1b" not in out, f"ESC byte in {fmt}"
        if fmt in ("html", "atom"):
            assert "<script" not in out and "<img" not in out, fmt
    html = HTMLParser(render(report, "html"))
    titles = [n.text() for n in html.css(".title")]
    assert HOSTILE_TITLE in titles and html.css("img") == [] and html.css("script") == []
    # Atom: the content is HTML escaped once more; decoded once it still shows the tags as text.
    root = ET.fromstring(render(report, "atom").encode())
    contents = "".join(e.findtext(f"{A}content") or "" for e in root.iter(f"{A}entry"))
    assert "<img" not in contents and "&lt;img src=x onerror=alert(1)&gt;" in contents
    assert any(HOSTILE_TITLE in (e.findtext(f"{A}title") or "") for e in root.iter(f"{A}entry"))
    md = render(report, "md")
    assert r"\<script>alert(1)\</script>" in md and r"\<img src=x onerror=alert(1)>" in md
    text = render(report, "text", color=False)
    assert HOSTILE_TITLE in text and "[bold]markup[/bold]" in text and "[2J" not in text
    data = json.loads(render(report, "json"))
    titles = [i["title"] for g in data["groups"] for i in g["items"]]
    assert HOSTILE_TITLE in titles  # JSON keeps the exact text; its escaping makes it inert


def test_text_has_colour_only_when_asked(report: Report) -> None:
    """Colour codes appear only with colour on (a terminal); page escapes never do."""
    plain = render(report, "text", color=False)
    coloured = render(report, "text", color=True)
    assert "\x1b[" not in plain and "\x1b[" in coloured and "\x1b[2J" not in coloured
    assert "{+candid +}" in plain  # without colour, insertions are marked in the text


def test_json_schema_is_stable(report: Report) -> None:
    """The JSON has schema_version 1 and the documented keys."""
    data = json.loads(render(report, "json"))
    assert data["schema_version"] == 1
    assert set(data) == {"schema_version", "generator", "since", "until", "cursor", "filters",
                         "counts", "silent", "groups", "sources", "pairs"}  # fmt: skip
    item = data["groups"][0]["items"][0]
    assert set(item) == {"id", "kind", "article_id", "version", "source", "country", "title",
                         "section", "language", "url", "published", "first_seen_at", "event_at",
                         "lead", "change", "alerts", "note", "edit", "one_sided"}  # fmt: skip
    changed = next(i for g in data["groups"] for i in g["items"] if i["kind"] == "changed")
    assert changed["change"]["passages"][0]["segments"][1] == {"op": "insert", "text": "candid "}
    assert data["sources"][0]["state"] == "failing"


def test_empty_report_says_so(digest_db: DigestDB) -> None:
    """An empty window renders in every format with an explicit "nothing" line."""
    with digest_db.db.session(readonly=True) as s:
        empty = build_report(s, since=digest_db.now, until=digest_db.now)
    assert empty.is_empty
    for fmt in FORMATS:
        out = render(empty, fmt, color=False)
        assert out
    assert "Nothing new" in render(empty, "html") and "Nothing new" in render(
        empty, "text", color=False
    )
    assert ET.fromstring(render(empty, "atom").encode()).findall(f"{A}entry") == []


def test_markdown_renders_inert(report: Report) -> None:
    """Rendered by a CommonMark parser, the Markdown digest has no raw tags and only https links."""
    from markdown_it import MarkdownIt

    html = (
        MarkdownIt("commonmark", {"html": True})
        .enable("strikethrough")
        .render(render(report, "md"))
    )
    tree = HTMLParser(html)
    assert tree.css("script") == [] and tree.css("img") == []
    assert HOSTILE_TITLE in [a.text() for a in tree.css("a")]
    assert all((a.attributes["href"] or "").startswith("https://") for a in tree.css("a"))
    assert "candid" in " ".join(n.text() for n in tree.css("strong"))


def test_atom_carries_the_health_of_sources(report: Report) -> None:
    """A quiet or failing source is an Atom entry (a feed reader is where some users look), with
    an id that stays the same for the same state, whichever way the feed is written."""
    import dataclasses
    from datetime import UTC, datetime

    from digest.formats.atom import stream
    from digest.model import SourceHealth

    entered = datetime(2026, 12, 6, 8, 30, tzinfo=UTC)
    health = (
        SourceHealth("cn-mfa-zh", "quiet", name="China MFA", changed_at=entered),
        SourceHealth("uk-fcdo", "failing", last_run_at=entered, last_error="HTTP 503", failures=3),
    )
    with_health = dataclasses.replace(report, sources=health)
    for text in (render(with_health, "atom"), "".join(stream(with_health, []))):
        root = ET.fromstring(text.encode())
        entries = {
            e.findtext(f"{A}id"): e
            for e in root.findall(f"{A}entry")
            if e.find(f"{A}category[@term='source-health']") is not None
        }
        assert set(entries) == {
            "tag:mfawatch,2026:source/cn-mfa-zh/quiet/20261206T083000Z",
            "tag:mfawatch,2026:source/uk-fcdo/failing/20261206T083000Z",
        }
        quiet = entries["tag:mfawatch,2026:source/cn-mfa-zh/quiet/20261206T083000Z"]
        assert "quiet" in (quiet.findtext(f"{A}title") or "")
        failing = entries["tag:mfawatch,2026:source/uk-fcdo/failing/20261206T083000Z"]
        assert "HTTP 503" in (failing.findtext(f"{A}content") or "")
        assert feedparser.parse(text).bozo == 0
