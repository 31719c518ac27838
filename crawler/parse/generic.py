"""Generic extraction for sources without article body selectors: trafilatura, then fallback tables.

trafilatura finds the main content and the title (and, through htmldate, a date guess); its HTML
output goes through the same paragraph walker and sanitizer as selector-based bodies, so both
paths give the same kind of `body_text` and `body_html`. When trafilatura finds nothing, the
`BODY_SELECTORS` table is tried in order. Dates come from the `DATE_SELECTORS` table first (page
markup the ministries are known to use), and htmldate's guess is only a last resort: on the real
fmprc pages it picks a date out of the related-news box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser

from crawler.parse.body import Body, extract_body
from crawler.parse.dates import parse_date
from crawler.parse.select import select_value
from crawler.parse.text import clean
from storage.model import ArticleDate, DateSource

# Where the main text is, most specific first, when trafilatura finds nothing.
BODY_SELECTORS: tuple[str, ...] = (
    "#News_Body_Txt_A",  # fmprc Chinese template
    "div.content_mod div.content",  # fmprc English 2018-2021 template
    "div.TRS_UEDITOR",  # fmprc 2022+ templates
    "div.content_text",
    "#printBody",
    "div.entry-content",  # state.gov (WordPress)
    "div.govspeak",  # gov.uk
    "div.text.article-content",  # mid.ru
    "div#maincontents",  # mofa.go.jp
    "article",
    "main",
)
# Minimum characters of text for a fallback body candidate to count.
MIN_BODY_CHARS = 80

# Titles, most specific first (the page <title> often carries a site suffix).
TITLE_SELECTORS: tuple[str, ...] = (
    "#News_Body_Title",
    "div.content_mod h2.title",
    "h1.featured-content__headline",
    "h1.gem-c-title__text",
    "h1.photo-content__title",
    'meta[property="og:title"]@content',
    "h1",
    "title",
)

# Dates in page markup, most trustworthy first; read with the source's time zone.
DATE_SELECTORS: tuple[str, ...] = (
    "#News_Body_Time",
    'meta[name="PubDate"]@content',
    'meta[property="article:published_time"]@content',
    'meta[name="dcterms.date"]@content',
    'meta[itemprop="datePublished"]@content',
    "p.article-meta__publish-date",
    "time[datetime]@datetime",
)


@dataclass(frozen=True, slots=True)
class Generic:
    """What generic extraction found; any part may be missing."""

    title: str
    body: Body | None
    date: ArticleDate | None  # from DATE_SELECTORS (source PAGE)
    guessed_date: ArticleDate | None  # htmldate's guess via trafilatura (source PAGE)


def _trafilatura(html: str, url: str) -> str | None:
    import trafilatura  # slow import; only sources without body selectors need it

    result: Any = trafilatura.extract(
        html,
        url=url,
        output_format="html",
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=True,
        deduplicate=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    return result if isinstance(result, str) else None


def extract_generic(
    tree: LexborHTMLParser,
    url: str,
    zone: ZoneInfo,
    *,
    languages: Sequence[str] = ("en",),
    want_body: bool = True,
) -> Generic:
    """Title, body and date of an article page without selectors (chrome should be removed first)."""
    title = ""
    date: ArticleDate | None = None
    for sel in DATE_SELECTORS:
        value = select_value(tree, sel, url=url, field="generic.date")
        if value:
            date = parse_date(value, zone, DateSource.PAGE, languages=languages)
            if date is not None:
                break
    body: Body | None = None
    guessed: ArticleDate | None = None
    extracted = _trafilatura(tree.html or "", url) if want_body else None
    if extracted:
        out = LexborHTMLParser(extracted)
        title = select_value(out, 'meta[name="title"]@content', url=url, field="generic") or ""
        when = select_value(out, 'meta[name="date"]@content', url=url, field="generic")
        if when:
            guessed = parse_date(when, zone, DateSource.PAGE, languages=languages)
        if out.body is not None:
            found = extract_body([out.body], url)
            if found.paragraphs:
                body = found
    if want_body and body is None:
        body = _fallback_body(tree, url)
    if not title:
        for sel in TITLE_SELECTORS:
            title = select_value(tree, sel, url=url, field="generic.title") or ""
            if title:
                break
    return Generic(clean(title), body, date, guessed)


def _fallback_body(tree: LexborHTMLParser, url: str) -> Body | None:
    for sel in BODY_SELECTORS:
        node = tree.css_first(sel)
        if node is not None and len(clean(node.text(deep=True))) >= MIN_BODY_CHARS:
            return extract_body([node], url)
    return None
