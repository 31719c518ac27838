"""Watchlist rules: keywords (case-insensitive, CJK, globs) and regexes, and what they match on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digest.alerts import AlertRule, AlertRuleError, match_item, rules_from
from digest.model import Change, Item, ItemKind, Passage, Segment

T = datetime(2026, 11, 27, tzinfo=UTC)


def _item(kind: ItemKind = ItemKind.NEW, title: str = "A statement", **kw: object) -> Item:
    return Item(kind=kind, article_id=1, version=1, source="s", title=title, url="https://x/",
                first_seen_at=T, event_at=T, **kw)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "text", "terms"),
    [
        (AlertRule("t", keywords=("Taiwan",)), "on the TAIWAN question", ("TAIWAN",)),
        (AlertRule("t", keywords=("台湾",)), "外交部发言人就台湾问题答记者问", ("台湾",)),
        (AlertRule("s", keywords=("sanction*",)), "new Sanctions; sanctioned firms", ("Sanctions", "sanctioned")),
        (AlertRule("r", regex=(r"\bminist(er|ry)\b",)), "The Ministry said", ("Ministry",)),
    ],
)  # fmt: skip
def test_rules_find_their_terms(rule: AlertRule, text: str, terms: tuple[str, ...]) -> None:
    """Keywords, CJK keywords, globs and regexes match case-insensitively and report what matched."""
    assert rule.find(text) == terms


def test_non_matching_text_finds_nothing() -> None:
    """A rule finds nothing in text without its terms."""
    assert AlertRule("t", keywords=("Taiwan", "台湾")).find("Talks on trade") == ()


def test_new_items_match_on_title_and_body() -> None:
    """A new item is marked when its body (not only its title) matches."""
    marked = match_item(_item(), [AlertRule("t", keywords=("Taiwan",))], body="About Taiwan.")
    assert [(h.rule, h.terms) for h in marked.alerts] == [("t", ("Taiwan",))]


def test_changed_items_match_only_on_what_was_added() -> None:
    """An edit fires only if it added a term; an old mention does not fire again."""
    segments = (Segment("equal", "Taiwan is "), Segment("insert", "very "))
    change = Change(1, 2, passages=(Passage(segments),))
    rules = [AlertRule("t", keywords=("Taiwan",)), AlertRule("v", keywords=("very",))]
    marked = match_item(_item(ItemKind.CHANGED, change=change), rules)
    assert [h.rule for h in marked.alerts] == ["v"]


def test_removed_items_never_match() -> None:
    """Removals are not alerts (there is no new text)."""
    item = _item(ItemKind.REMOVED, title="Taiwan statement")
    assert match_item(item, [AlertRule("t", keywords=("Taiwan",))]).alerts == ()


def test_bad_rules_are_rejected_with_their_name() -> None:
    """A broken regex or an empty rule names the rule."""
    with pytest.raises(AlertRuleError, match="alert 'x': invalid regex"):
        AlertRule("x", regex=("(unclosed",))
    with pytest.raises(AlertRuleError, match="alert 'y' needs at least one"):
        AlertRule("y")


def test_rules_from_config_like_objects() -> None:
    """Config models (anything with the four attributes) convert to rules."""

    class Cfg:
        name, keywords, regex, channels = "c", ("Taiwan",), (), ("json://127.0.0.1:1",)

    (rule,) = rules_from([Cfg()])
    assert rule.name == "c" and rule.channels == ("json://127.0.0.1:1",) and rule.find("taiwan")


@pytest.mark.parametrize(
    ("query", "text", "terms"),
    [
        ('"taiwan strait" -exercise', "Stability in the Taiwan Strait matters.", ("Taiwan Strait",)),
        ('"taiwan strait" -exercise', "A Taiwan Strait exercise began.", ()),
        ("台湾 OR ministère", "外交部发言人就台湾问题答记者问", ("台湾",)),
        ("台湾 OR ministère", "Le MINISTERE a dit", ("MINISTERE",)),
        ("sanction*", "new Sanctions; sanctioned firms", ("Sanctions", "sanctioned")),
        ("-taiwan", "Talks on trade", ("-taiwan",)),
        ("岸田", "岸田総理はウクライナを訪問", ("岸田",)),
        ("岸田", "岸本氏", ()),
    ],
)  # fmt: skip
def test_a_query_alert_is_a_saved_search(query: str, text: str, terms: tuple[str, ...]) -> None:
    """An alert's query uses the search language and rules: phrases, NOT, OR, prefixes, CJK."""
    assert AlertRule("q", query=query).find(text) == terms


def test_a_bad_query_alert_names_the_rule() -> None:
    """An alert whose query cannot be parsed is refused with its name and the problem."""
    with pytest.raises(AlertRuleError, match=r"alert 'q': bad query: unbalanced quote"):
        AlertRule("q", query='"taiwan')
    assert rules_from([type("A", (), {"name": "x", "query": "taiwan"})()])[0].query == "taiwan"
