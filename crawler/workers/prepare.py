"""A fetched article page to what storage records: the parsed article, its fingerprint, its packed
body, and (for a SQLite store) the search index input of its text and its packed text and HTML.

All three are CPU work on one page, with no I/O and no shared state: what `crawler.workers.pool` runs
in other processes so that parsing does not hold the core the event loop (fetching, storing)
runs on. Parsed in the crawler's own process, a page is not packed here: compressing and hashing
release the GIL, so storage packs it in the writer thread, beside the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from crawler.config import Source
from crawler.limits import cap_fields
from crawler.model import ListingItem, Page
from crawler.parse.article import parse_article
from storage import bodies
from storage.codecs import PackedBody, pack
from storage.model import Article, pickled_by_fields
from storage.normalize import article_fingerprint
from storage.search.forms import FtsForms, fts_forms


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Prepared:
    """An article page ready to store."""

    article: Article  # its url is the canonical URL
    digest: str  # normalize.article_fingerprint(article)
    packed: PackedBody | None  # codecs.pack(page.raw.body); None: storage packs it when writing
    capped: tuple[str, ...] = ()  # fields cut to their length cap (`crawler.limits`)
    fts: FtsForms | None = None  # search.forms.fts_forms(title, body); None: storage makes them
    version_body: bytes | None = None  # bodies.pack_body(text, html); None: storage packs them


def prepare_article(
    page: Page,
    source: Source,
    item: ListingItem | None,
    url: str,
    *,
    pack_body: bool = True,
    fts: bool = False,
) -> Prepared:
    """Parse `page` as an article whose canonical URL is `url`, fingerprint it, pack its raw body
    (unless `pack_body` is False), and, when `fts` is True, make the SQLite search index input of
    its title and body and pack its text and HTML as a SQLite store keeps them (a worker's job
    for a SQLite store: storage does both otherwise).

    A title or section over its length cap is cut (named in `Prepared.capped`; the caller logs it).
    Raises what `parse_article` raises (`SoftErrorPage`, `SelectorMatchedNothing`, ...).
    """
    article, capped = cap_fields(replace(parse_article(page, source, item), url=url))
    # Packing in-process is left to the writer thread (pack_body=False): zstd releases the GIL
    # there, so without parse workers the second core compresses while the event loop fetches.
    packed = pack(page.raw.body) if pack_body else None
    # The parser's body is in normal form already (its tests hold it to that): a second
    # normalizing pass would cost about a tenth of an article's CPU (docs/benchmarks.md).
    digest = article_fingerprint(article, normal_body=True)
    forms = fts_forms(article.title, article.body_text) if fts else None
    body = bodies.pack_body(article.body_text, article.body_html) if fts else None
    return Prepared(article, digest, packed, capped, forms, body)
