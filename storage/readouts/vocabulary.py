"""The words that make a release a readout, per event kind and language: one declared table.

Patterns are regular expressions over a text's folded words joined by spaces (`matching.words`:
search's folding, so lower case, no accents, apostrophes and hyphens as spaces; CJK runs kept
whole), so `Telefongespräch` is written `telefongesprach`, `s’est entretenu` `s est entretenu`
and `пресс-конференция` `пресс конференция`.
Kinds are tried in `ORDER`: a call's readout often mentions a coming meeting ("President Xi will
hold a virtual meeting"), and 電話会談 contains 会談, so the narrower kinds come first. Meeting and
talks are one kind: one side's 会谈 (talks) is the other side's "meeting".

`NOT_READOUT` are titles of releases that name officials and events without being a readout of
one (a spokesperson's regular press conference mentions every call of the week).
"""

from __future__ import annotations

import re
from enum import StrEnum


class EventKind(StrEnum):
    """What happened between the two sides."""

    CALL = "call"
    MEETING = "meeting"  # a meeting or talks, in person or by video
    MESSAGES = "messages"  # an exchange of messages, letters or telegrams
    PRESS = "press"  # a joint press availability or conference


_WORDS: dict[EventKind, dict[str, tuple[str, ...]]] = {
    EventKind.MESSAGES: {
        "en": (
            r"\bexchang\w* (of )?(congratulatory |new year )?(messages|letters|telegrams)\b",
            r"\bexchanged (congratulatory |new year )?(messages|letters|greetings)\b",
        ),
        "zh": (r"互致\w{0,4}(贺电|贺信|信函|电函|慰问电)", r"互通\w{0,4}(信函|贺电)"),
        "ru": (
            r"обменял\w* (поздравительными )?(послани|телеграмм)",
            r"обмен\w* (поздравительными |новогодними )?послани",
        ),
        "ja": (r"(メッセージ|書簡|祝電|親書)\w{0,3}交換",),
        "fr": (r"echange (de |des )?(messages|lettres)",),
        "de": (r"(botschaften|gluckwunschschreiben) ausgetauscht", r"austausch von botschaften"),
    },
    EventKind.PRESS: {
        "en": (
            r"\bjoint (press|news) (availability|conference|statements? to the press|briefing)\b",
        ),
        "zh": (r"共同会见记者", r"联合记者会", r"共见记者"),
        "ru": (r"совместн\w* пресс конференц", r"совместн\w* (заявлени\w* )?для (прессы|сми)"),
        "ja": (r"共同記者会見",),
        "fr": (r"conference de presse conjointe", r"point de presse conjoint"),
        "de": (r"gemeinsamen? pressekonferenz", r"pressebegegnung"),
    },
    EventKind.CALL: {
        "en": (
            r"\b(phone|telephone|video) (calls?|conversations?|talks?)\b",
            r"\bon the (tele)?phone\b",
            r"\b(speaks?|spoke|talks?|talked) (by|over the) (tele)?phone\b",
            r"\bcall with\b",
            r"\bspoke (today |yesterday |again )?with\b",
        ),
        "zh": (r"通电话", r"通话", r"电话会谈", r"视频通话"),
        "ru": (r"телефонн\w* разговор", r"по телефону", r"телефонн\w* переговор"),
        "ja": (r"電話会談", r"テレビ会談"),
        "fr": (
            r"entretien telephonique",
            r"entretenu\w*( \w+){0,3} par telephone",
            r"(appel|echange) telephonique",
        ),
        "de": (r"telefonat", r"telefonier\w*", r"telefongesprach"),
    },
    EventKind.MEETING: {
        "en": (
            r"\b(met|meets?|meeting) with\b",
            r"\bmeets\b",
            r"\b(held|holds?|holding) talks\b",
            r"\btalks with\b",
            r"\bbilateral meeting\b",
        ),
        "zh": (r"会见", r"会谈", r"会晤", r"见面"),
        "ru": (r"переговор", r"встреч[аеиуй]", r"встретил"),
        "ja": (r"会談", r"会見", r"会合"),
        "fr": (r"s entret\w* avec", r"entretien avec", r"rencontre", r"recoit", r"a recu"),
        "de": (
            r"\btrifft\b",
            r"\btraf\b",
            r"treffen mit",
            r"gesprach mit",
            r"empfangt",
            r"empfing",
        ),
    },
}

ORDER: tuple[EventKind, ...] = (
    EventKind.MESSAGES,
    EventKind.PRESS,
    EventKind.CALL,
    EventKind.MEETING,
)

# One pattern per kind, every language at once: a release's language is not always declared
# right (a Chinese page quoting an English title), and the scripts do not overlap.
PATTERNS: dict[EventKind, re.Pattern[str]] = {
    kind: re.compile("|".join(p for pats in _WORDS[kind].values() for p in pats)) for kind in ORDER
}

# Words at least one of which every pattern of a kind contains: a text with none of them is not
# searched with the kind's patterns (most releases are no readouts, and a plain `in` test costs a
# fraction of a regular expression; a test checks every pattern has one).
ANCHORS: dict[EventKind, tuple[str, ...]] = {
    EventKind.MESSAGES: ("exchang", "互致", "互通", "обмен", "交換", "echange", "ausgetauscht", "austausch"),
    EventKind.PRESS: (
        "joint", "共同会见记者", "联合记者会", "共见记者", "совместн", "共同記者会見", "conjoint",
        "pressekonferenz", "pressebegegnung",
    ),
    EventKind.CALL: (
        "phone", "call", "spoke", "通电话", "通话", "电话会谈", "телефон", "電話会談", "テレビ会談",
        "telephon", "telefon", "video",
    ),
    EventKind.MEETING: (
        "met", "meet", "talks", "会见", "会谈", "会晤", "见面", "переговор", "встре", "会談", "会見",
        "会合", "entret", "rencontre", "recoit", "a recu", "trifft", "traf", "treffen", "gesprach",
        "empf",
    ),
}  # fmt: skip


def first_kind(folded: str) -> EventKind | None:
    """The first kind of `ORDER` whose words `folded` (a `matching.words` text) has."""
    for kind in ORDER:
        if any(anchor in folded for anchor in ANCHORS[kind]) and PATTERNS[kind].search(folded):
            return kind
    return None


NOT_READOUT = re.compile(
    r"regular press conference|press briefing|daily briefing|remarks to the press"
    r"|例行记者会|答记者问|记者会|брифинг|ответы на вопросы|定例記者会見|記者会見"
    r"|conference de presse|point de presse|regierungspressekonferenz"
)


def languages() -> tuple[str, ...]:
    """The languages the table covers (for the docs and a test that each kind covers each)."""
    return tuple(sorted({lang for table in _WORDS.values() for lang in table}))


def patterns_of(kind: EventKind) -> tuple[str, ...]:
    """Every pattern of a kind, all languages (for the anchor test)."""
    return tuple(p for pats in _WORDS[kind].values() for p in pats)


def kinds_for(language: str) -> tuple[EventKind, ...]:
    """The kinds with words in `language`."""
    return tuple(k for k in ORDER if language in _WORDS[k])
