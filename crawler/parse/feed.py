"""An RSS 2.0 / Atom listing to `ListingItem`s through feedparser, fed the bytes our client fetched.

Each item gives link, guid, title, a minute-precise date (`feed`; the feed's offset converted to
the source zone, so a UTC pubDate can fall on the previous local day) and `feed_body_html`: the
item's `content:encoded` / Atom content, else its summary, sanitized by the same walker as
article bodies (state.gov's jQuery `<script>` blocks go with it) and without the leading byline
paragraph that repeats the item's author. A feed is a moving window: an item that leaves it is
not deleted, which is the pipeline's business; this module only reads what is there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from crawler.config import Listing, Source
from crawler.errors import ParseError
from crawler.model import ListingItem, ListingPage, Page
from crawler.parse import soft_errors
from crawler.parse.body import Body, extract_body
from crawler.parse.dates import parse_date
from crawler.parse.links import link_problem
from crawler.parse.listing import languages_of
from crawler.parse.markers import feed_markers
from crawler.parse.text import clean
from storage.model import Article, ArticleDate, DatePrecision, DateSource


def _entry_date(entry: Any, source: Source) -> ArticleDate | None:
    zone = source.zone
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if raw:
            found = parse_date(raw, zone, DateSource.FEED, languages=languages_of(source))
            if found is not None:
                return found
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            # feedparser normalizes these to UTC.
            y, mo, d, h, mi, sec = parsed[:6]
            at = datetime(y, mo, d, h, mi, sec, tzinfo=UTC).astimezone(zone)
            return ArticleDate(at.date(), DatePrecision.MINUTE, DateSource.FEED, at)
    return None


def _entry_title(entry: Any) -> str:
    title = entry.get("title") or ""
    detail = entry.get("title_detail") or {}
    if "html" in (detail.get("type") or ""):
        title = LexborHTMLParser(f"<p>{title}</p>").text(deep=True)
    return clean(title)


def _entry_html(entry: Any) -> str | None:
    for content in entry.get("content") or ():
        value = content.get("value")
        if value and value.strip():
            return str(value)
    summary = entry.get("summary")
    return str(summary) if summary and summary.strip() else None


def _entry_updated(entry: Any) -> str | None:
    """The entry's own modification date (Atom `<updated>`, RSS `<atom:updated>`), as written.

    Read past feedparser's deprecated fallback from `updated` to `published` (an RSS item's
    `pubDate` is no modification marker); equal to `published`, it says nothing more either.
    """
    value = dict.get(entry, "updated")
    if not value or value == dict.get(entry, "published"):
        return None
    return str(value).strip() or None


def _entry_body(html: str, base_url: str, author: str | None) -> Body:
    tree = LexborHTMLParser(html)
    root = tree.body
    if root is None:
        return Body((), "")
    if author:
        # state.gov starts content:encoded with the byline ("Office of the Spokesperson"),
        # which is the item's dc:creator and not body text.
        byline = clean(author).casefold()
        for p in root.css("p"):
            text = clean(p.text(deep=True, separator=""))
            if text:
                if text.casefold() == byline:
                    p.decompose()
                break
    return extract_body([root], base_url)


def parse_feed(page: Page, source: Source, listing: Listing) -> ListingPage:
    """The items of one RSS/Atom document (feeds have no next page)."""
    soft_errors.check(page)
    url = page.url
    import feedparser  # only feed sources need it: an html crawl does not import it

    parsed = feedparser.parse(
        page.raw.body,
        response_headers={
            "content-location": url,
            "content-type": page.raw.header("content-type") or "application/xml",
        },
        sanitize_html=False,  # body.extract_body sanitizes; feedparser's pass would be a second one
    )
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        detail = f": {problem}" if problem else ""
        raise ParseError(url, f"not an RSS or Atom feed{detail}")
    items: list[ListingItem] = []
    for entry in parsed.entries:
        guid = entry.get("id") or None
        link = entry.get("link") or ""
        if not link and guid and guid.strip().lower().startswith(("http://", "https://")):
            link = guid
        if not link:
            continue
        try:
            link = urljoin(url, link.strip())
        except ValueError:  # `http://[::1/`: kept as written; the crawl skips and counts it
            link = link.strip()
        html = _entry_html(entry) if link_problem(link) is None else None
        body_html = _entry_body(html, link, entry.get("author")).html if html else None
        items.append(
            ListingItem(
                url=link,
                title=_entry_title(entry),
                date=_entry_date(entry, source),
                section=listing.section,
                listing_url=url,
                feed_body_html=body_html or None,
                guid=guid,
                updated=_entry_updated(entry),
            )
        )
    return ListingPage(items=tuple(items), next_url=None)


def article_from_feed_item(item: ListingItem, source: Source) -> Article:
    """An `Article` from a feed item whose content is the body (sources without `article:`)."""
    body = Body((), "")
    if item.feed_body_html:
        root = LexborHTMLParser(item.feed_body_html).body
        if root is not None:
            body = extract_body([root], item.url)
    return Article(
        source=source.key,
        url=item.url,
        title=item.title,
        body_text=body.text,
        body_html=body.html,
        date=item.date,
        section=item.section,
        language=source.language,
        markers=feed_markers(item.updated),
    )
