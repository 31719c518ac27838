"""Pairing after a crawl: readout pairs of the articles a crawl stored, for the daemon and
`crawl --once` alike.

At most `PER_CRAWL` articles are paired after one crawl; the rest (a first crawl's backlog) by
the next crawls, oldest first. The officials table is read once per process (`officials.yaml` beside the sources file, or the
file its `officials:` key names). Without one there is no pairing (said once, at info level);
an invalid one is logged once as an error with every problem, and crawling goes on without
pairing (`mfawatch sources check` reports it with exit 2). A failure of pairing itself is logged
and never fails the crawl: the articles are stored, and the next update reads them again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from crawler.errors import ConfigError
from mfawatch.settings.models import Settings
from mfawatch.settings.officials import load_officials, officials_path
from storage.engine import Database
from storage.readouts.officials import Officials
from storage.readouts.update import PairingResult, pair_new

log = logging.getLogger("mfawatch.pairing")
# Articles a crawl pairs at its end, at most. A poll stores a few new articles, paired at once;
# a first crawl's backlog of thousands is paired this many at a time by the following crawls
# (or at once by `mfawatch pairs update`), so it never adds seconds to the crawl that stored it.
PER_CRAWL = 500


def read_officials(config_path: Path, settings: Settings | None) -> Officials | None:
    """The officials table for `settings`, or None (logged) when there is none or it is invalid."""
    named = settings.officials if settings is not None else None
    path = officials_path(config_path, named)
    if named is None and not path.is_file():
        log.info("no officials table at %s: readout pairs are not computed", path)
        return None
    try:
        return load_officials(path)
    except ConfigError as exc:
        log.error("officials table not read, readout pairs are not computed: %s", exc)
        return None


def pair_stored(
    db: Database,
    officials: Officials | None,
    settings: Settings | None = None,
    *,
    at: datetime | None = None,
) -> PairingResult | None:
    """Pair the articles stored since the last update (readouts, and language twins of the
    sources `settings` declares); None when there is no officials table or pairing failed."""
    if officials is None:
        return None
    twins = settings.twins() if settings is not None else {}
    try:
        result = pair_new(db, officials, at or datetime.now(UTC), twins=twins, limit=PER_CRAWL)
    except Exception:  # never fail a crawl: what is stored stays, the next update retries
        log.exception("pairing the new articles failed; the next crawl tries again")
        return None
    if result.pairs or result.twins:
        log.info(
            "pairing: %d new article(s) read, %d readout(s), %d new pair(s), %d new twin(s)",
            result.articles,
            result.readouts,
            result.pairs,
            result.twins,
        )
    if result.left:
        log.info(
            "pairing: %d stored article(s) wait for the next crawls (%d per crawl); "
            "`mfawatch pairs update` reads them all now",
            result.left,
            PER_CRAWL,
        )
    return result
