"""The listing step: reading a source's listings, page after page, and what they show.

For each listing page: a conditional GET (the ETag is saved only once every article it listed
was stored), the items parsed (`crawler.parse`), the links that are not the source's articles
skipped, the sightings recorded with the page as evidence, and each unknown article handed to
the article step as an `ArticleJob`. Pagination goes on while every item on a page is new (a
burst of releases between two polls is never missed), within the run's bounds. A feed without
`article:` selectors is stored here, item by item: its items are the articles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from crawler.config import FetchMode, Listing, Source, host_matches
from crawler.context import (
    MISSING_STATUSES,
    ArticleJob,
    CrawlContext,
    SourceResult,
    count,
    feed_only,
    record_failure,
    tick,
)
from crawler.errors import FetchError, ParseError
from crawler.fetch import Validators
from crawler.limits import DeadlineReached, RunBudget, cap_fields, cap_text, warn_capped
from crawler.model import ListingItem, Page
from crawler.parse import soft_errors
from crawler.parse.feed import article_from_feed_item, parse_feed
from crawler.parse.links import link_problem
from crawler.parse.listing import page_count, page_urls, parse_listing
from crawler.urls import canonical_url
from storage import articles, http_validators, listings, versions
from storage.model import RawResponse

log = logging.getLogger(__name__)

MAX_SIGHTING_TITLE = 1000  # characters of a listing item's title kept with its sighting


# A listing's ETag/Last-Modified, kept only once every article it listed was stored: saved at
# fetch time, a crawl killed (or an article failing) half-way would leave the rest of the page
# behind a 304 on the next poll, and those releases would be missed.
ListingValidators = tuple[str, str | None, str | None]


def save_listing_validators(ctx: CrawlContext, pending: list[ListingValidators]) -> None:
    """Save the listings' ETag/Last-Modified kept by a run that stored everything they listed."""
    if not pending:
        return
    with ctx.db.session() as s:
        for url, etag, modified in pending:
            http_validators.set_validators(s, url, etag, modified)


async def read_listings(
    ctx: CrawlContext,
    source: Source,
    result: SourceResult,
    pending: list[ListingValidators],
    found: Callable[[ArticleJob], None],
    budget: RunBudget,
    *,
    full_walk: bool = False,
    known: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> set[str]:
    """Read every listing of `source`, handing each unknown article to `found` as it is seen;
    returns the URLs of those articles, as listed and canonical (they may be stored by now)."""
    jobs: dict[str, ArticleJob] = {}
    for listing in source.listings:
        try:
            await _read_listing(
                ctx,
                source,
                listing,
                jobs,
                found,
                result,
                pending,
                budget,
                full_walk=full_walk,
                known=known,
            )
        except (FetchError, ParseError) as exc:  # logged there; the other listings still run
            record_failure(result, exc, what="listing")
        except DeadlineReached:  # the listings not read yet wait for the next run
            result.deadline_reached = True
            break
    return {job.url for job in jobs.values()} | jobs.keys()


async def _read_listing(
    ctx: CrawlContext,
    source: Source,
    listing: Listing,
    jobs: dict[str, ArticleJob],
    found: Callable[[ArticleJob], None],
    result: SourceResult,
    pending: list[ListingValidators],
    budget: RunBudget,
    *,
    full_walk: bool = False,
    known: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> None:
    """Read one listing, page after page while every item is new (bounded by max_pages).

    With `full_walk` every page is read (no conditional GET, no stop at known items).

    Template pagination stops at the page count a page announces (fmprc's `countPage`), and a
    404 on a later page is the end of the listing, not an error.
    """
    templated = bool(listing.paginate and listing.paginate.template)
    max_pages = listing.paginate.max_pages if listing.paginate else 1
    template_urls: list[str] = []
    url: str | None = str(listing.url)
    pages_read = 0
    while url is not None and pages_read < max_pages:
        page = await budget.within(
            _fetch_listing_page(
                ctx,
                source,
                url,
                pending,
                first=pages_read == 0,
                conditional=not full_walk,
                known=known,
                mode=listing.fetch or source.fetch,
            )
        )
        pages_read += 1
        result.listings += 1
        tick(ctx, "listing")
        if page is None:  # 304 (nothing new here, so nothing new behind it) or past the end
            return
        parsed = (
            parse_feed(page, source, listing)
            if source.type == "feed"
            else parse_listing(page, source, listing)
        )
        parsed = replace(parsed, items=_admissible(source, url, parsed.items, result))
        result.items += len(parsed.items)
        all_new, taken = await _note_items(
            ctx, source, listing, parsed.items, jobs, found, result, budget, page.raw
        )
        if feed_only(source):
            _record_feed_items(ctx, source, page, taken, result)
        if not parsed.items or not (all_new or full_walk):
            return
        if templated:
            if pages_read == 1:
                template_urls = page_urls(listing, page_count(page))
            url = template_urls.pop(0) if template_urls else None
        else:
            url = parsed.next_url
            refusal = None if url is None else link_refusal(source.effective_article_hosts, url)
            if refusal is not None:
                log.warning(
                    "listing %s: next page %s not followed: %s",
                    page.url,
                    url,
                    refusal[1],
                    extra={"url": url, "source": source.key},
                )
                url = None


def link_refusal(hosts: tuple[str, ...], url: str) -> tuple[str, str] | None:
    """Why a listed link is not one of the source's articles, as (count, reason); None if it is.

    `bad_links`: no client can fetch it (`http://h:99999/`, `http://[::1/`); `offsite`: its host
    is not one of `hosts`, the source's `article_hosts`.
    """
    problem = link_problem(url)
    if problem is not None:
        return "bad_links", problem
    host = urlsplit(url).hostname or ""
    if not host_matches(host, hosts):
        return "offsite", f"off-site host {host} (not in article_hosts)"
    return None


def _admissible(
    source: Source, page_url: str, items: Sequence[ListingItem], result: SourceResult
) -> tuple[ListingItem, ...]:
    """The items whose link is one of the source's articles; the others are skipped (neither
    fetched nor stored) and counted in `result`."""
    keep: list[ListingItem] = []
    hosts = source.effective_article_hosts
    for item in items:
        refusal = link_refusal(hosts, item.url)
        if refusal is None:
            keep.append(item)
            continue
        count, reason = refusal
        setattr(result, count, getattr(result, count) + 1)
        log.log(
            logging.DEBUG if count == "offsite" else logging.WARNING,
            "listing %s: link %s skipped: %s",
            page_url,
            item.url,
            reason,
            extra={"url": item.url, "source": source.key},
        )
    return tuple(keep)


async def _fetch_listing_page(
    ctx: CrawlContext,
    source: Source,
    url: str,
    pending: list[ListingValidators],
    *,
    first: bool,
    conditional: bool = True,
    known: Mapping[str, tuple[str | None, str | None]] | None = None,
    mode: FetchMode | None = None,
) -> Page | None:
    """A listing page, or None for a 304 or for a later page that does not exist (404/410)."""
    etag = modified = None
    if conditional and known is not None and (first or url in known):
        etag, modified = known.get(url, (None, None))  # prefetched with the source's first pages
    elif conditional:
        with ctx.db.session(readonly=True) as s:
            etag, modified = http_validators.get_validators(s, url)
    page = await ctx.fetcher.fetch(
        url,
        source,
        validators=Validators(etag, modified) if etag or modified else None,
        mode=mode,
    )
    if page.not_modified or (not first and page.status in MISSING_STATUSES):
        return None
    if page.status >= 400:
        raise FetchError(url, f"HTTP {page.status} on a listing page")
    soft_errors.check(page)
    etag, modified = page.raw.header("etag"), page.raw.header("last-modified")
    if etag or modified:
        pending.append((url, etag, modified))
    return page


async def _note_items(
    ctx: CrawlContext,
    source: Source,
    listing: Listing,
    items: Iterable[ListingItem],
    jobs: dict[str, ArticleJob],
    found: Callable[[ArticleJob], None],
    result: SourceResult,
    budget: RunBudget,
    raw: RawResponse | None = None,
) -> tuple[bool, list[ListingItem]]:
    """Record sightings, hand unknown articles to `found`; returns whether every item on the page
    was new, and the items taken (for a feed-only source: those to store, within the run's
    cap of new articles).

    The listing response `raw` is kept as evidence when its bytes changed, and the sightings
    point at the kept response that showed them (`storage.listings`), in the same transaction.

    An article first seen earlier in this crawl counts as new even when it is stored by now (its
    job may have run meanwhile): a listing that shifted between two of its pages must not end
    the pagination early.

    At most `budget.max_items_per_page` items of the page are taken, the unknown ones first (so
    a page of 100,000 links is worked through over several runs), and at most the run's new-article
    allowance becomes jobs; the unknown items left are counted as deferred, and the pagination
    stops (the run is partial, so the next one walks every page again).
    """
    now = ctx.clock()
    items = list(items)
    canon = {item.url: canonical_url(item.url, source.host_map) for item in items}
    cap = budget.max_items_per_page

    def note(s: Session) -> tuple[set[str], list[ListingItem]]:
        kept = listings.keep_listing_response(s, source.key, raw)[0] if raw else None
        known = articles.known_urls(s, set(canon.values()))
        taken = items
        if len(items) > cap:
            unknown = [i for i in items if canon[i.url] not in known or canon[i.url] in jobs]
            taken = unknown[:cap]
            taken += [i for i in items if canon[i.url] in known][: cap - len(taken)]
        by_listing: dict[str, list[tuple[str, str]]] = {}
        for item in taken:
            by_listing.setdefault(item.listing_url or str(listing.url), []).append(
                (canon[item.url], cap_text(item.title, MAX_SIGHTING_TITLE))
            )
        for listing_url, seen in by_listing.items():
            articles.record_sightings(
                s, source=source.key, listing_url=listing_url, items=seen, seen_at=now
            )
            if kept is not None:
                listings.link_sightings(
                    s,
                    listing_url=listing_url,
                    article_urls=[url for url, _ in seen],
                    response_id=kept,
                    seen_at=now,
                )
        return known, taken

    assert ctx.writer is not None
    known, taken = await ctx.writer.submit(note)
    all_new = len(taken) == len(items)
    if not all_new:
        left = {canon[i.url] for i in items if canon[i.url] not in known} - {
            canon[i.url] for i in taken
        }
        budget.over_page_cap += len(items) - len(taken)
        result.deferred += len(left - jobs.keys())
    admitted: list[ListingItem] = []  # what a feed-only source stores from this page
    for item in taken:
        key = canon[item.url]
        if key in jobs:
            continue
        if key in known:
            all_new = False
        elif not budget.take_new():  # the rest of the new articles wait for the next run
            result.deferred += 1
            all_new = False
            continue
        elif not feed_only(source):
            job = jobs[key] = ArticleJob(url=item.url, key=key, item=item, known=False)
            found(job)
        admitted.append(item)
    return all_new, admitted


def _record_feed_items(
    ctx: CrawlContext,
    source: Source,
    page: Page,
    items: Sequence[ListingItem],
    result: SourceResult,
) -> None:
    """Store each feed item as an article, with the feed response as its evidence.

    Every item in the window is compared on every poll, so an edit shows as a new version; an item
    leaving the window is not a deletion (feeds move on by themselves).
    """
    now = ctx.clock()
    for item in items:
        key = canonical_url(item.url, source.host_map)
        article, capped = cap_fields(replace(article_from_feed_item(item, source), url=key))
        warn_capped(key, capped)
        with ctx.db.session() as s:
            outcome = versions.record_fetch(
                s,
                article,
                page.raw,
                now=now,
                next_check_at=now + timedelta(days=36500),  # never revisited on its own
                aliases=sorted({item.url} - {key}),
            )
        count(result, outcome)
