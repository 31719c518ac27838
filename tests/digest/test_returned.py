"""A return to an earlier version's content in the digest: its own `returned` item, in every format,
selectable by kind, matched by alert rules, on SQLite and PostgreSQL (issue 15: the digest showed
only "CHANGED v1 -> v2", an edit that was no longer live)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from digest.alerts import AlertRule
from digest.delivery import ALERT_KINDS
from digest.formats import FORMATS, render
from digest.model import ItemKind, Report
from digest.notify import alert_report
from digest.report import build_report
from storage.engine import Database, open_db
from storage.model import Article, RawResponse
from storage.versions import record_fetch

URL = "https://www.fmprc.gov.cn/eng/returned.html"
V1 = "The talks were held in Beijing.\n\nBoth sides discussed the Taiwan question."
V2 = "The talks were held in Beijing.\n\nBoth sides discussed trade."


def _fetch(db: Database, body: str, at: datetime, url: str = URL, title: str = "Talks") -> str:
    article = Article(source="cn", url=url, title=title, body_text=body, section="News")
    raw = RawResponse(url, url, 200, (), body.encode(), at)
    with db.session() as s:
        return record_fetch(s, article, raw, now=at, next_check_at=at + timedelta(days=1)).kind


@pytest.fixture
def returned_db(db_url: str) -> Iterator[tuple[Database, datetime]]:
    """v1 and v2 ten days ago, the return to v1 two hours ago; another article edited in the window."""
    db = open_db(db_url)
    now = datetime.now(UTC).replace(microsecond=0)
    old = now - timedelta(days=10)
    assert _fetch(db, V1, old) == "new"
    assert _fetch(db, V2, old + timedelta(hours=1)) == "changed"
    assert _fetch(db, V1, now - timedelta(hours=2)) == "reverted"
    other = "https://www.fmprc.gov.cn/eng/other.html"
    assert _fetch(db, "First text.", old, other, "Other") == "new"
    assert _fetch(db, "Second text.", now - timedelta(hours=3), other, "Other") == "changed"
    yield db, now
    db.dispose()


def _report(db: Database, now: datetime, **kw: object) -> Report:
    with db.session(readonly=True) as s:
        return build_report(s, since=now - timedelta(days=1), until=now, **kw)  # type: ignore[arg-type]


def test_the_return_is_an_item_of_its_own(returned_db: tuple[Database, datetime]) -> None:
    """One `returned` item: the version live again, the change from the version left, a note."""
    db, now = returned_db
    report = _report(db, now)
    assert [(i.kind, i.title) for i in report.items] == [
        (ItemKind.CHANGED, "Other"),
        (ItemKind.RETURNED, "Talks"),
    ]
    item = report.items[1]
    assert item.version == 1 and item.label == "RETURNED to v1"
    assert item.note == "returned to version 1 from version 2"
    assert item.change is not None and (item.change.from_version, item.change.to_version) == (2, 1)
    inserted = " ".join(
        s.text for p in item.change.passages for s in p.segments if s.op == "insert"
    )
    assert "Taiwan question" in inserted
    assert report.counts["returned"] == 1 and report.counts["changed"] == 1
    assert item.event_key.startswith(f"article/{item.article_id}/v/1/returned/")


def test_kind_filter_and_paging(returned_db: tuple[Database, datetime]) -> None:
    """`returned` is a kind of its own for the filter; a page keeps the window's totals."""
    db, now = returned_db
    only = _report(db, now, kinds=["returned"])
    assert [i.kind for i in only.items] == [ItemKind.RETURNED]
    assert [i.kind for i in _report(db, now, kinds=["changed"]).items] == [ItemKind.CHANGED]
    page = _report(db, now, limit=1, offset=1)
    assert [i.kind for i in page.items] == [ItemKind.RETURNED]
    assert page.counts == {
        "new": 0,
        "changed": 1,
        "removed": 0,
        "restored": 0,
        "returned": 1,
        "moved": 0,
    }
    assert _report(db, now, query="Taiwan question").items[0].kind is ItemKind.RETURNED


EXPECTED = {
    "text": "RETURNED to v1",
    "md": "**RETURNED to v1**",
    "html": "returned to v1</span>",
    "json": '"kind":"returned"',
    "atom": "Returned to v1: Talks",
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_says_the_article_returned(
    returned_db: tuple[Database, datetime], fmt: str
) -> None:
    """Each format names the return with the version live again, and the note in words."""
    db, now = returned_db
    out = render(_report(db, now), fmt, color=False)
    assert EXPECTED[fmt] in out
    assert "returned to version 1 from version 2" in out
    if fmt == "json":
        data = json.loads(out)
        assert data["counts"]["returned"] == 1
        item = data["groups"][0]["items"][1]
        assert (item["version"], item["change"]["from_version"]) == (1, 2)
    if fmt == "atom":
        ET.fromstring(out.encode())  # still well-formed


def test_alert_rules_match_what_the_return_brought_back(
    returned_db: tuple[Database, datetime],
) -> None:
    """A rule on words that came back with the return marks the returned item, also among the
    kinds the alert delivery sends."""
    db, now = returned_db
    rules = (AlertRule("taiwan", keywords=("Taiwan",)),)
    for kinds in (None, ALERT_KINDS):
        report = _report(db, now, alerts=rules, kinds=kinds)
        assert [(i.kind, [h.rule for h in i.alerts]) for i in report.alert_items] == [
            (ItemKind.RETURNED, ["taiwan"])
        ]
    assert "returned to version 1" in render(alert_report(report, rules[0]), "text", color=False)
