"""Readout pairs and language twins on the labelled set: precision and recall, through the real
storage path.

Every item is stored as an article in a real SQLite file (as a crawl stores it), paired by
`update.pair_new` with the shipped officials table and the shipped sources' `twin_of:`, and the
stored pairs are compared with the labels. Precision must stay at or above 95 % (a wrong pair is
worse than a missing one), recall at or above 80 %, for readout pairs and for twins; the
figures are in docs/pairs.md.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mfawatch.settings.officials import load_officials
from storage.engine import open_db
from storage.readouts.store import Relation, list_pairs
from storage.readouts.update import pair_new
from storage.sources import SourceInfo, sync_sources
from storage.versions import record_fetch
from tests.storage.conftest import make_raw
from tests.storage.readouts.labelled import ROOT, load_labelled

PRECISION_FLOOR = 0.95
RECALL_FLOOR = 0.80
NOW = datetime(2024, 8, 1, tzinfo=UTC)

Pairs = set[frozenset[str]]


@dataclass(frozen=True)
class Outcome:
    """What the rules found and what the labels say, by relation, and the set's make-up."""

    found: dict[Relation, Pairs]
    truth: dict[Relation, Pairs]
    origin: Counter[str]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """Store the labelled set, pair it, and read the pairs back by label."""
    labelled = load_labelled()
    db = open_db(f"sqlite:///{Path(tmp_path_factory.mktemp('quality')) / 'q.sqlite3'}")
    try:
        with db.session() as s:
            sync_sources(
                s,
                [
                    SourceInfo(src.key, src.name, src.country, src.language, src.timezone)
                    for src in labelled.settings.sources
                ],
            )
        label_of: dict[int, str] = {}
        for label, article in labelled.articles.items():
            with db.session() as s:
                stored = record_fetch(
                    s,
                    article,
                    make_raw(article.url),
                    now=NOW,
                    next_check_at=NOW + timedelta(days=1),
                )
                label_of[stored.article_id] = label
        officials = load_officials(ROOT / "config" / "officials.yaml")
        pair_new(db, officials, NOW, twins=labelled.settings.twins())
        with db.session(readonly=True) as s:
            found = {
                relation: {
                    frozenset((label_of[p.a.article_id], label_of[p.b.article_id]))
                    for p in list_pairs(s, relation)
                }
                for relation in Relation
            }
    finally:
        db.dispose()
    origin = Counter("real" if label in labelled.real else "made" for label in labelled.articles)
    truth = {Relation.READOUT: set(labelled.pairs), Relation.TWIN: set(labelled.twins)}
    return Outcome(found, truth, origin)


@pytest.mark.parametrize("relation", list(Relation))
def test_precision_and_recall_meet_the_targets(outcome: Outcome, relation: Relation) -> None:
    """At least 95 % of the pairs found are true, and at least 80 % of the true pairs are found."""
    found, truth = outcome.found[relation], outcome.truth[relation]
    right = found & truth
    precision = len(right) / len(found) if found else 0.0
    recall = len(right) / len(truth)
    wrong = sorted(sorted(p) for p in found - truth)
    missed = sorted(sorted(p) for p in truth - found)
    assert precision >= PRECISION_FLOOR, f"precision {precision:.1%}; wrong pairs: {wrong}"
    assert recall >= RECALL_FLOOR, f"recall {recall:.1%}; missed pairs: {missed}"


def test_the_seed_call_pairs_with_the_state_department_readout(outcome: Outcome) -> None:
    """China's readout of the Wang Yi–Blinken call of 13 November 2021 (the seed) is paired with
    the State Department's, though Beijing's 13 November is Washington's 12 November evening,
    and with its Chinese twin."""
    assert (
        frozenset({"seed-cn-en", "us-blinken-wang-call-2021-11"}) in outcome.found[Relation.READOUT]
    )
    assert (
        frozenset({"seed-cn-en", "cn-zh-wang-blinken-call-2021-11"}) in outcome.found[Relation.TWIN]
    )


def test_the_set_mixes_real_releases_and_counterparts(outcome: Outcome) -> None:
    """The set has real releases of the shipped sources (all 17 parsed) besides the hand-made."""
    assert outcome.origin["real"] >= 17 and outcome.origin["made"] >= 40
    assert len(outcome.truth[Relation.READOUT]) >= 20 and len(outcome.truth[Relation.TWIN]) >= 5
