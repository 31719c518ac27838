"""Date text (page, listing, title, feed) to an `ArticleDate` in the source's own time zone.

Every format the ministries use is one family of a single combined regular expression, tried in
one pass (the earliest date in the text wins):

    iso       2021-11-13 14:12 · (2020-07-03) · 2016-11-04T10:27:27+00:00 · 2020/07/03
    cjk       2020年7月3日 · 2020年7月3日 14:12
    era       令和2年7月3日 · 令和7年1月10日(金曜日)10時30分  (Japanese era years)
    dotted    03.07.2020 · 28.08.2025 · 3.7.2020 14:30  (day first: Russian, German)
    day-name  3 July 2020 · 3 июля 2020 г. · 1er juillet 2020 · 3. Juli 2020 · Wed, 03 Aug 2022 16:21:35 +0000
    name-day  July 3, 2020 · Friday, May 29, 2020, 11:05 a.m.
    yearless  July 7 · 7 July · 7月7日  (only with a `context` date: the year is inferred from it)

A time makes the date minute-precise (`published_at`, tz-aware, in the source zone); an explicit
offset is honoured and converted to the source zone, so a UTC feed timestamp can fall on the
previous local calendar day. Without a time the date has day precision. Only `parse_date` falls
back to dateparser (with the source's languages), for texts none of the families match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from storage.model import ArticleDate, DatePrecision, DateSource

# Month names per language, lower case; accent-less spellings included because CMSs drop accents.
MONTHS: dict[str, dict[str, int]] = {
    "en": {
        "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
        "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
        "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
        "nov": 11, "december": 12, "dec": 12,
    },
    "ru": {
        "января": 1, "январь": 1, "янв": 1, "февраля": 2, "февраль": 2, "фев": 2, "марта": 3,
        "март": 3, "мар": 3, "апреля": 4, "апрель": 4, "апр": 4, "мая": 5, "май": 5,
        "июня": 6, "июнь": 6, "июн": 6, "июля": 7, "июль": 7, "июл": 7, "августа": 8,
        "август": 8, "авг": 8, "сентября": 9, "сентябрь": 9, "сент": 9, "сен": 9,
        "октября": 10, "октябрь": 10, "окт": 10, "ноября": 11, "ноябрь": 11, "ноя": 11,
        "декабря": 12, "декабрь": 12, "дек": 12,
    },
    "fr": {
        "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "mars": 3,
        "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "août": 8,
        "aout": 8, "septembre": 9, "sept": 9, "octobre": 10, "oct": 10, "novembre": 11,
        "nov": 11, "décembre": 12, "decembre": 12, "déc": 12, "dec": 12,
    },
    "de": {
        "januar": 1, "jänner": 1, "jan": 1, "februar": 2, "feb": 2, "märz": 3, "maerz": 3,
        "april": 4, "apr": 4, "mai": 5, "juni": 6, "juli": 7, "august": 8, "aug": 8,
        "september": 9, "sept": 9, "sep": 9, "oktober": 10, "okt": 10, "november": 11,
        "nov": 11, "dezember": 12, "dez": 12,
    },
}  # fmt: skip

# Japanese era name -> the Gregorian year before its year 1 (令和2年 = 2018 + 2 = 2020).
ERAS: dict[str, int] = {"明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018}

# Zone abbreviations accepted after a time; only unambiguous ones (CST and IST are not).
ZONE_NAMES: dict[str, int] = {
    "z": 0, "ut": 0, "utc": 0, "gmt": 0, "est": -300, "edt": -240, "pst": -480, "pdt": -420,
    "msk": 180, "jst": 540, "cet": 60, "cest": 120, "bst": 60,
}  # fmt: skip

# A year-less date later than the context by more than this is taken to be last year's: a
# December item seen in January. A few days of slack allow for zones and scheduled items.
YEARLESS_FUTURE_SLACK = timedelta(days=7)

# `parse_date` hands texts no family matched to dateparser only when they are this short (a date
# element); long texts are titles or prose, where a fuzzy parser guesses more than it finds.
FALLBACK_MAX_CHARS = 80


_DIGITS = re.compile(r"\d+")
_ERA_START = re.compile("|".join(ERAS))


def _month_before(text: str, pos: int) -> int:
    """Start of the word just before `pos` (`July 3`, `Sept. 3`), or -1 when there is none."""
    j = pos - 1
    while j >= 0 and text[j] in " .\u00a0":
        j -= 1
    k = j
    while k >= 0 and text[k].isalpha():
        k -= 1
    return k + 1 if k < j else -1


def _time(p: str) -> str:
    """The optional time tail after a date, with group names prefixed by `p`."""
    return (
        rf"(?:\s*(?:,|at|à|um|в|-|–|T)?\s*(?P<{p}H>\d{{1,2}})[:h](?P<{p}M>\d{{2}})(?!\d)"
        rf"(?::(?P<{p}S>\d{{2}})(?:[.,]\d+)?)?"
        rf"(?:\s*(?P<{p}ap>[ap])\.?\s?m\b\.?)?"
        rf"(?:\s*(?P<{p}tz>[+-]\d{{2}}:?\d{{2}}\b|(?:{'|'.join(ZONE_NAMES)})\b))?)?"
    )


def _cjk_time(p: str) -> str:
    """The optional time tail after a CJK date: weekday in parentheses, then `10時30分` or `14:12`."""
    return (
        r"(?:\s*\([^)\d]{1,8}\))?"
        rf"(?:\s*(?P<{p}H>\d{{1,2}})\s*[:時时点]\s*(?P<{p}M>\d{{1,2}})\s*分?)?"
    )


@lru_cache(maxsize=64)
def _pattern(langs: frozenset[str], yearless: bool) -> re.Pattern[str]:
    names = _names(langs)
    month = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    branches = [
        rf"(?P<iso>(?<!\d)(?P<iy>\d{{4}})(?P<isep>[-/.])(?P<im>\d{{1,2}})(?P=isep)(?P<id>\d{{1,2}})(?!\d){_time('i')})",
        rf"(?P<era>(?P<ee>{'|'.join(ERAS)})\s*(?P<ey>\d{{1,2}}|元)\s*年\s*(?P<em>\d{{1,2}})\s*月\s*(?P<ed>\d{{1,2}})\s*日{_cjk_time('e')})",
        rf"(?P<cjk>(?<!\d)(?P<cy>\d{{4}})\s*年\s*(?P<cm>\d{{1,2}})\s*月\s*(?P<cd>\d{{1,2}})\s*日{_cjk_time('c')})",
        rf"(?P<dot>(?<![\d.])(?P<dd>\d{{1,2}})\.\s?(?P<dm>\d{{1,2}})\.\s?(?P<dy>\d{{4}})(?!\d){_time('d')})",
        rf"(?P<dn>(?<!\d)(?P<nd>\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s*(?:de\s+)?(?P<nm>{month})\b\.?,?\s+(?P<ny>\d{{4}})(?!\d)(?:\s*(?:г\.|года|г\b))?{_time('n')})",
        rf"(?P<nd_>\b(?P<Mm>{month})\b\.?\s*(?P<Md>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<My>\d{{4}})(?!\d){_time('M')})",
    ]
    if yearless:
        branches += [
            rf"(?P<yl>(?<!\d)(?P<yd>\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s*(?P<ym>{month})\b)",
            rf"(?P<ly>\b(?P<Ym>{month})\b\.?\s*(?P<Yd>\d{{1,2}})(?!\d))",
            r"(?P<jyl>(?<!\d)(?P<jm>\d{1,2})月(?P<jd>\d{1,2})日)",
        ]
    return re.compile("|".join(branches), re.IGNORECASE)


def _norm_langs(languages: Sequence[str]) -> frozenset[str]:
    # BCP 47 tags to primary subtags; English month names are always understood.
    return frozenset({"en", *(lang.split("-")[0].split("_")[0].lower() for lang in languages)})


@lru_cache(maxsize=256)  # a feed or listing repeats the same few offsets; timezones are immutable
def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    low = text.lower()
    if low in ZONE_NAMES:
        return timezone(timedelta(minutes=ZONE_NAMES[low]))
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _make(
    y: int,
    mo: int,
    d: int,
    hour: str | None,
    minute: str | None,
    second: str | None,
    ampm: str | None,
    tz: str | None,
    zone: ZoneInfo,
    source: DateSource,
) -> ArticleDate | None:
    """Build the ArticleDate, or None when the numbers are not a real date."""
    if not 1900 <= y <= 2200:
        return None
    try:
        day = date(y, mo, d)
    except ValueError:
        return None
    if hour is None or minute is None:
        return ArticleDate(day, DatePrecision.DAY, source)
    h, m, s = int(hour), int(minute), int(second or 0)
    if ampm:
        if h > 12:
            return ArticleDate(day, DatePrecision.DAY, source)
        h = h % 12 + (12 if ampm.lower() == "p" else 0)
    if h > 23 or m > 59 or s > 59:
        # A clock-like number that is not a time: keep the (valid) day.
        return ArticleDate(day, DatePrecision.DAY, source)
    offset = _offset(tz)
    if offset is not None:
        at = datetime(y, mo, d, h, m, s, tzinfo=offset).astimezone(zone)
    else:
        at = datetime(y, mo, d, h, m, s, tzinfo=zone)
    return ArticleDate(at.date(), DatePrecision.MINUTE, source, at)


def _yearless(mo: int, d: int, context: date, source: DateSource) -> ArticleDate | None:
    for year in (context.year, context.year - 1):
        try:
            day = date(year, mo, d)
        except ValueError:  # 29 February of a non-leap year
            continue
        if day <= context + YEARLESS_FUTURE_SLACK:
            return ArticleDate(day, DatePrecision.DAY, source)
    return None


def _from_match(
    m: re.Match[str], names: dict[str, int], zone: ZoneInfo, src: DateSource, ctx: date | None
) -> ArticleDate | None:
    g = m.group
    # The branch's own group closes last, so `lastgroup` names the family that matched.
    family = m.lastgroup
    if family == "iso":
        return _make(int(g("iy")), int(g("im")), int(g("id")), g("iH"), g("iM"), g("iS"), g("iap"), g("itz"), zone, src)  # fmt: skip
    if family == "era":
        n = g("ey")
        year = ERAS[g("ee")] + (1 if n == "元" else int(n))
        return _make(year, int(g("em")), int(g("ed")), g("eH"), g("eM"), None, None, None, zone, src)  # fmt: skip
    if family == "cjk":
        return _make(int(g("cy")), int(g("cm")), int(g("cd")), g("cH"), g("cM"), None, None, None, zone, src)  # fmt: skip
    if family == "dot":
        return _make(int(g("dy")), int(g("dm")), int(g("dd")), g("dH"), g("dM"), g("dS"), g("dap"), g("dtz"), zone, src)  # fmt: skip
    if family == "dn":
        mo = names[g("nm").lower()]
        return _make(int(g("ny")), mo, int(g("nd")), g("nH"), g("nM"), g("nS"), g("nap"), g("ntz"), zone, src)  # fmt: skip
    if family == "nd_":
        mo = names[g("Mm").lower()]
        return _make(int(g("My")), mo, int(g("Md")), g("MH"), g("MM"), g("MS"), g("Map"), g("Mtz"), zone, src)  # fmt: skip
    if ctx is None:
        return None
    if family == "yl":
        return _yearless(names[g("ym").lower()], int(g("yd")), ctx, src)
    if family == "ly":
        return _yearless(names[g("Ym").lower()], int(g("Yd")), ctx, src)
    return _yearless(int(g("jm")), int(g("jd")), ctx, src)


@lru_cache(maxsize=128)
def _compiled(languages: tuple[str, ...], yearless: bool) -> tuple[dict[str, int], re.Pattern[str]]:
    """Month names and the combined pattern for these languages (cached per call signature)."""
    langs = _norm_langs(languages)
    return _names(langs), _pattern(langs, yearless)


@lru_cache(maxsize=64)
def _names(langs: frozenset[str]) -> dict[str, int]:
    names: dict[str, int] = {}
    for lang in sorted(langs):
        names.update(MONTHS.get(lang, {}))
    return names


def find_date(
    text: str,
    zone: ZoneInfo,
    source: DateSource,
    *,
    languages: Sequence[str] = ("en",),
    context: date | None = None,
) -> ArticleDate | None:
    """The first date written inside `text` (a title, a dateline, a date element), or None.

    Args:
        context: the day the text was seen (in the source zone); enables year-less dates such as
            `July 7`, which are resolved to the latest such day not after it.
    """
    if not text:
        return None
    if not text.isascii():
        # Full-width digits, colons and parentheses (２０２０年７月３日（金）) become ASCII.
        text = unicodedata.normalize("NFKC", text)
    names, pattern = _compiled(tuple(languages), context is not None)
    # Every date starts at a digit run, a month name or an era name. Trying the combined pattern
    # only there (`match` at a position) skips the characters `finditer` would try one by one.
    if "年" in text and _ERA_START.search(text):
        return _first_at(sorted(set(_starts(text, names)) | {m.start() for m in _ERA_START.finditer(text)}), text, pattern, names, zone, source, context)  # fmt: skip
    return _first_at(_starts(text, names), text, pattern, names, zone, source, context)


def _starts(text: str, names: dict[str, int]) -> Iterator[int]:
    """Digit-run starts, each preceded by the start of a month name just before it (ascending)."""
    for digits in _DIGITS.finditer(text):
        start = digits.start()
        word = _month_before(text, start)
        if word >= 0 and text[word:start].rstrip(" .,").lower() in names:
            yield word
        yield start


def _first_at(
    starts: Iterable[int],
    text: str,
    pattern: re.Pattern[str],
    names: dict[str, int],
    zone: ZoneInfo,
    source: DateSource,
    context: date | None,
) -> ArticleDate | None:
    for pos in starts:
        m = pattern.match(text, pos)
        if m is not None:
            found = _from_match(m, names, zone, source, context)
            if found is not None:
                return found
    return None


def parse_date(
    text: str,
    zone: ZoneInfo,
    source: DateSource,
    *,
    languages: Sequence[str] = ("en",),
    context: date | None = None,
) -> ArticleDate | None:
    """A date element's text to an ArticleDate: the fast families first, then dateparser, else None."""
    found = find_date(text, zone, source, languages=languages, context=context)
    if found is not None or not text:
        return found
    text = text.strip()
    if not text or len(text) > FALLBACK_MAX_CHARS or not any(c.isdigit() for c in text):
        return None
    return _dateparser(text, zone, source, tuple(sorted(_norm_langs(languages))))


@lru_cache(maxsize=16)
def _date_data_parser(languages: tuple[str, ...]) -> Any:
    from dateparser.date import DateDataParser  # slow import; only the fallback needs it
    from dateparser.languages.loader import default_loader

    known = set(default_loader.get_locale_map())
    langs = [lang for lang in languages if lang in known] or ["en"]
    return DateDataParser(
        languages=langs,
        settings={
            "RETURN_TIME_AS_PERIOD": True,
            "PREFER_DATES_FROM": "past",
            "REQUIRE_PARTS": ["day", "month", "year"],
        },
    )


def _dateparser(
    text: str, zone: ZoneInfo, source: DateSource, languages: tuple[str, ...]
) -> ArticleDate | None:
    try:
        data = _date_data_parser(languages).get_date_data(text)
    except (ValueError, TypeError, OverflowError):
        return None
    value = data.date_obj
    if value is None:
        return None
    if data.period != "time":
        return ArticleDate(value.date(), DatePrecision.DAY, source)
    at = value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
    at = at.replace(microsecond=0)
    return ArticleDate(at.date(), DatePrecision.MINUTE, source, at)
