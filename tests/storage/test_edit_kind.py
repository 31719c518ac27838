"""Silent edits in storage: the rule, the one-by-one and bulk paths, and migration 0004."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from storage import migrate, versions
from storage.codecs import pack
from storage.engine import Database, open_db
from storage.model import Article, ArticleDate, DatePrecision, DateSource
from storage.normalize import article_fingerprint
from storage.schema import ArticleRow, SourceRow, VersionRow
from storage.versions.changes import Refetch, record_refetches
from tests.storage.conftest import BODY, T0, make_article, make_raw

H = timedelta(hours=1)
EDITED = BODY.replace("close contact", "close and regular contact")
MODIFIED = (("modified", "2024-03-01T14:12:00+08:00"),)
LISTED = ArticleDate(date(2024, 3, 1), DatePrecision.DAY, DateSource.LISTING)


def _edits(db: Database, url: str) -> list[tuple[int, str, str | None, Any]]:
    """(number, kind, edit_kind, edit_evidence) of every version of `url`."""
    with db.session(readonly=True) as s:
        aid = sa.select(ArticleRow.id).where(ArticleRow.url == url).scalar_subquery()
        return [
            (v.number, v.kind, v.edit_kind, v.edit_evidence)
            for v in s.execute(
                sa.select(VersionRow)
                .where(VersionRow.article_id == aid)
                .order_by(VersionRow.number)
            ).scalars()
        ]


def _store(db: Database, url: str, first: Article, second: Article, *, bulk: bool) -> None:
    with db.session() as s:
        versions.record_fetch(s, first, make_raw(url), now=T0, next_check_at=T0 + H)
    raw = make_raw(url, b"<p>edited</p>", at=T0 + H)
    with db.session() as s:
        if bulk:
            digest = article_fingerprint(second)
            entry = Refetch(second, raw, digest, pack(raw.body), T0 + H, T0 + 9 * H, T0 + 2 * H)
            record_refetches(s, [entry])
        else:
            versions.record_fetch(s, second, raw, now=T0 + H, next_check_at=T0 + 9 * H)


# (name, first version's changes, second version's changes, expected kind, expected evidence)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, dict[str, Any]]] = [
    (
        "silent",
        {"markers": MODIFIED},
        {"body_text": EDITED, "markers": MODIFIED},
        "silent",
        {
            "same": ["date", "modified"],
            "date": "2024-03-01 14:12 +0800",
            "modified": MODIFIED[0][1],
        },
    ),
    (
        "notice appears",
        {},
        {
            "body_text": EDITED + "\n\nCorrection: an earlier version misquoted the minister.",
            "markers": (("notice", "Correction: an earlier version misquoted the minister."),),
        },
        "announced",
        {
            "changed": ["notice"],
            "notice": [None, "Correction: an earlier version misquoted the minister."],
        },
    ),
    (
        "modified date changes",
        {"markers": MODIFIED},
        {"body_text": EDITED, "markers": (("modified", "2024-03-02T09:00:00+08:00"),)},
        "announced",
        {"changed": ["modified"], "modified": [MODIFIED[0][1], "2024-03-02T09:00:00+08:00"]},
    ),
    (
        "date changes",
        {},
        {
            "body_text": EDITED,
            "date": ArticleDate(date(2024, 3, 2), DatePrecision.DAY, DateSource.PAGE),
        },
        "announced",
        {"changed": ["date"], "date": ["2024-03-01 14:12 +0800", "2024-03-02"]},
    ),
    ("no date on the page", {"date": LISTED}, {"body_text": EDITED, "date": LISTED}, "unknown", {}),
]


@pytest.mark.parametrize("bulk", [False, True], ids=["record_fetch", "bulk"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_changed_version_is_judged_and_stored(
    db: Database, case: tuple[str, dict[str, Any], dict[str, Any], str, dict[str, Any]], bulk: bool
) -> None:
    """Each kind, stored the same by `record_fetch` and by the bulk recheck path."""
    _name, first, second, kind, evidence = case
    url = "https://mfa.example/news/edit.html"
    _store(db, url, make_article(url, **first), make_article(url, **second), bulk=bulk)
    assert _edits(db, url) == [(1, "new", None, None), (2, "changed", kind, evidence)]


def test_a_marker_alone_makes_no_version_and_the_next_edit_is_announced(db: Database) -> None:
    """Markers are not content: a new modified date alone is an unchanged recheck."""
    url = "https://mfa.example/news/marker.html"
    later = (("modified", "2024-03-05T10:00:00+08:00"),)
    _store(
        db, url, make_article(url, markers=MODIFIED), make_article(url, markers=later), bulk=False
    )
    assert _edits(db, url) == [(1, "new", None, None)]
    with db.session() as s:
        outcome = versions.record_fetch(
            s,
            make_article(url, body_text=EDITED, markers=later),
            make_raw(url, b"<p>3</p>", at=T0 + 2 * H),
            now=T0 + 2 * H,
            next_check_at=T0 + 9 * H,
        )
    assert outcome.kind == "changed"
    assert _edits(db, url)[-1][2] == "announced"


def test_upgrading_a_0003_database_judges_old_versions_on_their_date(db_url: str) -> None:
    """A database at 0003 migrates to head with NULL markers and edit kinds; the next change of
    an article stored before is judged on the date alone (its markers were never kept)."""
    from alembic import command

    url = "https://mfa.example/news/old.html"
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0003")
    finally:
        engine.dispose()
    # Version 1 as 0003 stored it (Core inserts name only the columns 0003 has).
    old = make_article(url)
    columns = {
        "title": old.title,
        "published_at": old.published_at,
        "published_offset": 480,
        "published_date": old.published_date,
        "date_precision": "minute",
        "date_source": "page",
    }
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(SourceRow.__table__).values(key="cn-mfa-en"))
            conn.execute(
                sa.insert(ArticleRow.__table__).values(
                    id=1,
                    source="cn-mfa-en",
                    url=url,
                    status="live",
                    version=1,
                    content_version=1,
                    content_hash="old",
                    first_seen_at=T0,
                    last_checked_at=T0,
                    last_changed_at=T0,
                    checks=1,
                    missing_checks=0,
                    **columns,
                )
            )
            conn.execute(
                sa.insert(VersionRow.__table__).values(
                    article_id=1,
                    number=1,
                    kind="new",
                    seen_at=T0,
                    content_hash="old",
                    body_text=BODY,
                    body_html="",
                    **columns,
                )
            )
    finally:
        engine.dispose()
    db = open_db(db_url)
    try:
        assert migrate.current_revision(db.engine) == migrate.head_revision()
        assert _edits(db, url) == [(1, "new", None, None)]
        with db.session() as s:
            versions.record_fetch(
                s,
                make_article(url, body_text=EDITED, markers=MODIFIED),
                make_raw(url, b"<p>2</p>", at=T0 + H),
                now=T0 + H,
                next_check_at=T0 + 9 * H,
            )
        # The marker seen now did not "appear": version 1 was stored without markers.
        assert _edits(db, url)[-1] == (
            2,
            "changed",
            "silent",
            {"same": ["date"], "date": "2024-03-01 14:12 +0800"},
        )
    finally:
        db.dispose()
