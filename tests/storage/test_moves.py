"""The move rule (storage/versions/moves.py) and its signatures (storage/signatures.py), one rule
per test: what is a move, what is a re-publication or another article, and the bulk path."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from storage import queries, versions
from storage.engine import Database
from storage.model import ArticleDate, DatePrecision, DateSource
from storage.normalize import article_fingerprint
from storage.signatures import THRESHOLD, signature, similarity
from storage.sources import SourceInfo, sync_sources
from storage.versions import new_articles
from tests.storage.conftest import BODY, T0, make_article, make_raw

H = timedelta(hours=1)
# A release of a realistic length (a one-word edit in 26 words changes a fifth of the shingles).
LONG = BODY + (
    "\n\nWang Yi said that China is ready to work with the other side to implement the important"
    " consensus reached by the two heads of state, deepen practical cooperation in trade,"
    " investment, energy and infrastructure, and expand people-to-people exchanges.\n\n"
    "The counterpart said that his country attaches great importance to its relations with"
    " China, adheres to the one-China policy, and looks forward to closer coordination in"
    " the United Nations and other multilateral mechanisms on climate change and development."
)
OLD = "https://mfa.example/mfa_eng/t1.html"
NEW = "https://mfa.example/eng/t1.html"


def store(db, article, at=T0) -> versions.Outcome:
    with db.session() as s:
        return versions.record_fetch(
            s, article, make_raw(article.url), now=at, next_check_at=at + H
        )


def sources(db, *infos: SourceInfo) -> None:
    with db.session() as s:
        sync_sources(s, infos)


def test_signatures_tell_small_edits_from_other_texts() -> None:
    """A word edited keeps a release above the threshold; another release is far below; CJK text
    (no spaces) is shingled by characters, so one changed character is a near-duplicate too."""
    other = "The spokesperson answered questions on trade, climate and the regional summit."
    assert similarity(signature(LONG), signature(LONG.replace("Saturday", "Sunday"))) >= THRESHOLD
    assert similarity(signature(LONG), signature(other)) < 0.3
    zh = (
        "外交部发言人毛宁主持例行记者会。中方愿同各方一道，维护地区和平稳定，推动双边关系健康发展。"
        * 2
    )
    assert similarity(signature(zh), signature(zh.replace("健康", "稳定", 1))) >= THRESHOLD
    assert similarity(signature(zh), signature("国务委员兼外长王毅同美国国务卿通电话。" * 3)) < 0.3


def test_same_content_under_a_new_url_is_the_same_article_moved(db: Database) -> None:
    """Same fingerprint, same source: no new article; the URL moves, the old one is an alias."""
    first = store(db, make_article(OLD))
    moved = store(db, make_article(NEW), T0 + 2 * H)
    assert moved.moved and moved.kind == "unchanged" and moved.article_id == first.article_id
    with db.session() as s:
        hist = queries.history(s, OLD)
        assert hist.article.url == NEW
        assert [(m.from_url, m.to_url, m.by) for m in hist.moves] == [(OLD, NEW, "fingerprint")]
        assert [str(v.kind) for v in hist.versions] == ["new"]


def test_a_near_duplicate_needs_the_same_date_and_title(db: Database) -> None:
    """A small body edit with the same date and title is a move plus a `changed` version; the same
    edit with another title, or another date (a re-publication), is a new article."""
    store(db, make_article(OLD, body_text=LONG))
    edited = LONG.replace("Saturday", "Sunday")
    retitled = store(db, make_article(NEW + "?x", title="Another release", body_text=edited))
    later = ArticleDate(date(2024, 4, 2), DatePrecision.DAY, DateSource.PAGE)
    again = store(db, make_article(NEW + "?y", body_text=LONG, date=later))  # a month later
    assert (retitled.kind, retitled.moved) == ("new", False)
    assert (again.kind, again.moved) == ("new", False)
    moved = store(db, make_article(NEW, body_text=edited), T0 + 2 * H)
    assert moved.moved and moved.kind == "changed"
    with db.session() as s:
        assert queries.history(s, NEW).moves[0].by == "minhash"


def test_the_rule_stays_within_a_source_or_its_country(db: Database) -> None:
    """The same release on another country's source is that source's own article; on another
    source of the same country it is the article moved."""
    sources(
        db,
        SourceInfo("cn-a", country="CN"),
        SourceInfo("cn-b", country="CN"),
        SourceInfo("us-a", country="US"),
    )
    store(db, make_article(OLD, source="cn-a"))
    elsewhere = store(db, make_article("https://us.example/t1.html", source="us-a"))
    assert (elsewhere.kind, elsewhere.moved) == ("new", False)
    sibling = store(db, make_article("https://cn-b.example/t1.html", source="cn-b"))
    assert sibling.moved


def test_the_bulk_path_leaves_a_move_to_record_fetch(db: Database) -> None:
    """`record_new` (a first crawl's batches) stores a signature per article and hands an entry that
    matches a known article back (None), so it is recorded as a move, not as a new article."""
    known = make_article(OLD)
    fresh = make_article("https://mfa.example/eng/t2.html", title="Another release", body_text="x")
    with db.session() as s:
        entries = [
            new_articles.FirstFetch(a, make_raw(a.url), article_fingerprint(a), None, T0, T0 + H)
            for a in (known, fresh)
        ]
        assert all(o is not None and o.kind == "new" for o in new_articles.record_new(s, entries))
    moved = replace(known, url=NEW)
    with db.session() as s:
        entry = new_articles.FirstFetch(
            moved, make_raw(NEW), article_fingerprint(moved), None, T0 + H, T0 + 2 * H
        )
        assert new_articles.record_new(s, [entry]) == [None]
    assert store(db, moved, T0 + H).moved


def test_one_release_under_two_urls_of_one_batch_is_one_article(db: Database) -> None:
    """Two URLs of one first-crawl batch with the same content (or the same date and title and a
    near-duplicate body) are one article, as they are when they come in two batches: the bulk
    path stores the first and hands the second back to `record_fetch`, which records the move."""
    twin = replace(make_article(OLD, body_text=LONG), url=NEW)
    near = make_article(
        "https://mfa.example/eng/t1-print.html",
        body_text=LONG.replace("Saturday", "Sunday"),
    )
    other = make_article("https://mfa.example/eng/t9.html", title="Another release", body_text="x")
    batch = [make_article(OLD, body_text=LONG), twin, near, other]
    entries = [
        new_articles.FirstFetch(a, make_raw(a.url), article_fingerprint(a), None, T0, T0 + H)
        for a in batch
    ]
    with db.session() as s:
        outcomes = new_articles.record_new(s, entries)
        assert [o is not None for o in outcomes] == [True, False, False, True]
        later = [
            versions.record_fetch(s, e.article, e.raw, now=T0, next_check_at=T0 + H)
            for e, o in zip(entries, outcomes, strict=True)
            if o is None
        ]
    assert all(o.moved for o in later)
    assert {o.article_id for o in later} == {outcomes[0].article_id}  # type: ignore[union-attr]
    with db.session() as s:
        hist = queries.history(s, OLD)
        assert [(m.from_url, m.by) for m in hist.moves] == [(OLD, "fingerprint"), (NEW, "minhash")]


def test_migration_0005_goes_down_and_up_again(db: Database) -> None:
    """Downgrading drops `signatures` and `moves` (the moved URLs stay, as aliases); upgrading
    brings them back, empty."""
    import sqlalchemy as sa
    from alembic import command

    from storage import migrate

    store(db, make_article(OLD))
    store(db, make_article(NEW), T0 + H)
    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert not {"signatures", "moves"} & set(sa.inspect(db.engine).get_table_names())
    assert migrate.upgrade(db.engine)
    with db.session() as s:
        assert queries.history(s, OLD).article.url == NEW and queries.history(s, NEW).moves == []


def test_articles_stored_before_0005_get_signatures_and_their_moves_are_found(
    db: Database,
) -> None:
    """An article without a signature (as every article stored before 0005 is) gets its first
    version's fingerprint and date from migration 0010, so its move is found."""
    import sqlalchemy as sa

    from storage import migrate

    first = store(db, make_article(OLD))
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    previous = scripts.get_revision("0010").down_revision  # type: ignore[union-attr]
    with db.engine.begin() as conn:  # what a database upgraded from before 0005 holds for it
        conn.execute(sa.text("DELETE FROM signatures"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": previous})
    assert store(db, make_article(NEW), T0 + H).moved is False  # not found without a signature
    with db.session() as s:
        s.execute(sa.text("DELETE FROM articles WHERE url = :u"), {"u": NEW})
    from alembic import command

    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:  # 0010 itself: the later migrations' changes are there
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
        command.stamp(cfg, "head")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT article_id, content_hash FROM signatures")).all()
    assert rows == [(first.article_id, article_fingerprint(make_article(OLD)))]
    moved = store(db, make_article(NEW), T0 + 2 * H)
    assert moved.moved and moved.article_id == first.article_id
    assert migrate.upgrade(db.engine) is False  # at head: nothing is added twice
