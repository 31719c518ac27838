"""A stored diff (`storage.stored_diffs` schema 1) rendered for people: inline and side-by-side HTML with
`<ins>`/`<del>`, and coloured terminal text.

Every piece of text in a diff came from a foreign web site. HTML output escapes all of it (after
`clean` removes control characters), so `<script>` or `<img onerror=...>` in a title shows as
text; the only tags in the output are the ones written here. Terminal output appends page text
to rich `Text` as plain strings (never console markup) with escape sequences such as `\\x1b[2J`
removed. CSS classes (all `diff-*`, plus `ins`/`del`) are styled by `STYLE`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape
from rich.text import Text

from digest._text import clean
from storage.stored_diffs import DiffInputError, check_schema

STYLE = """\
.diff-fields { margin: 0 0 8px; }
.diff-fields dt { font-weight: 600; color: #3d4753; }
.diff-fields dd { margin: 0 0 4px 16px; }
.diff-body p, .diff-side td { margin: 6px 0; white-space: normal; }
.diff-insert, .diff-delete, .diff-replace { border-left: 3px solid #d0d7de; padding-left: 6px; }
.diff-insert { border-left-color: #1a7f37; }
.diff-delete { border-left-color: #cf222e; }
.diff-replace { border-left-color: #bf8700; }
.diff-skip { color: #6e7781; font-style: italic; }
.diff-eq { color: #57606a; }
.diff-num { color: #8c959f; font-size: 12px; margin-right: 6px; user-select: none; }
.diff-none { color: #8c959f; font-style: italic; }
.diff-side { width: 100%; border-collapse: collapse; table-layout: fixed; }
.diff-side th { text-align: left; }
.diff-side td { vertical-align: top; width: 50%; }
.diff-side td.diff-blank { background: #f6f8fa; }
ins { background: #d7f5dd; color: #055d20; text-decoration: none; }
del { background: #ffe0e0; color: #8e1519; text-decoration: line-through; }
"""

_INS_STYLE = "bold green"
_DEL_STYLE = "red strike"
_DIM_STYLE = "dim"


def to_html_inline(diff: Mapping[str, Any]) -> Markup:
    """The diff as one column: changed fields, then paragraphs with `<ins>`/`<del>` inside."""
    check_schema(diff)
    out = ['<div class="diff diff-inline">']
    fields = _seq(diff, "fields")
    if fields:
        out.append('<dl class="diff-fields">')
        for field in fields:
            out.append(f"<dt>{_esc(field.get('field'))}</dt><dd>{_field_inline(field)}</dd>")
        out.append("</dl>")
    body = _seq(diff, "body")
    if body:
        out.append('<div class="diff-body">')
        for op in body:
            out.append(_paragraph_inline(op))
        out.append("</div>")
    if not fields and not body:
        out.append('<p class="diff-skip">No changes.</p>')
    out.append("</div>")
    return Markup("".join(out))


def to_html_side_by_side(diff: Mapping[str, Any]) -> Markup:
    """The diff as a two-column table: the old version on the left, the new one on the right."""
    check_schema(diff)
    out = [
        '<table class="diff diff-side"><thead><tr><th>Before</th><th>After</th></tr></thead><tbody>'
    ]
    for field in _seq(diff, "fields"):
        name = _esc(field.get("field"))
        words = field.get("words")
        if words:
            old, new = _words_html(words, "del"), _words_html(words, "ins")
        else:
            old, new = _value_html(field.get("old"), "del"), _value_html(field.get("new"), "ins")
        out.append(
            f'<tr class="diff-field"><td><span class="diff-num">{name}:</span> {old}</td>'
            f'<td><span class="diff-num">{name}:</span> {new}</td></tr>'
        )
    for op in _seq(diff, "body"):
        out.append(_paragraph_row(op))
    if not _seq(diff, "fields") and not _seq(diff, "body"):
        out.append('<tr><td colspan="2" class="diff-skip">No changes.</td></tr>')
    out.append("</tbody></table>")
    return Markup("".join(out))


def to_terminal(diff: Mapping[str, Any], *, markers: bool | None = None) -> Text:
    """The diff as rich `Text`: green insertions, red struck deletions, dim context.

    With `markers` (default: only when stdout is not a terminal; the application passes True
    under NO_COLOR) changes are also marked wdiff-style, `{+added+}` and `[-removed-]`, so they
    survive without colour.
    """
    check_schema(diff)
    if markers is None:
        markers = not sys.stdout.isatty()
    lines: list[Text] = []
    for field in _seq(diff, "fields"):
        line = Text(f"{clean(str(field.get('field')))}: ", style="bold")
        words = field.get("words")
        if words:
            _words_text(line, words, markers)
        else:
            _change_text(line, "del", _plain(field.get("old")), markers)
            line.append(" → ")
            _change_text(line, "ins", _plain(field.get("new")), markers)
        lines.append(line)
    if lines:
        lines.append(Text())
    for op in _seq(diff, "body"):
        kind = op.get("op")
        line = Text()
        if kind == "equal" and op.get("old") is None:
            line.append(_skipped(op), style=_DIM_STYLE)
        elif kind == "equal":
            line.append(_plain(op.get("old")), style=_DIM_STYLE)
        elif kind == "insert":
            _change_text(line, "ins", _plain(op.get("new")), markers)
        elif kind == "delete":
            _change_text(line, "del", _plain(op.get("old")), markers)
        elif op.get("words"):
            _words_text(line, op["words"], markers)
        else:
            _change_text(line, "del", _plain(op.get("old")), markers)
            line.append(" ")
            _change_text(line, "ins", _plain(op.get("new")), markers)
        lines.append(line)
        lines.append(Text())
    if not lines:
        return Text("no changes", style=_DIM_STYLE)
    return Text("\n").join(lines[:-1] if not lines[-1].plain else lines)


def _seq(diff: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    value = diff.get(key) or []
    if not isinstance(value, Sequence) or not all(isinstance(v, Mapping) for v in value):
        raise DiffInputError(f"stored diff: {key!r} must be a list of objects, got {value!r:.80}")
    return value


def _plain(text: object) -> str:
    return clean(text if isinstance(text, str) else "" if text is None else str(text))


def _esc(text: object) -> str:
    """Page text as HTML text: control characters removed, everything escaped, newlines as <br>."""
    return str(escape(_plain(text))).replace("\n", "<br>")


def _pairs(words: Iterable[Any]) -> Iterable[tuple[str, str]]:
    for entry in words:
        if not isinstance(entry, Sequence) or isinstance(entry, str) or len(entry) != 2:
            raise DiffInputError(f"stored diff: a word op must be [tag, text], got {entry!r:.80}")
        yield str(entry[0]), _plain(entry[1])


def _words_html(words: Iterable[Any], side: str | None = None) -> str:
    """Word ops as HTML; `side` "del" or "ins" keeps only the old or the new text."""
    out = []
    for tag, text in _pairs(words):
        if tag in ("ins", "del"):
            if side is None or side == tag:
                out.append(f"<{tag}>{_esc(text)}</{tag}>")
        else:
            out.append(_esc(text))
    return "".join(out)


def _value_html(value: object, tag: str) -> str:
    if value is None:
        return '<span class="diff-none">(none)</span>'
    return f"<{tag}>{_esc(value)}</{tag}>"


def _field_inline(field: Mapping[str, Any]) -> str:
    if field.get("words"):
        return _words_html(field["words"])
    return f"{_value_html(field.get('old'), 'del')} → {_value_html(field.get('new'), 'ins')}"


def _skipped(op: Mapping[str, Any]) -> str:
    try:
        count = int(op.get("count") or 0)
    except (TypeError, ValueError) as exc:
        raise DiffInputError(f"stored diff: bad paragraph count {op.get('count')!r:.40}") from exc
    return f"… {count} unchanged paragraph{'s' if count != 1 else ''} …"


def _number(index: object) -> str:
    # The trailing space keeps number and text apart even where STYLE is not included.
    return f'<span class="diff-num">{int(index) + 1}</span> ' if isinstance(index, int) else ""


def _paragraph_inline(op: Mapping[str, Any]) -> str:
    kind = op.get("op")
    if kind == "equal" and op.get("old") is None:
        return f'<p class="diff-skip">{_skipped(op)}</p>'
    if kind == "equal":
        return f'<p class="diff-eq">{_number(op.get("new_index"))}{_esc(op.get("old"))}</p>'
    if kind == "insert":
        return f'<p class="diff-insert">{_number(op.get("new_index"))}<ins>{_esc(op.get("new"))}</ins></p>'
    if kind == "delete":
        return f'<p class="diff-delete">{_number(op.get("old_index"))}<del>{_esc(op.get("old"))}</del></p>'
    if op.get("words"):
        inner = _words_html(op["words"])
    else:
        inner = f"<del>{_esc(op.get('old'))}</del> <ins>{_esc(op.get('new'))}</ins>"
    return f'<p class="diff-replace">{_number(op.get("new_index"))}{inner}</p>'


def _paragraph_row(op: Mapping[str, Any]) -> str:
    kind = op.get("op")
    blank = '<td class="diff-blank"></td>'
    old_no, new_no = _number(op.get("old_index")), _number(op.get("new_index"))
    if kind == "equal" and op.get("old") is None:
        return f'<tr class="diff-skip"><td colspan="2">{_skipped(op)}</td></tr>'
    if kind == "equal":
        text = _esc(op.get("old"))
        return f'<tr class="diff-eq"><td>{old_no}{text}</td><td>{new_no}{text}</td></tr>'
    if kind == "insert":
        return (
            f'<tr class="diff-insert">{blank}<td>{new_no}<ins>{_esc(op.get("new"))}</ins></td></tr>'
        )
    if kind == "delete":
        return (
            f'<tr class="diff-delete"><td>{old_no}<del>{_esc(op.get("old"))}</del></td>{blank}</tr>'
        )
    if op.get("words"):
        old, new = _words_html(op["words"], "del"), _words_html(op["words"], "ins")
    else:
        old, new = f"<del>{_esc(op.get('old'))}</del>", f"<ins>{_esc(op.get('new'))}</ins>"
    return f'<tr class="diff-replace"><td>{old_no}{old}</td><td>{new_no}{new}</td></tr>'


def _change_text(line: Text, tag: str, text: str, markers: bool) -> None:
    if not text:
        return
    style = _INS_STYLE if tag == "ins" else _DEL_STYLE
    if markers:
        text = ("{+" + text + "+}") if tag == "ins" else ("[-" + text + "-]")
    line.append(text, style=style)


def _words_text(line: Text, words: Iterable[Any], markers: bool) -> None:
    for tag, text in _pairs(words):
        if tag in ("ins", "del"):
            _change_text(line, tag, text, markers)
        else:
            line.append(text)
