"""What a source's selectors extract from one page: the tool for writing and debugging a source.

`preview_page` runs the real listing and article parsers on a page (fetched live or read from a
saved file) and reports the items found, the first article's fields, and warnings a person can act
on: a selector that matched nothing (named), a date that did not parse, a body that looks like page
chrome. It never raises for a parse problem; problems become warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser

from crawler.config import Listing, Source
from crawler.errors import ParseError
from crawler.model import ListingItem, Page
from crawler.parse.article import parse_article
from crawler.parse.feed import parse_feed
from crawler.parse.listing import parse_listing
from crawler.parse.select import select
from storage.model import Article

# Phrases that, found in a short body, suggest the body selector caught navigation or tools.
CHROME_HINTS = (
    "suggest to a friend",
    "print",
    "copyright",
    "all rights reserved",
    "打印本页",
    "版权所有",
)
SHORT_BODY_CHARS = 200


@dataclass
class Preview:
    """What the selectors of a source found on one page."""

    items: list[ListingItem] = field(default_factory=list)
    article: Article | None = None
    warnings: list[str] = field(default_factory=list)


def _selector_warnings(page: Page, fields: dict[str, str | None], prefix: str) -> list[str]:
    tree = LexborHTMLParser(page.text)
    out = []
    for name, selector in fields.items():
        if not selector or selector == "text()":
            continue
        try:
            found = select(tree, selector, url=page.url, field=f"{prefix}.{name}")
        except ParseError as exc:
            out.append(str(exc.reason))
            continue
        if found is None:
            out.append(f"selector {prefix}.{name}={selector!r} matched nothing")
    return out


def preview_listing(page: Page, source: Source, listing: Listing) -> Preview:
    """Listing items found on `page` by the source's `list:` selectors (or its feed parser)."""
    result = Preview()
    try:
        parsed = (
            parse_feed(page, source, listing)
            if source.type == "feed"
            else parse_listing(page, source, listing)
        )
        result.items = list(parsed.items)
    except ParseError as exc:
        result.warnings.append(exc.reason)
    if source.type == "html" and source.list is not None and not result.items:
        for warning in _selector_warnings(page, {"item": source.list.item}, "list"):
            if warning not in result.warnings:  # the parser may have said the same already
                result.warnings.append(warning)
    undated = sum(1 for item in result.items if item.date is None)
    if result.items and source.list is not None and source.list.date and undated:
        result.warnings.append(
            f"{undated} of {len(result.items)} listing dates did not parse (list.date={source.list.date!r})"
        )
    return result


def preview_article(page: Page, source: Source, item: ListingItem | None = None) -> Preview:
    """The article the source's `article:` selectors (or generic extraction) get from `page`."""
    result = Preview()
    selectors = source.article
    if selectors is not None:
        result.warnings += _selector_warnings(
            page,
            {
                "title": selectors.title,
                "date": selectors.date,
                "body": selectors.body,
                "section": selectors.section,
            },
            "article",
        )
    try:
        result.article = parse_article(page, source, item)
    except ParseError as exc:
        result.warnings.append(exc.reason)
        return result
    art = result.article
    if art.date is None:
        result.warnings.append("no publication date found (page, listing or title)")
    body = art.body_text.strip()
    if not body:
        result.warnings.append("the body is empty")
    elif len(body) < SHORT_BODY_CHARS and any(h in body.lower() for h in CHROME_HINTS):
        result.warnings.append("the body looks like page chrome (short, with tool/footer words)")
    return result
