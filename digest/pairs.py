"""Pairs as the digest, `mfawatch pairs` and the web UI show them: lines of text and Markdown,
JSON, and what each side of a pair mentions that the other does not.

"Both sides' readouts": each readout pair (two ministries' readouts of one event) and each twin
pair (one release in two languages) found or confirmed in the window, with both titles, sources
and dates, the officials both name, and its review status. Rejected pairs are not shown.

The comparison (`compare`) reads both bodies for three things that survive translation: the
officials each names (through the officials table, so 布林肯 is Blinken), the numbers each
gives (dates, counts, sums: `11月16日` gives 11 and 16), and the topics of `TOPICS` each
mentions in any of the presets' languages (Taiwan, 台湾, Тайвань, 台湾 are one topic).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from digest._text import md_escape, one_line, safe_url
from digest.templating import fmt_time
from storage.readouts.matching import words
from storage.readouts.officials import Officials
from storage.readouts.store import PairView, Relation, Side

# Topics by the words that name them in the presets' languages (folded as `matching.words`).
TOPICS: dict[str, tuple[str, ...]] = {
    "Taiwan": ("taiwan", "台湾", "тайван", "台湾海峡"),
    "Ukraine": ("ukrain", "乌克兰", "украин", "ウクライナ"),
    "Russia": ("russia", "俄罗斯", "росси", "ロシア"),
    "climate": ("climate", "气候", "климат", "気候", "klima", "climat"),
    "energy": ("energy", "能源", "энерг", "エネルギー", "energie"),
    "Iran nuclear": ("iran", "伊朗", "иран", "イラン"),
    "Korean Peninsula": (
        "korean peninsula",
        "dprk",
        "north korea",
        "朝鲜半岛",
        "朝鲜",
        "корейск",
        "北朝鮮",
    ),
    "Afghanistan": ("afghan", "阿富汗", "афганистан", "アフガニスタン"),
    "trade": ("trade", "tariff", "贸易", "关税", "торгов", "貿易", "handel", "commerce"),
    "human rights": (
        "human rights",
        "人权",
        "прав человека",
        "人権",
        "menschenrechte",
        "droits de l homme",
    ),
    "Hong Kong": ("hong kong", "香港", "гонконг"),
    "Xinjiang": ("xinjiang", "新疆", "синьцзян"),
    "South China Sea": ("south china sea", "南海", "южно китайск"),
    "Middle East": (
        "middle east",
        "gaza",
        "israel",
        "中东",
        "加沙",
        "以色列",
        "ближн",
        "газ",
        "中東",
    ),
    "COVID-19": ("covid", "pandemic", "新冠", "疫情", "пандеми", "コロナ"),
    "summit / visit": ("summit", "visit", "峰会", "会晤", "访问", "саммит", "визит", "首脳"),
    "sanctions": ("sanction", "制裁", "санкци"),
    "military": ("military", "军事", "军队", "военн", "軍事", "militar"),
}
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"  # as digest.formats.markdown
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True, slots=True)
class Difference:
    """What one side mentions that the other does not."""

    officials: tuple[str, ...]  # person ids
    numbers: tuple[str, ...]
    topics: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """Whether there is nothing."""
        return not (self.officials or self.numbers or self.topics)


@dataclass(frozen=True, slots=True)
class Mentions:
    """What one text mentions: officials (ids), numbers, topics."""

    officials: frozenset[str]
    numbers: frozenset[str]
    topics: frozenset[str]


def mentions(title: str, body: str, day: date | None, officials: Officials | None) -> Mentions:
    """What a release mentions (officials only with a table and a date)."""
    text = title + "\n" + body
    people = (
        frozenset(m.person for m in officials.named_in(text, day))
        if officials is not None and day is not None
        else frozenset()
    )
    numbers = frozenset(n.replace(",", "") for n in _NUMBER.findall(text))
    folded = " " + words(text) + " "
    topics = frozenset(t for t, keys in TOPICS.items() if any(k in folded for k in keys))
    return Mentions(people, numbers, topics)


def compare(a: Mentions, b: Mentions) -> tuple[Difference, Difference]:
    """What `a` mentions that `b` does not, and the other way round."""

    def only(x: Mentions, y: Mentions) -> Difference:
        return Difference(
            tuple(sorted(x.officials - y.officials)),
            tuple(sorted(x.numbers - y.numbers, key=lambda n: (len(n), n))),
            tuple(sorted(x.topics - y.topics)),
        )

    return only(a, b), only(b, a)


def marked(text: str, terms: Iterable[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, marked) runs, marking each occurrence of a term (case-insensitive;
    a Latin or Cyrillic term from the start of a word, a number as a whole number)."""
    patterns = []
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        escaped = re.escape(term)
        if term.isdigit():
            patterns.append(rf"(?<![\d.,]){escaped}(?![\d])")
        elif term[0].isalpha() and term.isascii() or _CYRILLIC.match(term):
            patterns.append(rf"(?<!\w){escaped}")
        else:
            patterns.append(escaped)
    if not patterns:
        return [(text, False)] if text else []
    out: list[tuple[str, bool]] = []
    last = 0
    for m in re.finditer("|".join(patterns), text, flags=re.IGNORECASE):
        if m.start() > last:
            out.append((text[last : m.start()], False))
        out.append((m.group(), True))
        last = m.end()
    if last < len(text):
        out.append((text[last:], False))
    return out


@dataclass(frozen=True, slots=True)
class SideView:
    """One readout of a pair as the side-by-side page shows it."""

    side: Side
    only_here: Difference
    officials: tuple[str, ...]  # names of the officials only this side mentions, as displayed
    paragraphs: tuple[tuple[tuple[str, bool], ...], ...]  # each paragraph's marked runs


def side_by_side(
    pair: PairView, bodies: dict[int, str], officials: Officials | None
) -> tuple[SideView, SideView]:
    """Both sides of a pair with what each mentions that the other does not, marked in its text."""
    texts = {s.article_id: bodies.get(s.article_id, "") for s in (pair.a, pair.b)}
    seen = [
        mentions(s.title, texts[s.article_id], s.published_date or _day(s), officials)
        for s in (pair.a, pair.b)
    ]
    diffs = compare(seen[0], seen[1])
    views = []
    for side, diff in zip((pair.a, pair.b), diffs, strict=True):
        names: list[str] = []
        terms: list[str] = list(diff.numbers)
        for person_id in diff.officials:
            person = officials.person(person_id) if officials is not None else None
            if person is not None:
                names.append(person.names[0])
                terms.extend(person.names)
        for topic in diff.topics:
            terms.extend(TOPICS[topic])
        paragraphs = tuple(
            tuple(marked(p, terms)) for p in texts[side.article_id].split("\n\n") if p.strip()
        )
        views.append(SideView(side, diff, tuple(names), paragraphs))
    return views[0], views[1]


def _day(side: Side) -> date | None:
    return side.published_at.date() if side.published_at is not None else None


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _date(side: Side) -> str:
    if side.published_at is not None:
        return fmt_time(side.published_at)
    return side.published_date.isoformat() if side.published_date else "undated"


def _label(pair: PairView) -> str:
    if pair.relation is Relation.TWIN:
        note = pair.evidence.get("one_sided")
        return "language twins" + (f" ({note})" if note else "")
    kind = pair.evidence.get("kind") or "readout"
    return f"{kind} readouts"


def _status(pair: PairView) -> str:
    return "" if pair.status.value == "found" else f" [{pair.status.value}]"


def text_lines(pairs: Sequence[PairView]) -> list[str]:
    """The pairs as plain text lines (page text cleaned)."""
    out: list[str] = []
    for p in pairs:
        out.append(f"#{p.id} {_label(p)}{_status(p)}")
        for side in (p.a, p.b):
            out.append(
                f"  {side.source} ({side.country or '—'}, {_date(side)}): {one_line(side.title)}"
            )
            out.append(f"    {one_line(side.url)}")
        shared = p.evidence.get("shared")
        if shared:
            out.append(f"  both name: {', '.join(shared)}")
    return out


def markdown_lines(pairs: Sequence[PairView]) -> list[str]:
    """The pairs as Markdown list items (page text escaped)."""
    out: list[str] = []
    for p in pairs:
        out.append(f"- **#{p.id} {md_escape(_label(p))}**{md_escape(_status(p))}")
        for side in (p.a, p.b):
            title = md_escape(one_line(side.title))
            href = safe_url(side.url)
            link = f"[{title}](<{quote(href, safe=_URL_SAFE)}>)" if href else title
            out.append(
                f"  - {md_escape(side.source)} ({md_escape(side.country or '—')}, "
                f"{md_escape(_date(side))}): {link}"
            )
        shared = p.evidence.get("shared")
        if shared:
            out.append(f"  - both name: {md_escape(', '.join(shared))}")
    return out


def json_list(pairs: Iterable[PairView]) -> list[dict[str, Any]]:
    """The pairs as JSON objects."""
    return [p.to_json() for p in pairs]


def window_note(since: datetime, until: datetime | None) -> str:
    """`2024-03-01 09:00 UTC → now` for headings."""
    return f"{fmt_time(since)} → {fmt_time(until) if until else 'now'}"
