"""The report built from a real database: kinds, grouping, leads, diffs, removals, filters, health."""

from __future__ import annotations

from datetime import timedelta

import pytest

from digest.alerts import AlertRule
from digest.model import ItemKind
from digest.report import ReportFilterError, build_report
from tests.digest.conftest import DigestDB


def test_window_holds_new_changed_removed_restored_grouped(digest_db_any: DigestDB) -> None:
    """Items in the window appear once each, grouped by country then source; old ones do not."""
    d = digest_db_any
    with d.db.session(readonly=True) as s:
        report = build_report(s, since=d.since, until=d.now)
    assert report.counts == {
        "new": 3,
        "changed": 1,
        "removed": 1,
        "restored": 1,
        "returned": 0,
        "moved": 0,
    }
    assert [(g.country, g.source) for g in report.groups] == [
        ("CN", "cn-mfa-en"),
        ("CN", "cn-mfa-zh"),
        ("GB", "uk-fcdo"),
    ]
    ids = {i.article_id for i in report.items}
    assert d.ids["old"] not in ids
    # Within a source: newest publication first; the same day in the order seen.
    dates = [i.published.published_date for i in report.groups[0].items if i.published]
    assert dates == sorted(dates, reverse=True)


def test_items_carry_what_a_reader_needs(digest_db: DigestDB) -> None:
    """New items have a lead and dates as the page gave them; changed items the diff passages."""
    d = digest_db
    with d.db.session(readonly=True) as s:
        report = build_report(s, since=d.since, until=d.now)
    by_id = {i.article_id: i for i in report.items}
    new = by_id[d.ids["new"]]
    assert new.kind is ItemKind.NEW and new.lead.startswith("The UK sanctioned")
    assert new.published is not None and new.published.describe() == "2026-11-20 (day, title)"
    assert new.section == "Press Releases" and new.url.startswith("https://www.gov.uk/")
    changed = by_id[d.ids["changed"]]
    assert changed.published is not None
    assert changed.published.describe() == "2026-11-18 14:12 +08:00 (minute, page)"
    assert changed.change is not None and changed.change.from_version == 1
    assert changed.change.words_added == 5 and changed.change.words_removed == 0
    assert [f.name for f in changed.change.fields] == ["title"]
    (passage,) = changed.change.passages
    assert passage.before.startswith("Foreign Minister") and passage.after.startswith("Both agreed")
    inserted = [seg.text for seg in passage.segments if seg.op == "insert"]
    assert inserted == ["candid ", " and the Taiwan question"]
    removed = by_id[d.ids["removed"]]
    assert removed.kind is ItemKind.REMOVED and removed.title == "Statement on a Vanished Topic"
    assert removed.note.startswith("HTTP 404, 3 checks") and removed.published is not None
    restored = by_id[d.ids["restored"]]
    assert restored.kind is ItemKind.RESTORED and restored.lead.startswith("The readout came back")


def test_long_bodies_get_a_300_character_lead(digest_db: DigestDB) -> None:
    """The lead is cut near 300 characters at a word boundary, with an ellipsis."""
    from digest._text import lead

    text = ("word " * 200).strip()
    out = lead(text)
    assert 180 < len(out) <= 301 and out.endswith("…") and not out[:-1].endswith(" ")


def test_filters_by_source_country_kind_and_query(digest_db_any: DigestDB) -> None:
    """Each filter narrows the items (query matches title or body, case-insensitively)."""
    d = digest_db_any
    with d.db.session(readonly=True) as s:
        by_source = build_report(s, since=d.since, until=d.now, sources=["uk-fcdo"])
        by_country = build_report(s, since=d.since, until=d.now, countries=["cn"])
        by_kind = build_report(s, since=d.since, until=d.now, kinds=["removed", "restored"])
        by_query = build_report(s, since=d.since, until=d.now, query="TAIWAN strait")
        cjk = build_report(s, since=d.since, until=d.now, query="台湾")
        pct = build_report(s, since=d.since, until=d.now, query="100%")
    assert {i.source for i in by_source.items} == {"uk-fcdo"}
    assert {i.country for i in by_country.items} == {"CN"} and len(by_country.items) == 5
    assert {i.kind for i in by_kind.items} == {ItemKind.REMOVED, ItemKind.RESTORED}
    assert [i.article_id for i in by_query.items] == [d.ids["new"]]
    assert [i.article_id for i in cjk.items] == [d.ids["new_zh"]]
    assert pct.items == () and by_query.filters == {"query": "TAIWAN strait"}


def test_unknown_kind_is_rejected_listing_valid_ones(digest_db: DigestDB) -> None:
    """`--kind edited` fails with the list of valid kinds."""
    with (
        digest_db.db.session(readonly=True) as s,
        pytest.raises(
            ReportFilterError,
            match="unknown kind 'edited' .valid: changed, moved, new, removed, restored",
        ),
    ):
        build_report(s, since=digest_db.since, kinds=["edited"])


def test_alerts_mark_matching_items(digest_db: DigestDB) -> None:
    """Taiwan, 台湾 and sanction* mark the new and changed items that contain them."""
    d = digest_db
    rules = (
        AlertRule("taiwan", keywords=("Taiwan", "台湾")),
        AlertRule("sanctions", keywords=("sanction*",)),
    )
    with d.db.session(readonly=True) as s:
        report = build_report(s, since=d.since, until=d.now, alerts=rules)
    marked = {i.article_id: sorted(h.rule for h in i.alerts) for i in report.alert_items}
    assert marked == {
        d.ids["new"]: ["sanctions", "taiwan"],
        d.ids["new_zh"]: ["taiwan"],
        d.ids["changed"]: ["taiwan"],
    }


def test_source_health_changes_are_listed(digest_db: DigestDB) -> None:
    """A source that started failing in the window is in the sources section; not before it."""
    d = digest_db
    with d.db.session(readonly=True) as s:
        report = build_report(s, since=d.since, until=d.now)
        later = build_report(s, since=d.now - timedelta(hours=1), until=d.now)
    (health,) = report.sources
    assert (health.source, health.state, health.failures) == ("uk-fcdo", "failing", 1)
    assert health.last_error == "HTTP 503 from listing" and health.last_run_at is not None
    assert later.sources == ()
