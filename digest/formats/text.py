"""The digest for a terminal (rich): colour only when writing to a terminal.

Page text is always added to rich `Text` objects as plain strings, never parsed as console
markup, and passes through `clean` first, so a title such as `[bold]x[/]` or one carrying
`\\x1b[2J` prints literally (the escape sequence removed). Without colour, insertions and
deletions in changed passages are marked wdiff-style: `{+added+}` and `[-removed-]`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from digest._text import clean, one_line
from digest.model import Item, Passage, Report, SourceHealth
from digest.pairs import text_lines
from digest.templating import fmt_published, fmt_time

if TYPE_CHECKING:
    from digest.report import GroupKey

_KIND_STYLE = {
    "new": "bold green",
    "changed": "bold yellow",
    "removed": "bold red",
    "restored": "bold magenta",
    "returned": "bold cyan",
    "moved": "dim",
}


def _want_colour() -> bool:
    # NO_COLOR is the application's to read: it passes `color=False` then.
    return sys.stdout.isatty()


def render(report: Report, *, color: bool | None = None, width: int | None = None) -> str:
    """The report as terminal text; `color=None` means "only if stdout is a terminal".

    Without colour, long lines are wrapped at `width` (100) with their indent kept; with colour
    the terminal wraps them, because rich's wrapping costs seconds on a digest of thousands.
    """
    colour = _want_colour() if color is None else color
    lines = _lines(report, colour)
    if not colour:
        return "\n".join(_wrap(line.plain, width or 100) for line in lines) + "\n"
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=True,
        color_system="standard",
        width=width or 100,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(Text("\n").join(line.rich() for line in lines), soft_wrap=True)
    return buf.getvalue()


def _wrap(line: str, width: int) -> str:
    """Greedy word wrap keeping the line's indent (textwrap is several times slower)."""
    if len(line) <= width:
        return line
    indent = len(line) - len(line.lstrip(" "))
    pad, room = " " * indent, max(width - indent, 20)
    out: list[str] = []
    current = ""
    for word in line[indent:].split(" "):
        if current and len(current) + 1 + len(word) > room:
            out.append(pad + current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    out.append(pad + current)
    return "\n".join(out)


class _Line:
    """A line of (text, rich style) runs: cheap to build; turned into rich Text only for colour."""

    __slots__ = ("runs",)

    def __init__(self, text: str = "", style: str = "") -> None:
        self.runs: list[tuple[str, str]] = [(text, style)] if text else []

    def append(self, text: str, style: str = "") -> None:
        self.runs.append((text, style))

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.runs)

    def rich(self) -> Text:
        line = Text()
        for text, style in self.runs:
            line.append(text, style=style or None)
        return line


def _lines(report: Report, colour: bool) -> list[_Line]:
    out = _head(report, len(report.alert_items))
    for country, groups in report.by_country:
        out += _country(country)
        for group in groups:
            out += _group(group.source, group.source_name, report.silent.get(group.source, 0))
            for item in group.items:
                out += _item(item, colour)
    return out + _tail(report)


def _head(report: Report, alerts: int | None) -> list[_Line]:
    """Title, window and counts (`alerts` None: not known yet, said at the end)."""
    out: list[_Line] = []
    head = _Line("mfawatch digest  ", style="bold")
    head.append(f"{fmt_time(report.since)} → {fmt_time(report.until)}", style="dim")
    if report.cursor:
        head.append(f"  (cursor {report.cursor})", style="dim")
    out.append(head)
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items())
    silent = f", {report.silent_total} silent edit(s)" if report.silent_total else ""
    out.append(_Line(counts + silent + (f", {alerts} alert(s)" if alerts else "")))
    if report.is_empty:
        out += [_Line(""), _Line("Nothing new, changed or removed in this period.", style="dim")]
    return out


def _country(country: str) -> list[_Line]:
    return [_Line(""), _Line(f"══ {country} ══", style="bold cyan")]


def _group(source: str, source_name: str | None, silent: int = 0) -> list[_Line]:
    title = _Line(source, style="bold")
    if source_name:
        title.append(f" — {one_line(source_name)}")
    if silent:
        title.append(f"  ({silent} silent edit(s))", style="bold magenta")
    return [_Line(""), title]


def _tail(report: Report) -> list[_Line]:
    out: list[_Line] = []
    if report.pairs:
        out += [_Line(""), _Line("══ Both sides' readouts ══", style="bold cyan")]
        out += [_Line(line) for line in text_lines(report.pairs)]
    if report.sources:
        out += [_Line(""), _Line("══ Sources ══", style="bold cyan")]
        out += [_health(s) for s in report.sources]
    return out


def stream(
    head: Report,
    items: Iterable[tuple[GroupKey, Item]],
    *,
    color: bool | None = None,
    width: int | None = None,
) -> Iterator[str]:
    """The digest as `render` writes it, in pieces, from a header and items read one at a time
    (`digest.report.stream_report`); the alert count comes last, once it is known."""
    colour = _want_colour() if color is None else color
    out = _Printer(colour, width or 100)
    yield out.text(_head(head, None))
    alerts = 0
    country: str | None = None
    key: GroupKey | None = None
    for item_key, item in items:
        lines: list[_Line] = []
        if key is None or (item_key[0] or "—") != country:
            country = item_key[0] or "—"
            lines += _country(country)
        if item_key != key:
            key = item_key
            lines += _group(item_key[1], item_key[2], head.silent.get(item_key[1], 0))
        alerts += bool(item.alerts)
        yield out.text(lines + _item(item, colour))
    tail = _tail(head)
    if alerts:
        tail += [_Line(""), _Line(f"{alerts} alert(s) in this digest", style="bold red")]
    if tail:
        yield out.text(tail)


class _Printer:
    """Lines to text, plain (wrapped at `width`) or with colour through one reused rich Console."""

    def __init__(self, colour: bool, width: int) -> None:
        self.colour, self.width = colour, width
        self.buf = io.StringIO()
        self.console = (
            Console(
                file=self.buf,
                force_terminal=True,
                color_system="standard",
                width=width,
                highlight=False,
                markup=False,
                emoji=False,
                legacy_windows=False,
            )
            if colour
            else None
        )

    def text(self, lines: list[_Line]) -> str:
        if self.console is None:
            return "".join(_wrap(line.plain, self.width) + "\n" for line in lines)
        self.buf.seek(0)
        self.buf.truncate()
        self.console.print(Text("\n").join(line.rich() for line in lines), soft_wrap=True)
        return self.buf.getvalue()


def _item(item: Item, colour: bool) -> list[_Line]:
    kind = item.kind.value
    head = _Line("  ")
    head.append(item.label.ljust(8) + " ", style=_KIND_STYLE[kind])
    if item.badge:
        head.append(f"[{item.badge}] ", style="bold magenta")
    head.append(one_line(item.title) or "(no title)", style="bold")
    lines = [head]
    for hit in item.alerts:
        lines.append(
            _Line(f"      ALERT {one_line(hit.rule)}: {one_line(', '.join(hit.terms))}", "bold red")
        )
    meta = []
    if item.section:
        meta.append(one_line(item.section))
    meta.append(f"published {fmt_published(item.published)}")
    meta.append(f"first seen {fmt_time(item.first_seen_at)}")
    if kind != "new":
        meta.append(f"{kind} {fmt_time(item.event_at)}")
    lines.append(_Line("      " + " · ".join(meta), style="dim"))
    lines.append(_Line("      " + one_line(item.url), style="blue" if colour else ""))
    if item.note:
        lines.append(_Line("      " + one_line(item.note), style="dim"))
    if item.edit_note:
        lines.append(_Line("      " + one_line(item.edit_note), style="dim"))
    if item.one_sided:
        lines.append(_Line("      ⚑ " + one_line(item.one_sided), style="bold magenta"))
    if item.lead:
        lines.append(_Line("      " + one_line(item.lead)))
    change = item.change
    if change is not None:
        lines.append(
            _Line(
                f"      v{change.from_version} → v{change.to_version}: "
                f"+{change.words_added} −{change.words_removed} words"
                + (f" · {one_line(change.summary)}" if change.summary else ""),
                style="dim",
            )
        )
        for f in change.fields:
            line = _Line(f"      {f.name}: ")
            _mark(line, one_line(f.old), "delete", colour)
            line.append(" → ")
            _mark(line, one_line(f.new), "insert", colour)
            lines.append(line)
        for passage in change.passages:
            lines.append(_passage(passage, colour))
    lines.append(_Line(""))
    return lines


def _mark(line: _Line, text: str, op: str, colour: bool) -> None:
    if op == "equal":
        line.append(text)
    elif colour:
        line.append(text, style="green" if op == "insert" else "red strike")
    elif op == "insert":
        line.append("{+" + text + "+}")
    else:
        line.append("[-" + text + "-]")


def _passage(passage: Passage, colour: bool) -> _Line:
    line = _Line("      ")
    if passage.before:
        line.append("… " + one_line(passage.before) + " ", style="dim")
    for seg in passage.segments:
        _mark(line, clean(seg.text).replace("\n", " "), seg.op, colour)
    if passage.after:
        line.append(" " + one_line(passage.after) + " …", style="dim")
    return line


def _health(s: SourceHealth) -> _Line:
    style = {"failing": "bold red", "quiet": "yellow", "recovered": "green"}.get(s.state, "")
    line = _Line(f"  {s.source}  ")
    line.append(s.state, style=style)
    line.append(f"  last run {fmt_time(s.last_run_at)}", style="dim")
    if s.failures:
        line.append(f"  {s.failures} failure(s)")
    if s.last_error:
        line.append(f"  {one_line(s.last_error)}", style="dim")
    return line
