"""record_new: many first fetches in a few statements, stored exactly as record_fetch stores one."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from storage import http_validators, queries, versions
from storage.codecs import pack
from storage.engine import Database
from storage.model import Article, RawResponse
from storage.normalize import article_fingerprint
from storage.schema import AliasRow, ArticleRow, ResponseRow, VersionRow
from storage.versions import new_articles
from tests.storage.conftest import T0, make_article, make_raw, row_counts

NEXT = T0 + timedelta(hours=1)
# Ids differ between two databases; `body` is how a version's text is kept (packed on SQLite,
# plain on PostgreSQL): the loaded rows show the same `body_text` and `body_html` on both.
SKIP = {"id", "article_id", "response_id", "body"}


def first(
    article: Article, raw: RawResponse, aliases: tuple[str, ...] = ()
) -> new_articles.FirstFetch:
    return new_articles.FirstFetch(
        article, raw, article_fingerprint(article), pack(raw.body), T0, NEXT, aliases
    )


def articles(n: int, prefix: str = "https://mfa.example/news/") -> list[Article]:
    return [make_article(f"{prefix}{i}.html", title=f"Release {i}") for i in range(n)]


def rows(db: Database, table: type, order: sa.ColumnElement) -> list[dict[str, object]]:
    with db.session(readonly=True) as s:
        found = s.execute(sa.select(table).order_by(order)).scalars().all()
        return [
            {c.key: getattr(r, c.key) for c in table.__table__.columns if c.key not in SKIP}
            for r in found
        ]


def test_a_batch_is_stored_like_one_fetch_at_a_time(db: Database, db_url: str, tmp_path) -> None:
    """Articles, versions and responses from record_new equal record_fetch's, row for row."""
    arts = articles(5)
    raws = [make_raw(a.url, f"<html>{a.title}</html>".encode()) for a in arts]
    with db.session() as s:
        outcomes = new_articles.record_new(
            s, [first(a, r, (a.url + "?utm_source=x",)) for a, r in zip(arts, raws, strict=True)]
        )
    assert [o.kind for o in outcomes if o] == ["new"] * 5
    assert len({o.article_id for o in outcomes if o}) == 5

    from storage.engine import open_db

    one_by_one = open_db(f"sqlite:///{tmp_path / 'reference.sqlite3'}")
    try:
        for a, r in zip(arts, raws, strict=True):
            with one_by_one.session() as s:
                versions.record_fetch(
                    s, a, r, now=T0, next_check_at=NEXT, aliases=[a.url + "?utm_source=x"]
                )
        for table, order in (
            (ArticleRow, ArticleRow.url),
            (VersionRow, VersionRow.content_hash),
            (ResponseRow, ResponseRow.url),
            (AliasRow, AliasRow.alias),
        ):
            assert rows(db, table, order) == rows(one_by_one, table, order), table.__name__
    finally:
        one_by_one.dispose()
    with db.session(readonly=True) as s:
        for outcome, a in zip(outcomes, arts, strict=True):
            assert outcome is not None
            stored = s.get(ArticleRow, outcome.article_id)
            assert stored is not None and stored.url == a.url
            back = queries.get_article(s, a.url)  # every content field, the HTML included
            assert (back.title, back.body_text, back.body_html) == (
                a.title,
                a.body_text,
                a.body_html,
            )
            assert a.body_html.startswith("<p>")


def test_known_urls_and_repeats_are_left_to_record_fetch(db: Database) -> None:
    """A URL already stored (as an article or an alias), or twice in the batch, gets None, untouched."""
    stored, aliased, fresh = articles(3)
    with db.session() as s:
        versions.record_fetch(s, stored, make_raw(stored.url), now=T0, next_check_at=NEXT)
        versions.record_fetch(
            s, make_article("https://mfa.example/other.html"), make_raw("https://mfa.example/o"),
            now=T0, next_check_at=NEXT, aliases=[aliased.url],
        )  # fmt: skip
    before = row_counts(db)
    with db.session() as s:
        outcomes = new_articles.record_new(
            s,
            [
                first(stored, make_raw(stored.url, b"changed")),
                first(aliased, make_raw(aliased.url)),
                first(fresh, make_raw(fresh.url)),
                first(fresh, make_raw(fresh.url, b"again")),
            ],
        )
    assert outcomes[0] is None and outcomes[1] is None and outcomes[3] is None
    assert outcomes[2] is not None and outcomes[2].kind == "new"
    after = row_counts(db)
    assert after["articles"] == before["articles"] + 1
    assert after["versions"] == before["versions"] + 1


def test_identical_bodies_share_one_blob(db: Database) -> None:
    """Two new articles served with the same bytes store those bytes once."""
    a, b = articles(2)
    with db.session() as s:
        new_articles.record_new(
            s, [first(a, make_raw(a.url, b"same")), first(b, make_raw(b.url, b"same"))]
        )
    counts = row_counts(db)
    assert (counts["articles"], counts["responses"], counts["blobs"]) == (2, 2, 1)


def test_validators_set_many(db: Database) -> None:
    """Insert new, update changed, forget (None, None), leave equal ones alone."""
    with db.session() as s:
        http_validators.set_validators(s, "https://a/1", '"old"', None)
        http_validators.set_validators(s, "https://a/2", '"same"', None)
        http_validators.set_validators(s, "https://a/3", '"gone"', None)
    with db.session() as s:
        http_validators.set_many(
            s,
            [
                ("https://a/1", '"new"', "Mon, 01 Jan 2024 00:00:00 GMT"),
                ("https://a/2", '"same"', None),
                ("https://a/3", None, None),
                ("https://a/4", '"fresh"', None),
            ],
        )
    with db.session(readonly=True) as s:
        got = http_validators.get_many(
            s, ["https://a/1", "https://a/2", "https://a/3", "https://a/4"]
        )
    assert got == {
        "https://a/1": ('"new"', "Mon, 01 Jan 2024 00:00:00 GMT"),
        "https://a/2": ('"same"', None),
        "https://a/4": ('"fresh"', None),
    }
