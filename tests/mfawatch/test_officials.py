"""The officials file: the shipped one loads and names who held which office when; every kind of
bad file is refused with each problem at its line and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crawler.errors import ConfigError
from mfawatch.settings.officials import load_officials, officials_path, parse_officials

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "officials.yaml"
PRESET_COUNTRIES = {"CN", "US", "RU", "JP", "IN", "GB", "FR", "DE"}


def test_shipped_file_covers_each_preset_country_since_2017() -> None:
    """Every preset country has a head of state or government and a foreign minister in office on
    every first of January since 2017 (the file's promise)."""
    officials = load_officials(SHIPPED)
    for year in range(2017, 2027):
        day = date(year, 1, 1)
        for country in PRESET_COUNTRIES:
            offices = {
                term.office
                for p in officials.people
                if p.country == country
                for term in p.terms
                if term.covers(day)
            }
            assert "foreign-minister" in offices, (country, day)
            assert offices & {"head-of-state", "head-of-government"}, (country, day)


@pytest.mark.parametrize(
    ("text", "day", "expected"),
    [
        ("王毅同美国国务卿布林肯通电话", date(2021, 11, 13), {"wang-yi", "antony-blinken"}),
        (
            "С.В.Лавров провел разговор с Э.Блинкеном",
            date(2022, 1, 21),
            {"sergey-lavrov", "antony-blinken"},
        ),
        (
            "林芳正外務大臣とブリンケン米国務長官との電話会談",
            date(2022, 1, 13),
            {"yoshimasa-hayashi", "antony-blinken"},
        ),
        (
            "Secretary Blinken's Call with PRC Foreign Minister Wang Yi",
            date(2021, 11, 13),
            {"wang-yi", "antony-blinken"},
        ),
        # Out of office: Blinken was not Secretary of State in 2019, nor Qin Gang minister in 2021.
        ("Blinken met Qin Gang", date(2019, 6, 1), set()),
        # A common word is not a name: "Modification" is not Modi, "May" is not Theresa May.
        ("Modification of the May schedule", date(2018, 5, 1), set()),
        (
            "Ministre Jean-Yves Le Drian s'est entretenu avec Sergueï Lavrov",
            date(2019, 3, 1),
            {"jean-yves-le-drian", "sergey-lavrov"},
        ),
    ],
)
def test_names_are_found_in_every_script_only_in_office(
    text: str, day: date, expected: set[str]
) -> None:
    """Names match across languages and transliterations, and only on a date of their term."""
    officials = load_officials(SHIPPED)
    assert {m.person for m in officials.named_in(text, day)} == expected


BAD = """\
offices: [head-of-state, foreign-minister]
people:
  - id: a-person
    country: CN
    names: [Somebody Person]
    terms: [{office: foreign-minister, from: 2020-01-01, to: 2019-01-01}]
  - id: Bad Id
    country: cn
    names: [Other Person]
    terms: [{office: mayor, from: 2020-01-01}]
  - id: third
    country: US
    names: [Third Person, Third Person]
    terms: [{office: head-of-state, from: 2020-01-01}]
    nickname: Tee
"""


def test_bad_file_reports_every_problem_with_line_and_field() -> None:
    """Each problem is reported, at once, with the line and field it is about."""
    with pytest.raises(ConfigError) as info:
        parse_officials(BAD, file="officials.yaml")
    shown = [str(p) for p in info.value.problems]
    text = "\n".join(shown)
    assert "officials.yaml:6: people[0].terms[0]: `to` (2019-01-01) is before `from`" in text
    assert "officials.yaml:7: people[1].id: id 'Bad Id' must be lower-case" in text
    assert "officials.yaml:8: people[1].country: country 'cn' must be two capital letters" in text
    assert "officials.yaml:13: people[2].names: name(s) given twice: Third Person" in text
    assert "officials.yaml:15: people[2].nickname: unknown key 'nickname'" in text


def test_unknown_office_and_overlapping_holders_are_named() -> None:
    """An office not declared is named at its line; two people in one office on one day are
    named together."""
    unknown = """\
offices: [foreign-minister]
people:
  - {id: one, country: FR, names: [Un Ministre], terms: [{office: king, from: 2020-01-01}]}
"""
    with pytest.raises(ConfigError) as info:
        parse_officials(unknown, file="o.yaml")
    [problem] = info.value.problems
    assert str(problem) == (
        "o.yaml:3: people[0].terms[0].office: unknown office 'king' (offices: foreign-minister)"
    )
    overlap = """\
offices: [foreign-minister]
people:
  - {id: one, country: FR, names: [Un Ministre], terms: [{office: foreign-minister, from: 2020-01-01}]}
  - {id: two, country: FR, names: [Deux Ministre], terms: [{office: foreign-minister, from: 2021-01-01}]}
"""
    with pytest.raises(
        ConfigError, match="two and one both hold foreign-minister of FR on 2021-01-01"
    ):
        parse_officials(overlap, file="o.yaml")


def test_missing_and_empty_files_say_what_to_do(tmp_path: Path) -> None:
    """A missing file says how to provide one; an empty one says what it needs."""
    with pytest.raises(ConfigError, match="officials file not found; create it"):
        load_officials(tmp_path / "officials.yaml")
    (tmp_path / "officials.yaml").write_text("")
    with pytest.raises(ConfigError, match="needs `offices:` and `people:`"):
        load_officials(tmp_path / "officials.yaml")


def test_the_file_is_found_beside_the_sources_file(tmp_path: Path) -> None:
    """`officials:` is relative to the sources file; by default officials.yaml beside it."""
    config = tmp_path / "conf" / "sources.yaml"
    assert officials_path(config, None) == tmp_path / "conf" / "officials.yaml"
    assert officials_path(config, "people/o.yaml") == tmp_path / "conf" / "people" / "o.yaml"
