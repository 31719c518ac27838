"""The digest as Markdown (CommonMark): what Markdown or inline HTML would interpret in page text,
there where it stands, is backslash-escaped (`digest._text.md_escape`), so a title like
`<script>` or `[x](javascript:…)` reads as text while `2020-07-03 (day, title)` stays readable.
Deletions are ~~struck~~, insertions **bold**."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

from digest._text import clean, md_escape, one_line, safe_url
from digest.model import Item, ItemKind, Passage, Report
from digest.pairs import markdown_lines
from digest.templating import fmt_published, fmt_time

if TYPE_CHECKING:
    from digest.report import GroupKey

_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def _link(text: str, url: str | None) -> str:
    href = safe_url(url)
    if href is None:
        return text
    # The <...> destination form; the characters it cannot hold are percent-encoded.
    return f"[{text}](<{quote(href, safe=_URL_SAFE)}>)"


def _words(text: str) -> str:
    return md_escape(" ".join(clean(text).split()))


def _styled(text: str, op: str) -> str:
    core = _words(text)
    if not core:
        return " " if text else ""
    if op == "insert":
        core = f"**{core}**"
    elif op == "delete":
        core = f"~~{core}~~"
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return lead + core + trail


def _passage(p: Passage) -> str:
    parts = [f"… {_words(p.before)} " if p.before else ""]
    parts += [_styled(seg.text, seg.op) for seg in p.segments]
    parts.append(f" {_words(p.after)} …" if p.after else "")
    return "  > " + " ".join("".join(parts).split())


def _item(item: Item) -> list[str]:
    title = md_escape(one_line(item.title)) or "(no title)"
    badge = f" `{item.badge}`" if item.badge else ""
    lines = [f"- **{item.label}**{badge} {_link(title, item.url)}"]
    meta = []
    if item.section:
        meta.append(md_escape(one_line(item.section)))
    meta.append(f"published {md_escape(fmt_published(item.published))}")
    meta.append(f"first seen {fmt_time(item.first_seen_at)}")
    if item.kind is not ItemKind.NEW:
        meta.append(f"{item.kind.value} {fmt_time(item.event_at)}")
    lines.append("  " + " · ".join(meta))
    for hit in item.alerts:
        lines.append(f"  ⚠ alert *{md_escape(hit.rule)}*: {md_escape(', '.join(hit.terms))}")
    if item.note:
        lines.append(f"  {md_escape(one_line(item.note))}")
    if item.edit_note:
        lines.append(f"  {md_escape(one_line(item.edit_note))}")
    if item.one_sided:
        lines.append(f"  ⚑ {md_escape(one_line(item.one_sided))}")
    if item.lead:
        lines += ["", f"  > {md_escape(one_line(item.lead))}"]
    if item.change is not None:
        c = item.change
        summary = f" · {md_escape(one_line(c.summary))}" if c.summary else ""
        lines.append(
            f"  version {c.from_version} → {c.to_version}: "
            f"+{c.words_added} −{c.words_removed} words{summary}"
        )
        for f in c.fields:
            lines.append(f"  - {f.name}: ~~{_words(f.old)}~~ → **{_words(f.new)}**")
        for p in c.passages:
            lines += ["", _passage(p)]
    lines.append("")
    return lines


def render(report: Report) -> str:
    """The report as a Markdown document."""
    out = _head(report, len(report.alert_items))
    for country, groups in report.by_country:
        out += [f"## {md_escape(country)}", ""]
        for g in groups:
            out += _group(g.source, g.source_name, report.silent.get(g.source, 0))
            for item in g.items:
                out += _item(item)
    return "\n".join(out + _tail(report))


def _head(report: Report, alerts: int | None) -> list[str]:
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items())
    out = [
        "# mfawatch digest",
        "",
        f"*{fmt_time(report.since)} → {fmt_time(report.until)}*"
        + (f" (cursor {md_escape(report.cursor)})" if report.cursor else ""),
        "",
        counts
        + (f", {report.silent_total} silent edit(s)" if report.silent_total else "")
        + (f", {alerts} alert(s)" if alerts else ""),
        "",
    ]
    if report.is_empty:
        out += ["Nothing new, changed or removed in this period.", ""]
    return out


def _group(source: str, source_name: str | None, silent: int = 0) -> list[str]:
    name = f" — {md_escape(one_line(source_name))}" if source_name else ""
    count = f" ({silent} silent edit(s))" if silent else ""
    return [f"### {md_escape(source)}{name}{count}", ""]


def _tail(report: Report) -> list[str]:
    out: list[str] = []
    if report.pairs:
        out += ["## Both sides' readouts", "", *markdown_lines(report.pairs), ""]
    if report.sources:
        out += ["## Sources", "", "| source | state | last run | failures | last error |"]
        out.append("|---|---|---|---|---|")
        for s in report.sources:
            out.append(
                f"| {md_escape(s.source)} | {s.state} | {fmt_time(s.last_run_at)} "
                f"| {s.failures} | {md_escape(one_line(s.last_error))} |"
            )
        out.append("")
    return out


def stream(head: Report, items: Iterable[tuple[GroupKey, Item]]) -> Iterator[str]:
    """The document `render` writes, in pieces, from a header and items read one at a time
    (`digest.report.stream_report`); the alert count comes last, once it is known."""
    lines = _head(head, None)
    alerts = 0
    country: str | None = None
    key: GroupKey | None = None
    for item_key, item in items:
        if key is None or (item_key[0] or "—") != country:
            country = item_key[0] or "—"
            lines += [f"## {md_escape(country)}", ""]
        if item_key != key:
            key = item_key
            lines += _group(item_key[1], item_key[2], head.silent.get(item_key[1], 0))
        alerts += bool(item.alerts)
        lines += _item(item)
        yield "\n".join(lines) + "\n"
        lines = []
    tail = _tail(head) + ([f"**{alerts} alert(s) in this digest**", ""] if alerts else [])
    yield "\n".join(lines + tail)
