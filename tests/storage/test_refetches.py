"""record_refetches: changes stored in bulk are stored exactly as `record_fetch` stores them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from storage import versions
from storage.codecs import pack
from storage.engine import Database
from storage.normalize import article_fingerprint
from storage.schema import AliasRow, ArticleRow, DiffRow, ResponseRow, RevertRow, VersionRow
from storage.versions.changes import Refetch, record_refetches
from tests.storage.conftest import BODY, T0, make_article, make_raw

H = timedelta(hours=1)
NEXT, RESTART = T0 + timedelta(days=3), T0 + 5 * H
EDITED = BODY.replace("Saturday", "Sunday") + "\n\nA paragraph added later."
# What each article goes through before the recheck, and what the recheck brings.
CASES = ("change", "change_missing", "same", "revert", "restore", "twice", "alias")


def _prepare(db: Database, url: str, case: str) -> None:
    """Store `url`'s history up to the recheck."""
    with db.session() as s:
        versions.record_fetch(
            s, make_article(url, title=url), make_raw(url), now=T0, next_check_at=T0 + H
        )
        if case == "change_missing":
            versions.record_missing(s, url, None, "HTTP 404", now=T0 + H, next_check_at=T0 + 2 * H)
        if case == "revert":
            edited = make_article(url, title=url, body_text=EDITED)
            versions.record_fetch(
                s, edited, make_raw(url, b"<p>b</p>"), now=T0 + H, next_check_at=T0 + 2 * H
            )
        if case == "restore":
            for k in range(1, 4):
                versions.record_missing(
                    s,
                    url,
                    None,
                    "HTTP 404",
                    now=T0 + k * 12 * H,
                    next_check_at=T0 + 50 * H,
                    confirm_window=timedelta(0),
                )


def _recheck(url: str, case: str) -> list[Refetch]:
    """The recheck entries of `url` (two for `twice`)."""
    body_text = BODY if case in ("same", "revert") else EDITED
    article = make_article(url, title=url, body_text=body_text)
    raw = make_raw(url, b"<html>" + body_text.encode() + b"</html>", at=T0 + 3 * H)
    entry = Refetch(
        article,
        raw,
        article_fingerprint(article),
        pack(raw.body),
        T0 + 3 * H,
        NEXT,
        RESTART,
        (url + "?from=feed",) if case == "alias" else (),
    )
    if case != "twice":
        return [entry]
    again = make_article(url, title=url, body_text=EDITED + "\n\nAnd one more.")
    return [entry, Refetch(again, raw, article_fingerprint(again), None, T0 + 3 * H, NEXT, RESTART)]


def _one_by_one(db: Database, entries: list[Refetch]) -> list[versions.Outcome]:
    """What the crawl did before the bulk path: `record_fetch`, then the restart of the plan."""
    out = []
    with db.session() as s:
        for e in entries:
            o = versions.record_fetch(
                s,
                e.article,
                e.raw,
                now=e.now,
                next_check_at=e.next_check_at,
                aliases=e.aliases,
                digest=e.digest,
                packed=e.packed,
            )
            if o.kind in ("changed", "reverted", "restored"):
                versions.set_next_check(s, o.article_id, e.restart_at)
            out.append(o)
    return out


def _stored(db: Database, url: str) -> dict[str, Any]:
    """Everything stored about `url`, without ids and with the URL replaced by `URL`.

    Each article's title is its URL (two URLs with one content would be one article moved,
    `storage.versions.moves`), so the fingerprints differ: they are left out too.
    """

    def plain(row: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
        skip = {"id", "article_id", "response_id", "version_id", "content_hash", *drop}
        return {
            c.key: str(getattr(row, c.key)).replace(url, "URL")
            for c in sa.inspect(type(row)).columns
            if c.key not in skip
        }

    with db.session(readonly=True) as s:
        article = s.execute(sa.select(ArticleRow).where(ArticleRow.url == url)).scalar_one()
        aid = article.id

        def rows(table: Any, *order: Any) -> list[dict[str, Any]]:
            found = s.execute(sa.select(table).where(table.article_id == aid).order_by(*order))
            return [plain(r) for r in found.scalars()]

        diffs = s.execute(
            sa.select(DiffRow)
            .join(VersionRow, VersionRow.id == DiffRow.version_id)
            .where(VersionRow.article_id == aid)
            .order_by(VersionRow.number)
        ).scalars()
        # SQL NULL and a JSON null read back alike: compare what the column holds.
        no_evidence = s.execute(
            sa.select(ArticleRow.missing_evidence.is_(None)).where(ArticleRow.id == aid)
        ).scalar_one()
        return {
            "no_evidence": no_evidence,
            "article": plain(article),
            "versions": rows(VersionRow, VersionRow.number),
            "diffs": [plain(d) for d in diffs],
            "responses": rows(ResponseRow, ResponseRow.fetched_at, ResponseRow.id),
            "reverts": rows(RevertRow, RevertRow.first_at),
            "aliases": sorted(
                a.replace(url, "URL")
                for a in s.execute(
                    sa.select(AliasRow.alias).where(AliasRow.article_id == aid)
                ).scalars()
            ),
        }


def test_bulk_recheck_stores_what_record_fetch_stores(db: Database) -> None:
    """Every case of a recheck, in one batch: the same rows and outcomes as one by one."""
    bulk_urls = {case: f"https://mfa.example/bulk/{case}.html" for case in CASES}
    slow_urls = {case: f"https://mfa.example/slow/{case}.html" for case in CASES}
    for case in CASES:
        _prepare(db, bulk_urls[case], case)
        _prepare(db, slow_urls[case], case)
    with db.session() as s:
        bulk = record_refetches(s, [e for case in CASES for e in _recheck(bulk_urls[case], case)])
    slow = _one_by_one(db, [e for case in CASES for e in _recheck(slow_urls[case], case)])

    def shown(outcomes: list[versions.Outcome]) -> list[tuple[str, int | None, bool]]:
        return [(str(o.kind), o.version, o.back_from_missing) for o in outcomes]

    assert shown(bulk) == shown(slow)
    assert [o.kind for o in bulk] == [
        "changed",
        "changed",
        "unchanged",
        "reverted",
        "restored",
        "changed",
        "changed",
        "changed",
    ]
    for case in CASES:
        assert _stored(db, bulk_urls[case]) == _stored(db, slow_urls[case]), case
