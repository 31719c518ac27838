"""A listing page to `ListingItem`s through the source's `list:` selectors, plus pagination.

Selectors are relative to each `item`; `selector@attr` reads an attribute (e.g.
`time.public_timestamp@datetime`), and `date: text()` reads the item's own text outside its
children (fmprc Chinese: `<li><a …>title</a>(2020-07-03)</li>`). An item's date comes from its date
selector (`listing`), else from a date written in its title (`title`). Links are made absolute
against the page's final URL; `javascript:`/`mailto:` links and items without a link are skipped;
a link that cannot be resolved (`//[::1/`) is kept as written, for the crawl to skip and count.

Pagination is either a next-link selector (`paginate.next`, read here into `next_url`) or a URL
template (`paginate.template`, expanded by `page_urls`), cut short by the fmprc pager script's
`var countPage = N` when the page has one (`page_count`).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.config import Listing, Source
from crawler.errors import SelectorMatchedNothing
from crawler.model import ListingItem, ListingPage, Page
from crawler.parse import soft_errors
from crawler.parse.dates import find_date, parse_date
from crawler.parse.links import Resolver, is_http
from crawler.parse.select import (
    OWN_TEXT,
    node_value,
    own_text,
    select,
    select_all,
    split_selector,
)
from crawler.parse.text import clean
from storage.model import ArticleDate, DateSource

# `\bvar`, written so that the pattern starts with the literal `var` (found by a fast scan; a
# leading `\b` makes the engine try the whole pattern at every character of the page).
_COUNT_PAGE = re.compile(r"var(?<=\bvar)\s+countPage\s*=\s*(\d+)")
_SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "#")


def languages_of(source: Source) -> tuple[str, ...]:
    """Languages to read dates in: the source's primary language subtag (English is implied)."""
    return (source.language.split("-")[0].lower(),)


def page_count(page: Page) -> int | None:
    """Pages in the listing per the fmprc pager script (`var countPage = 13`), or None."""
    m = _COUNT_PAGE.search(page.text)
    return int(m.group(1)) if m else None


def page_urls(listing: Listing, page_count: int | None = None) -> list[str]:
    """Template pagination URLs after the first page, relative to the listing URL.

    With `paginate: {template: "default_{n}.shtml", first: 1, max_pages: 13}` the 2nd page is
    `default_1.shtml`; at most `max_pages` pages in total (the first included), and no more than
    `page_count` when the first page announced its number of pages.
    """
    pag = listing.paginate
    if pag is None or pag.template is None:
        return []
    total = pag.max_pages if page_count is None else min(pag.max_pages, page_count)
    base = str(listing.url)
    return [
        urljoin(base, pag.template.replace("{n}", str(pag.first + k))) for k in range(total - 1)
    ]


def _link(
    item: LexborNode, selector: str, url: str, resolver: Resolver
) -> tuple[LexborNode | None, str | None]:
    node = select(item, selector, url=url, field="list.link")
    if node is None and item.tag == "a":
        node = item  # `item` selected the links themselves
    if node is None:
        return None, None
    _, attr = split_selector(selector)
    href = (node.attributes.get(attr or "href") or "").strip()
    if not href or href.lower().startswith(_SKIP_SCHEMES):
        return node, None
    try:
        absolute = resolver.resolve(href)
    except ValueError:  # `//[::1/`: kept as written; the crawl skips and counts it
        return node, href
    return node, absolute if is_http(absolute) else None


def parse_listing(page: Page, source: Source, listing: Listing) -> ListingPage:
    """The items (absolute URL, title, date, section) and next page of one listing page."""
    soft_errors.check(page)
    sel = source.list
    url = page.url
    if sel is None:
        raise SelectorMatchedNothing(url, "list", "(no list: selectors configured)")
    tree = LexborHTMLParser(page.text)
    nodes = select_all(tree, sel.item, url=url, field="list.item")
    if not nodes:
        raise SelectorMatchedNothing(url, "list.item", sel.item)
    zone = source.zone
    langs = languages_of(source)
    context = page.raw.fetched_at.astimezone(zone).date()
    resolver = Resolver(url)
    items: list[ListingItem] = []
    links_found = 0
    for node in nodes:
        link_node, href = _link(node, sel.link, url, resolver)
        if link_node is None:
            continue
        links_found += 1
        if href is None:
            continue
        title = ""
        if sel.title:
            title_node = select(node, sel.title, url=url, field="list.title")
            title = node_value(title_node, sel.title) if title_node is not None else ""
        if not title:
            title = clean(link_node.text(deep=True, separator=""))
        if not title:
            title = clean(link_node.attributes.get("title") or "")
        date: ArticleDate | None = None
        if sel.date == OWN_TEXT:
            date = parse_date(
                own_text(node), zone, DateSource.LISTING, languages=langs, context=context
            )
        elif sel.date:
            date_node = select(node, sel.date, url=url, field="list.date")
            if date_node is not None:
                text = node_value(date_node, sel.date)
                date = parse_date(text, zone, DateSource.LISTING, languages=langs, context=context)
        if date is None and title:
            date = find_date(title, zone, DateSource.TITLE, languages=langs)
        items.append(
            ListingItem(
                url=href,
                title=title,
                date=date,
                section=listing.section,
                listing_url=url,
            )
        )
    if links_found == 0:
        raise SelectorMatchedNothing(url, "list.link", sel.link)
    return ListingPage(items=tuple(items), next_url=_next_url(tree, page, listing))


def _next_url(tree: LexborHTMLParser, page: Page, listing: Listing) -> str | None:
    pag = listing.paginate
    if pag is None or pag.next is None:
        return None
    node = select(tree, pag.next, url=page.url, field="paginate.next")
    if node is None:
        return None
    if node.tag != "a" and node.attributes.get("href") is None:
        node = node.css_first("a[href]") or node
    _, attr = split_selector(pag.next)
    href = (node.attributes.get(attr or "href") or "").strip()
    if not href or href.lower().startswith(_SKIP_SCHEMES):
        return None
    try:
        nxt = urljoin(page.url, href)
    except ValueError:  # an unusable link (`http://[::1/`) ends the pagination
        return None
    return nxt if nxt != page.url else None
