"""Storage's version rules: what a fetch found (new, unchanged, changed, reverted, missing,
removed, restored), and how each is stored.

    outcomes       `Outcome`, `OutcomeKind`: what recording a check did
    rows           row builders and the article-row statements every path shares
    content        a fetched page, one by one: new, unchanged, changed, reverted, restored
    liveness       missing, removed, restored by a 304, live again; the next check
    new_articles   the bulk path of first fetches (a first crawl)
    unchanged      the bulk path of unchanged rechecks (304 or the same bytes)
    edit_kind      whether a change was announced on the page: silent, announced, unknown

Everything one fetch writes happens in the caller's session, i.e. in one transaction.
Several writers (crawls of one PostgreSQL database): the article row is read under a row lock
(SELECT .. FOR UPDATE) before its state and version number are advanced, so a second writer
waits and then sees the first one's version (a stale read made false "returned from v1 to v2"
reverts); a new article is inserted with ON CONFLICT DO NOTHING, and one that another writer
inserted meanwhile is compared with it like any stored article. SQLite has one writer at a time.
"""

from __future__ import annotations

from storage.versions.content import record_fetch
from storage.versions.liveness import record_missing, record_not_modified, set_next_check
from storage.versions.outcomes import Outcome, OutcomeKind

__all__ = [
    "Outcome",
    "OutcomeKind",
    "record_fetch",
    "record_missing",
    "record_not_modified",
    "set_next_check",
]
