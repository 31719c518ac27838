"""Tests of digest.highlight: stored diffs as escaped HTML (inline, side by side) and terminal text."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from selectolax.lexbor import LexborHTMLParser, LexborNode

from digest.highlight import STYLE, to_html_inline, to_html_side_by_side, to_terminal
from storage.stored_diffs import DiffInputError, diff_versions

PARAGRAPHS = [f"Paragraph {k}: the spokesperson answered question {k}." for k in range(30)]
ALLOWED_TAGS = {"div", "dl", "dt", "dd", "p", "span", "ins", "del", "br"}
ALLOWED_TAGS |= {"table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"class", "colspan"}
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_BODY = 'Look <img src=x onerror="alert(2)"> here\x1b[2J and [bold red]markup[/] too.'


def make_diff(**new: Any) -> dict[str, Any]:
    """The diff from a 30-paragraph article to a copy with some fields replaced."""
    old = {"title": "Regular Press Conference", "date": "2020-07-03 (day, title)"}
    old["body_text"] = "\n\n".join(PARAGRAPHS)
    return diff_versions(old, {**old, **new})


def edited_body() -> str:
    """The article body with one word changed, one paragraph added and one removed."""
    pars = PARAGRAPHS.copy()
    pars[10] = pars[10].replace("answered", "dodged")
    pars.insert(20, "A new paragraph appeared.")
    del pars[26]
    return "\n\n".join(pars)


def parse(markup: str) -> LexborNode:
    """The body of an HTML fragment parsed the way a browser would."""
    body = LexborHTMLParser(f"<!doctype html><html><body>{markup}</body></html>").body
    assert body is not None
    return body


def texts(root: LexborNode, selector: str) -> list[str]:
    """The text of every element matching a selector."""
    return [node.text() for node in root.css(selector)]


def assert_only_our_markup(root: LexborNode) -> None:
    """Every element and attribute in the fragment is one the highlighter writes itself."""
    for node in root.traverse():
        if node.tag in ("-text", "body"):
            continue
        assert node.tag in ALLOWED_TAGS, node.tag
        assert set(node.attributes) <= ALLOWED_ATTRIBUTES, node.attributes


def test_inline_html_marks_exactly_the_changes() -> None:
    """Inline HTML wraps only the changed words and paragraphs in <ins>/<del>."""
    diff = make_diff(title="Regular Press Briefing", body_text=edited_body())
    root = parse(to_html_inline(diff))
    assert texts(root, "dt") == ["title"]
    assert texts(root, "dd del") == ["Conference"] and texts(root, "dd ins") == ["Briefing"]
    assert texts(root, "p.diff-replace del") == ["answered"]
    assert texts(root, "p.diff-replace ins") == ["dodged"]
    assert texts(root, "p.diff-insert ins") == ["A new paragraph appeared."]
    assert texts(root, "p.diff-delete del") == [PARAGRAPHS[25]]
    assert "… 9 unchanged paragraphs …" in texts(root, "p.diff-skip")
    assert_only_our_markup(root)


def test_side_by_side_puts_old_left_and_new_right() -> None:
    """Side-by-side rows show deletions only on the left and insertions only on the right."""
    diff = make_diff(date="2020-07-04 (day, title)", body_text=edited_body())
    root = parse(to_html_side_by_side(diff))
    field_row = root.css_first("tr.diff-field")
    assert field_row is not None
    left, right = field_row.css("td")
    assert texts(left, "del") == ["2020-07-03 (day, title)"] and not left.css("ins")
    assert texts(right, "ins") == ["2020-07-04 (day, title)"] and not right.css("del")
    replaced = root.css_first("tr.diff-replace")
    assert replaced is not None
    left, right = replaced.css("td")
    assert texts(left, "del") == ["answered"] and texts(right, "ins") == ["dodged"]
    assert "dodged" not in left.text() and "answered" not in right.text()
    inserted = root.css_first("tr.diff-insert")
    assert inserted is not None
    assert inserted.css("td")[0].text() == "" and texts(inserted, "ins") == [
        "A new paragraph appeared."
    ]
    assert_only_our_markup(root)


def test_hostile_page_text_is_shown_as_text_in_html() -> None:
    """A <script> title, an <img onerror> body and a terminal escape are inert text in both HTML views."""
    diff = make_diff(title=HOSTILE_TITLE, body_text=edited_body() + "\n\n" + HOSTILE_BODY)
    for render in (to_html_inline, to_html_side_by_side):
        markup = str(render(diff))
        root = parse(markup)
        assert not root.css("script") and not root.css("img")
        assert_only_our_markup(root)
        assert HOSTILE_TITLE in root.text()
        assert (
            'Look <img src=x onerror="alert(2)"> here and [bold red]markup[/] too.' in root.text()
        )
        assert "\x1b" not in markup and "[2J" not in markup
        assert "&lt;script&gt;" in markup


def test_hostile_page_text_is_plain_in_the_terminal() -> None:
    """Page text reaches the terminal without escape sequences and without being read as markup."""
    diff = make_diff(title=HOSTILE_TITLE, body_text=edited_body() + "\n\n" + HOSTILE_BODY)
    text = to_terminal(diff, markers=False)
    assert "\x1b" not in text.plain
    assert "here and [bold red]markup[/] too." in text.plain
    assert HOSTILE_TITLE in text.plain
    buf = io.StringIO()
    Console(file=buf, force_terminal=True, color_system="standard", width=200).print(text)
    rendered = buf.getvalue()
    assert "\x1b[2J" not in rendered
    assert "[bold red]markup[/]" in rendered


def test_terminal_markers_and_styles() -> None:
    """Insertions are green and deletions red; markers add wdiff-style brackets for plain output."""
    diff = make_diff(body_text=edited_body())
    marked = to_terminal(diff, markers=True).plain
    assert "[-answered-]{+dodged+}" in marked
    assert "{+A new paragraph appeared.+}" in marked
    plain = to_terminal(diff, markers=False)
    assert "{+" not in plain.plain and "[-" not in plain.plain
    styles = {plain.plain[span.start : span.end]: str(span.style) for span in plain.spans}
    assert styles["dodged"] == "bold green" and styles["answered"] == "red strike"
    assert "… 9 unchanged paragraphs …" in plain.plain


def test_empty_diff_says_no_changes() -> None:
    """A diff without changes renders as "No changes." everywhere."""
    diff = make_diff()
    assert "No changes." in parse(to_html_inline(diff)).text()
    assert "No changes." in parse(to_html_side_by_side(diff)).text()
    assert to_terminal(diff).plain == "no changes"


def test_newlines_inside_a_paragraph_become_line_breaks() -> None:
    """A paragraph with an internal newline keeps it as <br>, not as raw text."""
    pars = PARAGRAPHS.copy()
    pars[3] = pars[3] + "\nA second line."
    diff = make_diff(body_text="\n\n".join(pars))
    root = parse(to_html_inline(diff))
    replaced = root.css_first("p.diff-replace")
    assert replaced is not None and replaced.css("ins br")
    assert texts(replaced, "ins") == ["A second line."]


def test_style_covers_the_classes_used() -> None:
    """Every diff-* class the renderers write has a rule in STYLE."""
    diff = make_diff(title="X", body_text=edited_body())
    classes = set()
    for render in (to_html_inline, to_html_side_by_side):
        for node in parse(render(diff)).traverse():
            classes.update((node.attributes.get("class") or "").split())
    for name in classes - {"diff", "diff-inline", "diff-body", "diff-field"}:
        assert f".{name}" in STYLE, name


def test_stored_diff_of_unknown_shape_is_refused() -> None:
    """A stored diff of another schema, or with malformed word ops, raises DiffInputError."""
    with pytest.raises(DiffInputError, match="schema"):
        to_html_inline({"schema": 99})
    diff = make_diff(body_text=edited_body())
    replaced = next(op for op in diff["body"] if op["op"] == "replace")
    replaced["words"] = ["not a pair"]
    with pytest.raises(DiffInputError, match=r"\[tag, text\]"):
        to_terminal(diff)
