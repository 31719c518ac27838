"""Readable diffs between two versions of an article: pure functions, JSON-serializable output.

`diff_versions(old, new)` compares the normalized fields of two versions and returns a dict that
storage keeps next to the newer version; the digest, the CLI and the web UI render it. Schema 1:

    {
      "schema": 1,
      "fields": [{"field": "title"|"date"|"section", "old": str|None, "new": str|None,
                  "words": [[tag, text], ...] for the title, else None}],
      "body": [{"op": "equal"|"insert"|"delete"|"replace",
                "old_index": int|None, "new_index": int|None,   # 0-based paragraph numbers
                "old": str|None, "new": str|None,
                "words": [[tag, text], ...] for replace, else None,
                "count": int}],                                # >1 only for collapsed equal runs
      "unified": str,          # paragraph-level unified diff, one paragraph per line
      "words_added": int, "words_removed": int,               # body only
      "turns": ["turn 7 removed", ...],                        # [] unless a Q&A transcript
      "summary": str
    }

Body ops are in document order. Unchanged paragraphs appear only as `context` paragraphs around
a change (with their text, `count` 1); longer unchanged runs are collapsed to one entry with
`count` and no text. An insert has no `old_index`, a delete no `new_index`. Word tags are `eq`,
`ins`, `del`; the `eq` and `del` texts joined give the old passage, `eq` and `ins` the new one.
Words are Latin-script words or single CJK characters (Chinese has no spaces between words).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher
from typing import Any

from storage.errors import StorageError
from storage.textdiff import align, count_words, signature, word_ops
from storage.turns import group_turns, looks_like_transcript

SCHEMA = 1
SCALAR_FIELDS = ("title", "date", "section")
FIELDS = (*SCALAR_FIELDS, "body_text")
DEFAULT_CONTEXT = 1

_PARAGRAPH_SPLIT_RE = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_TURN_RE = re.compile(r"turn (\d+) (changed|removed|added)")


class DiffInputError(StorageError):
    """The versions given to `diff_versions`, or a stored diff, are not in the expected shape."""


def diff_versions(
    old: Mapping[str, str | None],
    new: Mapping[str, str | None],
    *,
    context: int = DEFAULT_CONTEXT,
) -> dict[str, Any]:
    """The schema-1 diff from `old` to `new` (field dicts: title, date, section, body_text)."""
    old_fields = _check_fields("old", old)
    new_fields = _check_fields("new", new)
    if context < 0:
        raise DiffInputError(f"diff_versions: context must be >= 0, got {context}")
    fields = [
        {
            "field": name,
            "old": old_fields[name],
            "new": new_fields[name],
            "words": word_ops(old_fields[name] or "", new_fields[name] or "")[0]
            if name == "title"
            else None,
        }
        for name in SCALAR_FIELDS
        if old_fields[name] != new_fields[name]
    ]
    old_pars = split_paragraphs(old_fields["body_text"])
    new_pars = split_paragraphs(new_fields["body_text"])
    ops, added, removed = _paragraph_ops(old_pars, new_pars)
    hunks = _hunks(ops, context)
    diff: dict[str, Any] = {
        "schema": SCHEMA,
        "fields": fields,
        "body": _collapse(ops, hunks),
        "unified": _unified(ops, hunks),
        "words_added": added,
        "words_removed": removed,
        "turns": _turn_changes(old_pars, new_pars),
    }
    diff["summary"] = summarize(diff)
    return diff


def split_paragraphs(body_text: str | None) -> list[str]:
    """The non-empty paragraphs of a body (separated by blank lines), stripped."""
    if not body_text:
        return []
    return [p for p in (part.strip() for part in _PARAGRAPH_SPLIT_RE.split(body_text)) if p]


def check_schema(diff: object) -> None:
    """Raise `DiffInputError` unless `diff` is a mapping with this module's schema number."""
    _check_schema(diff)


def is_empty(diff: Mapping[str, Any]) -> bool:
    """True when a stored diff records no change at all."""
    _check_schema(diff)
    return not diff["fields"] and all(op["op"] == "equal" for op in diff["body"])


def summarize(diff: Mapping[str, Any]) -> str:
    """One line such as "title changed; 2 paragraphs changed, 1 added; +14/-3 words; turn 7 removed"."""
    _check_schema(diff)
    try:
        parts: list[str] = []
        if diff["fields"]:
            parts.append(", ".join(f["field"] for f in diff["fields"]) + " changed")
        kinds = [op["op"] for op in diff["body"]]
        counts = [
            (kinds.count("replace"), "changed"),
            (kinds.count("insert"), "added"),
            (kinds.count("delete"), "removed"),
        ]
        shown = [(n, verb) for n, verb in counts if n]
        if shown:
            first_n, first_verb = shown[0]
            noun = "paragraph" if first_n == 1 else "paragraphs"
            rest = [f"{n} {verb}" for n, verb in shown[1:]]
            parts.append(", ".join([f"{first_n} {noun} {first_verb}", *rest]))
            parts.append(f"+{int(diff['words_added'])}/-{int(diff['words_removed'])} words")
        parts.extend(_summarize_turns(diff["turns"]))
    except (KeyError, TypeError) as exc:
        raise DiffInputError(
            f"stored diff is malformed ({exc!r}); expected schema {SCHEMA}"
        ) from exc
    return "; ".join(parts) if parts else "no changes"


def _check_fields(name: str, value: object) -> dict[str, str | None]:
    if not isinstance(value, Mapping):
        raise DiffInputError(
            f"diff_versions: {name} must be a mapping of field name to text, got {type(value).__name__}"
        )
    problems = [
        f"{name}[{key!r}] is not a known field (allowed: {', '.join(FIELDS)})"
        for key in value
        if key not in FIELDS
    ]
    problems += [
        f"{name}[{key!r}] must be str or None, got {type(value[key]).__name__}"
        for key in FIELDS
        if value.get(key) is not None and not isinstance(value[key], str)
    ]
    if problems:
        raise DiffInputError("diff_versions: " + "; ".join(problems))
    return {key: value.get(key) for key in FIELDS}


def _check_schema(diff: object) -> None:
    if not isinstance(diff, Mapping) or diff.get("schema") != SCHEMA:
        found = diff.get("schema") if isinstance(diff, Mapping) else type(diff).__name__
        raise DiffInputError(f"stored diff has schema {found!r}; this code reads schema {SCHEMA}")


def _op(op: str, i: int | None, j: int | None, old: str | None, new: str | None) -> dict[str, Any]:
    return {
        "op": op,
        "old_index": i,
        "new_index": j,
        "old": old,
        "new": new,
        "words": None,
        "count": 1,
    }


def _paragraph_ops(
    old_pars: list[str], new_pars: list[str]
) -> tuple[list[dict[str, Any]], int, int]:
    """One op per paragraph in document order, plus the body's words added and removed."""
    ops: list[dict[str, Any]] = []
    added = removed = 0
    matcher = SequenceMatcher(None, old_pars, new_pars, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops += [
                _op("equal", i1 + k, j1 + k, old_pars[i1 + k], new_pars[j1 + k])
                for k in range(i2 - i1)
            ]
            continue
        pairs = align(
            [signature(p) for p in old_pars[i1:i2]], [signature(p) for p in new_pars[j1:j2]]
        )
        for pi, pj in pairs:
            i = None if pi is None else i1 + pi
            j = None if pj is None else j1 + pj
            if i is not None and j is not None:
                op = _op("replace", i, j, old_pars[i], new_pars[j])
                op["words"], plus, minus = word_ops(old_pars[i], new_pars[j])
            elif i is not None:
                op = _op("delete", i, None, old_pars[i], None)
                plus, minus = 0, count_words(old_pars[i])
            else:
                assert j is not None
                op = _op("insert", None, j, None, new_pars[j])
                plus, minus = count_words(new_pars[j]), 0
            added, removed = added + plus, removed + minus
            ops.append(op)
    return ops, added, removed


def _hunks(ops: Sequence[Mapping[str, Any]], context: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of `ops` to show: each change with `context` equal ops around it."""
    hunks: list[tuple[int, int]] = []
    for k, op in enumerate(ops):
        if op["op"] == "equal":
            continue
        start, stop = max(0, k - context), min(len(ops), k + 1 + context)
        if hunks and start <= hunks[-1][1]:
            hunks[-1] = (hunks[-1][0], stop)
        else:
            hunks.append((start, stop))
    return hunks


def _collapse(ops: list[dict[str, Any]], hunks: list[tuple[int, int]]) -> list[dict[str, Any]]:
    if not hunks:
        return []
    body: list[dict[str, Any]] = []
    shown_until = 0
    for start, stop in [*hunks, (len(ops), len(ops))]:
        if start > shown_until:
            first = ops[shown_until]
            skipped = _op("equal", first["old_index"], first["new_index"], None, None)
            skipped["count"] = start - shown_until
            body.append(skipped)
        body += ops[start:stop]
        shown_until = stop
    return body


def _unified(ops: Sequence[Mapping[str, Any]], hunks: list[tuple[int, int]]) -> str:
    """A difflib-style unified diff of the paragraphs, from the ops already computed."""
    if not hunks:
        return ""
    lines = ["--- old", "+++ new"]
    for start, stop in hunks:
        hunk = ops[start:stop]
        old_lines = [op for op in hunk if op["old_index"] is not None]
        new_lines = [op for op in hunk if op["new_index"] is not None]
        old_start = old_lines[0]["old_index"] if old_lines else _next_index(ops, stop, "old_index")
        new_start = new_lines[0]["new_index"] if new_lines else _next_index(ops, stop, "new_index")
        lines.append(
            f"@@ -{_range(old_start, len(old_lines))} +{_range(new_start, len(new_lines))} @@"
        )
        minus: list[str] = []
        plus: list[str] = []
        for op in hunk:
            if op["op"] == "equal":
                lines += minus + plus
                minus, plus = [], []
                lines.append(" " + _one_line(op["old"]))
                continue
            if op["old"] is not None:
                minus.append("-" + _one_line(op["old"]))
            if op["new"] is not None:
                plus.append("+" + _one_line(op["new"]))
        lines += minus + plus
    return "\n".join(lines) + "\n"


def _next_index(ops: Sequence[Mapping[str, Any]], stop: int, key: str) -> int:
    # A hunk with no line on one side is placed before the next line of that side.
    for op in ops[stop:]:
        if op[key] is not None:
            return int(op[key])
    return sum(1 for op in ops if op[key] is not None)


def _range(start: int, length: int) -> str:
    # Same convention as difflib: 1-based start, an empty range names the line before it.
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _turn_changes(old_pars: list[str], new_pars: list[str]) -> list[str]:
    """ "turn N removed/changed/added" in document order, when the body is a Q&A transcript."""
    if not (looks_like_transcript(old_pars) or looks_like_transcript(new_pars)):
        return []
    old_pre, old_turns = group_turns(old_pars)
    new_pre, new_turns = group_turns(new_pars)
    changes: list[str] = []
    if old_pre != new_pre:
        changes.append(
            "preamble added"
            if not old_pre
            else "preamble removed"
            if not new_pre
            else "preamble changed"
        )
    old_texts = [t.text for t in old_turns]
    new_texts = [t.text for t in new_turns]
    matcher = SequenceMatcher(None, old_texts, new_texts, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = align(
            [signature(t) for t in old_texts[i1:i2]],
            [signature(t) for t in new_texts[j1:j2]],
        )
        for pi, pj in pairs:
            if pi is not None and pj is not None:
                changes.append(f"turn {i1 + pi + 1} changed")
            elif pi is not None:
                changes.append(f"turn {i1 + pi + 1} removed")
            elif pj is not None:
                changes.append(f"turn {j1 + pj + 1} added")
    return changes


def _summarize_turns(turns: Sequence[str]) -> list[str]:
    """Group "turn N verb" strings by verb, e.g. "turns 3-5, 9 changed"."""
    by_verb: dict[str, list[int]] = {}
    other: list[str] = []
    for entry in turns:
        match = _TURN_RE.fullmatch(entry)
        if match is None:
            other.append(str(entry))
        else:
            by_verb.setdefault(match.group(2), []).append(int(match.group(1)))
    parts = list(other)
    for verb, numbers in by_verb.items():
        noun = "turn" if len(numbers) == 1 else "turns"
        parts.append(f"{noun} {_ranges(sorted(numbers))} {verb}")
    return parts


def _ranges(numbers: list[int]) -> str:
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
