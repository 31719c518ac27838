"""Detection and the pairing rule on their own: event kinds in every preset language, time spans
across zones, and each condition of the rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mfawatch.settings.officials import load_officials
from storage.readouts.detect import Release, detect, event_kind, time_span
from storage.readouts.rule import WINDOW, best_matches, match
from storage.readouts.vocabulary import ANCHORS, EventKind, kinds_for, languages, patterns_of

ROOT = Path(__file__).resolve().parents[3]
OFFICIALS = load_officials(ROOT / "config" / "officials.yaml")
SEEN = datetime(2021, 11, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "lead", "kind"),
    [
        ("Wang Yi Speaks on the Phone with US Secretary of State Blinken", "", EventKind.CALL),
        ("Secretary Blinken’s Call with Russian Foreign Minister Lavrov", "", EventKind.CALL),
        ("王毅同美国国务卿布林肯通电话", "", EventKind.CALL),
        ("О телефонном разговоре С.В.Лаврова с Э.Блинкеном", "", EventKind.CALL),
        ("日米外相電話会談", "", EventKind.CALL),
        ("Japan-U.S. Foreign Ministers’ Telephone Talk", "", EventKind.CALL),
        ("Entretien téléphonique de M. Le Drian avec M. Wang Yi", "", EventKind.CALL),
        ("Außenministerin Baerbock telefoniert mit Blinken", "", EventKind.CALL),
        ("德国总理默克尔会见杨洁篪", "", EventKind.MEETING),
        ("王毅同拉夫罗夫会谈", "", EventKind.MEETING),
        ("О переговорах С.В.Лаврова с Ван И", "", EventKind.MEETING),
        ("日中外相会談", "", EventKind.MEETING),
        ("Wang Yi Holds Talks with Jaishankar", "", EventKind.MEETING),
        (
            "Visit of the Foreign Minister",
            "EAM held talks with the Foreign Minister.",
            EventKind.MEETING,
        ),
        ("习近平同普京互致新年贺电", "", EventKind.MESSAGES),
        ("Об обмене поздравительными посланиями", "", EventKind.MESSAGES),
        ("Blinken and Kamikawa at a Joint Press Availability", "", EventKind.PRESS),
        ("日米共同記者会見", "", EventKind.PRESS),
        ("Совместная пресс-конференция С.В.Лаврова", "", EventKind.PRESS),
        # Not readouts: a press conference mentioning a call, a statement, a visit without talks.
        (
            "Regular Press Conference on November 15, 2021",
            "Wang Yi spoke on the phone with Blinken.",
            None,
        ),
        ("例行记者会", "王毅同布林肯通电话", None),
        ("Imposing Additional Costs on Russia", "President Putin’s brutal war", None),
    ],
)
def test_event_kinds_in_every_language(title: str, lead: str, kind: EventKind | None) -> None:
    """The title decides the kind (a call before a meeting it mentions); else the lead, unless the
    title is a press conference's."""
    assert event_kind(title, lead) is kind


def test_every_pattern_has_an_anchor_of_its_kind() -> None:
    """The `in` prefilter never hides a pattern: each contains one of its kind's anchors."""
    for kind in EventKind:
        for pattern in patterns_of(kind):
            assert any(anchor in pattern for anchor in ANCHORS[kind]), (kind, pattern)


def test_every_kind_has_words_in_every_preset_language() -> None:
    """Each of the presets' languages has words for every event kind."""
    assert set(languages()) >= {"en", "zh", "ru", "ja", "fr", "de"}
    for language in languages():
        assert set(kinds_for(language)) == set(EventKind), language


def _release(
    article_id: int, country: str, zone: str, title: str, body: str = "", **dates: object
) -> Release:
    return Release(
        article_id=article_id,
        source=f"src-{country.lower()}",
        country=country,
        timezone=zone,
        title=title,
        body_start=body,
        published_at=dates.get("at"),  # type: ignore[arg-type]
        published_date=dates.get("day"),  # type: ignore[arg-type]
        first_seen_at=SEEN,
    )


def test_a_date_alone_covers_its_day_in_the_sources_zone() -> None:
    """13 November in Beijing starts at 16:00 UTC on the 12th; a minute is a point; no date is
    the day before the release was first seen."""
    day = _release(1, "CN", "Asia/Shanghai", "t", day=date(2021, 11, 13))
    assert time_span(day) == (
        datetime(2021, 11, 12, 16, tzinfo=UTC),
        datetime(2021, 11, 13, 16, tzinfo=UTC),
    )
    at = datetime(2021, 11, 13, 1, 45, tzinfo=UTC)
    assert time_span(_release(2, "US", "America/New_York", "t", at=at)) == (at, at)
    assert time_span(_release(3, "US", "UTC", "t")) == (SEEN - timedelta(days=1), SEEN)


def test_a_call_in_two_zones_pairs_and_each_condition_breaks_it() -> None:
    """Beijing's 13 November and Washington's 12 November evening pair; another kind, another
    country's official, the same country, or more than the window apart do not."""
    cn = detect(
        _release(1, "CN", "Asia/Shanghai", "王毅同美国国务卿布林肯通电话", day=date(2021, 11, 13)),
        OFFICIALS,
    )
    us_at = datetime(2021, 11, 12, 23, 30, tzinfo=UTC)  # 18:30 in Washington on the 12th
    us = detect(
        _release(
            2,
            "US",
            "America/New_York",
            "Secretary Blinken’s Call with PRC Foreign Minister Wang Yi",
            at=us_at,
        ),
        OFFICIALS,
    )
    assert cn is not None and us is not None
    found = match(cn, us)
    assert found is not None and found.shared == ("antony-blinken", "wang-yi")
    meeting = detect(
        _release(3, "US", "UTC", "Secretary Blinken’s Meeting with Wang Yi", at=us_at), OFFICIALS
    )
    assert meeting is not None and match(cn, meeting) is None
    late = detect(
        _release(
            4,
            "US",
            "UTC",
            "Secretary Blinken’s Call with Wang Yi",
            at=cn.ends_at + WINDOW + timedelta(minutes=1),
        ),
        OFFICIALS,
    )
    assert late is not None and match(cn, late) is None
    other = detect(
        _release(5, "US", "UTC", "Secretary Blinken’s Call with Foreign Minister Lavrov", at=us_at),
        OFFICIALS,
    )
    assert other is not None and match(cn, other) is None
    same_country = detect(
        _release(6, "CN", "UTC", "Wang Yi Speaks on the Phone with Blinken", at=us_at), OFFICIALS
    )
    assert len({cn.source, us.source, same_country.source if same_country else ""}) == 2
    assert same_country is not None and match(cn, same_country) is None


def test_the_headline_chooses_among_readouts_of_one_source() -> None:
    """Xi's and Wang Yi's meetings with Blinken the same day: each pairs with the readout whose
    title names the same people, not with the nearer one."""
    at = datetime(2023, 6, 19, 11, tzinfo=UTC)
    cn_xi = detect(
        _release(
            1,
            "CN",
            "UTC",
            "Xi Jinping Meets with US Secretary of State Antony Blinken",
            "Wang Yi was present.",
            at=at,
        ),
        OFFICIALS,
    )
    us_wang = detect(
        _release(2, "US", "UTC", "Secretary Blinken’s Meeting with Director Wang Yi", at=at),
        OFFICIALS,
    )
    us_xi = detect(
        _release(
            3,
            "US",
            "UTC",
            "Secretary Blinken’s Meeting with President Xi Jinping",
            at=at + timedelta(hours=3),
        ),
        OFFICIALS,
    )
    assert cn_xi is not None and us_wang is not None and us_xi is not None
    [best] = best_matches(cn_xi, [us_wang, us_xi])
    assert best.b.article_id == 3


def test_not_a_readout_without_another_countrys_official() -> None:
    """A call with someone the table does not know (Estonia's minister) is not a readout."""
    release = _release(
        1, "US", "UTC", "Secretary Blinken’s Call with Estonian Foreign Minister Reinsalu", at=SEEN
    )
    assert detect(release, OFFICIALS) is None
