"""The digest for a terminal (rich): colour only when writing to a terminal.

Page text is always added to rich `Text` objects as plain strings, never parsed as console
markup, and passes through `clean` first, so a title such as `[bold]x[/]` or one carrying
`\\x1b[2J` prints literally (the escape sequence removed). Without colour, insertions and
deletions in changed passages are marked wdiff-style: `{+added+}` and `[-removed-]`.
"""

from __future__ import annotations

import io
import os
import sys

from rich.console import Console
from rich.text import Text

from digest._text import clean, one_line
from digest.model import Item, Passage, Report, SourceHealth
from digest.templating import fmt_published, fmt_time

_KIND_STYLE = {
    "new": "bold green",
    "changed": "bold yellow",
    "removed": "bold red",
    "restored": "bold magenta",
}


def _want_colour() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def render(report: Report, *, color: bool | None = None, width: int | None = None) -> str:
    """The report as terminal text; `color=None` means "only if stdout is a terminal"."""
    colour = _want_colour() if color is None else color
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=colour,
        no_color=not colour,
        color_system="standard" if colour else None,
        width=width or 100,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    room = console.width
    for line in _lines(report, colour):
        # Continuation lines of a long paragraph keep the paragraph's indent.
        indent = len(line.plain) - len(line.plain.lstrip(" "))
        body = line[indent:]
        if not body.plain:
            console.print()
            continue
        for part in body.wrap(console, max(room - indent, 20)):
            part.rstrip()
            console.print(Text(" " * indent) + part, soft_wrap=True)
    return buf.getvalue()


def _lines(report: Report, colour: bool) -> list[Text]:
    out: list[Text] = []
    head = Text("mfawatch digest  ", style="bold")
    head.append(f"{fmt_time(report.since)} → {fmt_time(report.until)}", style="dim")
    if report.cursor:
        head.append(f"  (cursor {report.cursor})", style="dim")
    out.append(head)
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items())
    alerts = len(report.alert_items)
    out.append(Text(counts + (f", {alerts} alert(s)" if alerts else "")))
    if report.is_empty:
        out += [Text(""), Text("Nothing new, changed or removed in this period.", style="dim")]
    for country, groups in report.by_country:
        out += [Text(""), Text(f"══ {country} ══", style="bold cyan")]
        for group in groups:
            title = Text(group.source, style="bold")
            if group.source_name:
                title.append(f" — {one_line(group.source_name)}")
            out += [Text(""), title]
            for item in group.items:
                out += _item(item, colour)
    if report.sources:
        out += [Text(""), Text("══ Sources ══", style="bold cyan")]
        out += [_health(s) for s in report.sources]
    return out


def _item(item: Item, colour: bool) -> list[Text]:
    kind = item.kind.value
    head = Text("  ")
    head.append(kind.upper().ljust(9), style=_KIND_STYLE[kind])
    head.append(one_line(item.title) or "(no title)", style="bold")
    lines = [head]
    for hit in item.alerts:
        lines.append(
            Text(f"      ALERT {one_line(hit.rule)}: {one_line(', '.join(hit.terms))}", "bold red")
        )
    meta = []
    if item.section:
        meta.append(one_line(item.section))
    meta.append(f"published {fmt_published(item.published)}")
    meta.append(f"first seen {fmt_time(item.first_seen_at)}")
    if kind != "new":
        meta.append(f"{kind} {fmt_time(item.event_at)}")
    lines.append(Text("      " + " · ".join(meta), style="dim"))
    lines.append(Text("      " + one_line(item.url), style="blue" if colour else ""))
    if item.note:
        lines.append(Text("      " + one_line(item.note), style="dim"))
    if item.lead:
        lines.append(Text("      " + one_line(item.lead)))
    change = item.change
    if change is not None:
        lines.append(
            Text(
                f"      v{change.from_version} → v{change.to_version}: "
                f"+{change.words_added} −{change.words_removed} words"
                + (f" · {one_line(change.summary)}" if change.summary else ""),
                style="dim",
            )
        )
        for f in change.fields:
            line = Text(f"      {f.name}: ")
            _mark(line, one_line(f.old), "delete", colour)
            line.append(" → ")
            _mark(line, one_line(f.new), "insert", colour)
            lines.append(line)
        for passage in change.passages:
            lines.append(_passage(passage, colour))
    lines.append(Text(""))
    return lines


def _mark(line: Text, text: str, op: str, colour: bool) -> None:
    if op == "equal":
        line.append(text)
    elif colour:
        line.append(text, style="green" if op == "insert" else "red strike")
    elif op == "insert":
        line.append("{+" + text + "+}")
    else:
        line.append("[-" + text + "-]")


def _passage(passage: Passage, colour: bool) -> Text:
    line = Text("      ")
    if passage.before:
        line.append("… " + one_line(passage.before) + " ", style="dim")
    for seg in passage.segments:
        _mark(line, clean(seg.text).replace("\n", " "), seg.op, colour)
    if passage.after:
        line.append(" " + one_line(passage.after) + " …", style="dim")
    return line


def _health(s: SourceHealth) -> Text:
    style = {"failing": "bold red", "recovered": "green"}.get(s.state, "")
    line = Text(f"  {s.source}  ")
    line.append(s.state, style=style)
    line.append(f"  last run {fmt_time(s.last_run_at)}", style="dim")
    if s.failures:
        line.append(f"  {s.failures} failure(s)")
    if s.last_error:
        line.append(f"  {one_line(s.last_error)}", style="dim")
    return line
