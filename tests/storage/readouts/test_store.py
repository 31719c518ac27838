"""Pairs as stored facts, on every database: found when articles are stored, reviewed by a
person, and the decisions kept across recomputation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from mfawatch.settings.officials import load_officials
from storage.engine import Database
from storage.model import Article, ArticleDate, DatePrecision, DateSource
from storage.readouts import store
from storage.readouts.store import PairStatus, Relation, UnknownPair, list_pairs
from storage.readouts.update import pair_new, recompute
from storage.sources import SourceInfo, sync_sources
from storage.versions import record_fetch
from tests.storage.conftest import make_raw

ROOT = Path(__file__).resolve().parents[3]
OFFICIALS = load_officials(ROOT / "config" / "officials.yaml")
NOW = datetime(2021, 11, 14, tzinfo=UTC)
CALL_AT = datetime(2021, 11, 13, 1, 45, tzinfo=UTC)


def _sources(db: Database) -> None:
    with db.session() as s:
        sync_sources(
            s,
            [
                SourceInfo("cn-mfa-en", "China", "CN", "en", "Asia/Shanghai"),
                SourceInfo("cn-mfa-zh", "China", "CN", "zh", "Asia/Shanghai"),
                SourceInfo("us-state-press", "State", "US", "en", "America/New_York"),
            ],
        )


def _store(db: Database, source: str, slug: str, title: str, at: datetime, body: str = "") -> int:
    article = Article(
        source=source,
        url=f"https://{source}.example/{slug}",
        title=title,
        body_text=body or title,
        date=ArticleDate(at.date(), DatePrecision.MINUTE, DateSource.PAGE, at),
    )
    with db.session() as s:
        return record_fetch(
            s, article, make_raw(article.url), now=NOW, next_check_at=NOW + timedelta(days=1)
        ).article_id


def _statuses(db: Database) -> dict[frozenset[int], tuple[str, bool]]:
    with db.session(readonly=True) as s:
        return {
            frozenset((p.a.article_id, p.b.article_id)): (p.status.value, p.matched)
            for p in list_pairs(s, statuses=tuple(PairStatus))
        }


def test_stored_readouts_pair_once_and_the_cursor_moves_on(db: Database) -> None:
    """The update pairs the two sides of the call, the press conference stays alone, and a
    second update reads nothing again."""
    _sources(db)
    cn = _store(
        db,
        "cn-mfa-en",
        "call",
        "Wang Yi Speaks on the Phone with US Secretary of State Blinken",
        CALL_AT + timedelta(hours=4),
    )
    _store(
        db,
        "cn-mfa-en",
        "presser",
        "Regular Press Conference on November 15, 2021",
        CALL_AT + timedelta(days=2),
        "Wang Yi spoke on the phone with Blinken.",
    )
    us = _store(
        db,
        "us-state-press",
        "call",
        "Secretary Blinken’s Call with PRC Foreign Minister Wang Yi",
        CALL_AT,
    )
    result = pair_new(db, OFFICIALS, NOW)
    assert (result.articles, result.readouts, result.pairs) == (3, 2, 1)
    assert _statuses(db) == {frozenset((cn, us)): ("found", True)}
    assert pair_new(db, OFFICIALS, NOW).articles == 0
    with db.session(readonly=True) as s:
        [pair] = list_pairs(s, Relation.READOUT)
    assert pair.evidence["shared"] == ["antony-blinken", "wang-yi"]
    assert pair.to_json()["sides"][0]["source"] in ("cn-mfa-en", "us-state-press")


def test_decisions_stick_across_recomputation(db: Database) -> None:
    """A rejected pair stays rejected (never proposed again), a confirmed one confirmed, and a
    pair made by hand survives though the rule does not find it."""
    _sources(db)
    cn = _store(
        db,
        "cn-mfa-en",
        "call",
        "Wang Yi Speaks on the Phone with US Secretary of State Blinken",
        CALL_AT,
    )
    us = _store(
        db,
        "us-state-press",
        "call",
        "Secretary Blinken’s Call with PRC Foreign Minister Wang Yi",
        CALL_AT,
    )
    zh = _store(db, "cn-mfa-zh", "call", "王毅同美国国务卿布林肯通电话", CALL_AT)
    other = _store(db, "us-state-press", "other", "On Climate", CALL_AT)
    pair_new(db, OFFICIALS, NOW)
    with db.session(readonly=True) as s:
        ids = {frozenset((p.a.article_id, p.b.article_id)): p.id for p in list_pairs(s)}
    with db.session() as s:
        store.decide(s, ids[frozenset((cn, us))], PairStatus.REJECTED, NOW)
        store.decide(s, ids[frozenset((zh, us))], PairStatus.CONFIRMED, NOW)
        by_hand = store.pair_by_hand(s, Relation.READOUT, cn, other, NOW)
    recompute(db, OFFICIALS, NOW + timedelta(hours=1))
    assert _statuses(db) == {
        frozenset((cn, us)): ("rejected", True),
        frozenset((zh, us)): ("confirmed", True),
        frozenset((cn, other)): ("confirmed", False),
    }
    with db.session(readonly=True) as s:
        assert {p.id for p in list_pairs(s)} == {by_hand, ids[frozenset((zh, us))]}


def test_a_readout_keeps_one_pair_per_other_source(db: Database) -> None:
    """A better readout of the same source replaces a found pair, never a confirmed one."""
    _sources(db)
    us = _store(
        db,
        "us-state-press",
        "call",
        "Secretary Blinken’s Call with PRC Foreign Minister Wang Yi",
        CALL_AT,
    )
    weak = _store(
        db,
        "cn-mfa-en",
        "weak",
        "Call with the US side",
        CALL_AT + timedelta(hours=20),
        "Wang Yi spoke on the phone with Blinken.",
    )
    pair_new(db, OFFICIALS, NOW)
    assert set(_statuses(db)) == {frozenset((us, weak))}
    good = _store(
        db,
        "cn-mfa-en",
        "good",
        "Wang Yi Speaks on the Phone with US Secretary of State Blinken",
        CALL_AT + timedelta(hours=1),
    )
    pair_new(db, OFFICIALS, NOW)
    assert set(_statuses(db)) == {frozenset((us, good))}
    with db.session(readonly=True) as s:
        [pair] = list_pairs(s)
    with db.session() as s:
        store.decide(s, pair.id, PairStatus.CONFIRMED, NOW)
    _store(
        db,
        "cn-mfa-en",
        "best",
        "Wang Yi Speaks on the Phone with US Secretary of State Blinken",
        CALL_AT,
    )
    pair_new(db, OFFICIALS, NOW)
    assert _statuses(db) == {frozenset((us, good)): ("confirmed", True)}


def test_unknown_ids_are_named(db: Database) -> None:
    """Deciding on a pair or pairing an article that does not exist names the id."""
    _sources(db)
    a = _store(db, "cn-mfa-en", "a", "A", CALL_AT)
    with db.session() as s, pytest.raises(UnknownPair, match="no pair has id 99"):
        store.decide(s, 99, PairStatus.CONFIRMED, NOW)
    with db.session() as s, pytest.raises(UnknownPair, match="no article has id 98"):
        store.pair_by_hand(s, Relation.READOUT, a, 98, NOW)
    with db.session() as s, pytest.raises(UnknownPair, match="itself"):
        store.pair_by_hand(s, Relation.READOUT, a, a, NOW)


def test_migration_0009_goes_down_and_up_again(db: Database) -> None:
    """Downgrading drops the pairing tables; upgrading brings them back, empty, and pairing
    starts over from the first article."""
    from alembic import command

    from storage import migrate

    _sources(db)
    _store(
        db,
        "cn-mfa-en",
        "call",
        "Wang Yi Speaks on the Phone with US Secretary of State Blinken",
        CALL_AT,
    )
    _store(
        db,
        "us-state-press",
        "call",
        "Secretary Blinken’s Call with PRC Foreign Minister Wang Yi",
        CALL_AT,
    )
    pair_new(db, OFFICIALS, NOW)
    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    tables = set(sa.inspect(db.engine).get_table_names())
    assert not {"readouts", "article_pairs", "pairing_state"} & tables
    assert migrate.upgrade(db.engine)
    assert _statuses(db) == {}
    assert pair_new(db, OFFICIALS, NOW).pairs == 1


def test_an_update_with_a_limit_leaves_the_rest_for_the_next(db: Database) -> None:
    """With a limit, an update reads that many articles, says how many are left, and the next
    update goes on from there: the pair of two readouts read in two updates is found."""
    _sources(db)
    _store(
        db,
        "cn-mfa-en",
        "call",
        "Wang Yi Speaks on the Phone with US Secretary of State Blinken",
        CALL_AT,
    )
    for i in range(3):
        _store(db, "cn-mfa-en", f"other-{i}", f"Other release {i}", CALL_AT)
    _store(
        db,
        "us-state-press",
        "call",
        "Secretary Blinken’s Call with PRC Foreign Minister Wang Yi",
        CALL_AT,
    )
    first = pair_new(db, OFFICIALS, NOW, limit=2, batch=1)
    assert (first.articles, first.left, first.pairs) == (2, 3, 0)
    rest = pair_new(db, OFFICIALS, NOW, limit=10)
    assert (rest.articles, rest.left, rest.pairs) == (3, 0, 1)
