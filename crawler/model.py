"""Values passed between crawl steps: a fetched page and a listing item.

The article model itself lives in `storage.model`, which every package shares.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.model import ArticleDate, RawResponse, pickled_by_fields


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Page:
    """A fetched response with its text decoded.

    `charset_rule` says which rule chose the encoding: `header`, `bom`, `meta` or `detected`;
    it is empty (and so are `text` and `charset`) on a page fetched undecoded, which
    `fetch.with_text` decodes.
    `not_modified` is True for a 304 answer to a conditional GET (then `text` is empty).
    """

    raw: RawResponse
    text: str
    charset: str
    charset_rule: str
    not_modified: bool = False

    @property
    def url(self) -> str:
        return self.raw.final_url

    @property
    def status(self) -> int:
        return self.raw.status


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ListingItem:
    """One link found on a listing page or feed."""

    url: str  # absolute, as found (not yet canonical)
    title: str
    date: ArticleDate | None = None
    section: str | None = None
    listing_url: str = ""
    # For feed items without article selectors: the item's own content is the body.
    feed_body_html: str | None = None
    guid: str | None = None
    updated: str | None = None  # the feed entry's <updated> (a modification marker), as written


@dataclass(frozen=True, slots=True)
class ListingPage:
    """What one listing page yielded: its items and the next page to read, if any."""

    items: tuple[ListingItem, ...]
    next_url: str | None = None
