"""Tests of storage.stored_diffs: each real kind of edit shows exactly that edit, transcripts name turns."""

from __future__ import annotations

import difflib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from storage.errors import StorageError
from storage.stored_diffs import (
    DiffInputError,
    count_words,
    diff_versions,
    is_empty,
    split_paragraphs,
    summarize,
)
from storage.textdiff import word_ops
from storage.turns import group_turns, looks_like_transcript, speaker_label

PARAGRAPHS = [
    "The Foreign Ministry spokesperson answered questions on July 3.",
    "China firmly opposes the so-called sanctions. They violate international law and the basic norms of international relations. The US side should stop it.",
    "We urge the relevant country to respect the facts.",
    "Both sides agreed to keep in communication.",
    "This concludes the press conference.",
]


def version(**changes: Any) -> dict[str, str | None]:
    """A version of a small article with some fields replaced."""
    fields: dict[str, str | None] = {
        "title": "Foreign Ministry Spokesperson's Regular Press Conference on July 3, 2020",
        "date": "2020-07-03 (day, title)",
        "section": "Regular Press Conference",
        "body_text": "\n\n".join(PARAGRAPHS),
    }
    fields.update(changes)
    return fields


def body(paragraphs: list[str]) -> str:
    """Paragraphs joined the way body_text stores them."""
    return "\n\n".join(paragraphs)


def changes(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """The body ops of a diff that are not equal."""
    return [op for op in diff["body"] if op["op"] != "equal"]


def real_transcript(fixtures_dir: Path, name: str = "china-en-article-1") -> list[str]:
    """The paragraphs of a real press-conference page, whitespace-normalized."""
    html = (fixtures_dir / "real-pages" / f"{name}.html").read_bytes()
    tree = LexborHTMLParser(html)
    texts = (" ".join(p.text().split()) for p in tree.css("div.content p"))
    return [t for t in texts if t]


def test_identical_versions_give_an_empty_diff() -> None:
    """Two identical versions produce a diff with no fields, no body ops and no words."""
    diff = diff_versions(version(), version())
    assert is_empty(diff)
    assert diff["fields"] == [] and diff["body"] == [] and diff["turns"] == []
    assert diff["unified"] == ""
    assert (diff["words_added"], diff["words_removed"]) == (0, 0)
    assert diff["summary"] == "no changes"


def test_one_word_changed_shows_only_that_word() -> None:
    """Changing one word gives one replaced paragraph whose word ops change only that word."""
    new = PARAGRAPHS.copy()
    new[2] = "We urge the relevant countries to respect the facts."
    diff = diff_versions(version(), version(body_text=body(new)))
    (op,) = changes(diff)
    assert (op["op"], op["old_index"], op["new_index"]) == ("replace", 2, 2)
    assert [w for w in op["words"] if w[0] != "eq"] == [["del", "country"], ["ins", "countries"]]
    assert (diff["words_added"], diff["words_removed"]) == (1, 1)
    assert diff["fields"] == []
    assert diff["summary"] == "1 paragraph changed; +1/-1 words"


def test_sentence_removed_shows_only_that_sentence() -> None:
    """Removing a sentence from a paragraph shows exactly that sentence deleted and nothing added."""
    new = PARAGRAPHS.copy()
    new[1] = "China firmly opposes the so-called sanctions. The US side should stop it."
    diff = diff_versions(version(), version(body_text=body(new)))
    (op,) = changes(diff)
    assert op["op"] == "replace" and op["old_index"] == 1
    edits = [w for w in op["words"] if w[0] != "eq"]
    assert edits == [
        ["del", "They violate international law and the basic norms of international relations. "]
    ]
    assert (diff["words_added"], diff["words_removed"]) == (0, 11)


def test_paragraph_added_shows_only_that_paragraph() -> None:
    """Adding a paragraph gives a single insert op at its new position, with its words counted."""
    added = "The spokesperson also took a follow-up question."
    new = PARAGRAPHS[:3] + [added] + PARAGRAPHS[3:]
    diff = diff_versions(version(), version(body_text=body(new)))
    (op,) = changes(diff)
    assert op == {
        "op": "insert",
        "old_index": None,
        "new_index": 3,
        "old": None,
        "new": added,
        "words": None,
        "count": 1,
    }
    assert (diff["words_added"], diff["words_removed"]) == (7, 0)  # "follow-up" is one word
    assert diff["summary"] == "1 paragraph added; +7/-0 words"


def test_paragraph_removed_shows_only_that_paragraph() -> None:
    """Removing a paragraph gives a single delete op naming its old position."""
    new = PARAGRAPHS[:2] + PARAGRAPHS[3:]
    diff = diff_versions(version(), version(body_text=body(new)))
    (op,) = changes(diff)
    assert (op["op"], op["old_index"], op["new_index"], op["old"]) == (
        "delete",
        2,
        None,
        PARAGRAPHS[2],
    )
    assert (diff["words_added"], diff["words_removed"]) == (0, 9)


def test_title_changed_shows_only_the_title() -> None:
    """Changing the title lists only the title, with word ops for the changed word."""
    new_title = "Foreign Ministry Spokesperson's Regular Press Conference on July 4, 2020"
    diff = diff_versions(version(), version(title=new_title))
    (field,) = diff["fields"]
    assert field["field"] == "title" and field["new"] == new_title
    assert [w for w in field["words"] if w[0] != "eq"] == [["del", "3"], ["ins", "4"]]
    assert diff["body"] == [] and diff["unified"] == ""
    assert diff["summary"] == "title changed"
    assert not is_empty(diff)


def test_date_changed_shows_only_the_date() -> None:
    """Changing the date lists only the date field, old and new display strings."""
    diff = diff_versions(version(), version(date="2020-07-03 15:00 +08:00 (minute, page)"))
    assert diff["fields"] == [
        {
            "field": "date",
            "old": "2020-07-03 (day, title)",
            "new": "2020-07-03 15:00 +08:00 (minute, page)",
            "words": None,
        }
    ]
    assert diff["body"] == [] and diff["summary"] == "date changed"


def test_section_appearing_counts_as_a_field_change() -> None:
    """A section that was missing (None) and now has a value is a field change."""
    diff = diff_versions(version(section=None), version())
    assert [f["field"] for f in diff["fields"]] == ["section"]
    assert diff["fields"][0]["old"] is None


def test_long_unchanged_runs_are_collapsed_around_the_change() -> None:
    """Unchanged paragraphs far from a change are collapsed to counts; context keeps its text."""
    old = [f"Paragraph number {k} of the statement." for k in range(40)]
    new = old.copy()
    new[20] = "Paragraph number twenty of the statement."
    diff = diff_versions(version(body_text=body(old)), version(body_text=body(new)))
    shape = [(op["op"], op["old_index"], op["count"], op["old"] is not None) for op in diff["body"]]
    assert shape == [
        ("equal", 0, 19, False),
        ("equal", 19, 1, True),
        ("replace", 20, 1, True),
        ("equal", 21, 1, True),
        ("equal", 22, 18, False),
    ]
    assert sum(op["count"] for op in diff["body"]) == 40
    narrow = diff_versions(version(body_text=body(old)), version(body_text=body(new)), context=0)
    assert [op["op"] for op in narrow["body"]] == ["equal", "replace", "equal"]


def test_unified_diff_matches_difflib() -> None:
    """The unified diff is the one difflib writes for the same paragraphs, on random edits."""
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    for _ in range(300):
        old = [f"{rng.choice(words)} {rng.choice(words)}." for _ in range(rng.randint(0, 15))]
        new = old.copy()
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.3 and new:
                del new[rng.randrange(len(new))]
            elif roll < 0.6:
                new.insert(rng.randint(0, len(new)), f"{rng.choice(words)} new.")
            elif new:
                k = rng.randrange(len(new))
                new[k] = new[k] + " More."
        context = rng.randint(0, 3)
        diff = diff_versions({"body_text": body(old)}, {"body_text": body(new)}, context=context)
        expected = "".join(
            difflib.unified_diff(
                [p + "\n" for p in old], [p + "\n" for p in new], "old", "new", n=context
            )
        )
        assert diff["unified"] == expected


def test_word_ops_rebuild_both_texts() -> None:
    """Joining eq+del word ops gives the old text and eq+ins the new one, for Latin and CJK edits."""
    rng = random.Random(11)
    vocab = [
        "China",
        "the",
        "U.S.",
        "win-win",
        "，",
        "。",
        "中国",
        "外交部",
        "发言人",
        "said",
        "3.5",
        "\n",
    ]
    for _ in range(400):
        old = " ".join(rng.choices(vocab, k=rng.randint(0, 60)))
        tokens = old.split(" ")
        for _ in range(rng.randint(0, 5)):
            k = rng.randrange(len(tokens) + 1)
            if rng.random() < 0.5 and k < len(tokens):
                del tokens[k]
            else:
                tokens.insert(k, rng.choice(vocab) + rng.choice(["", ".", " x"]))
        new = " ".join(tokens)
        ops = inline_ops(old, new)
        assert "".join(t for tag, t in ops if tag != "ins") == old
        assert "".join(t for tag, t in ops if tag != "del") == new
        assert all(text for _, text in ops)


def test_long_paragraph_edit_is_exact() -> None:
    """In a paragraph long enough to be compared sentence by sentence, one word edit stays one word."""
    sentences = [f"Sentence {k} talks about topic {k * 7} at some length." for k in range(60)]
    old = " ".join(sentences)
    new = old.replace("topic 210 ", "subject 210 ")
    ops = inline_ops(old, new)
    assert [op for op in ops if op[0] != "eq"] == [("del", "topic"), ("ins", "subject")]
    assert "".join(t for tag, t in ops if tag != "ins") == old


def test_chinese_words_are_counted_per_character() -> None:
    """Chinese text counts one word per CJK character, Latin words per word, punctuation not at all."""
    assert count_words("中国外交部发言人赵立坚") == 11
    assert count_words("中国，外交部。") == 5
    assert count_words("Zhao Lijian said 中国 is 3.5 times U.S. size") == 10
    old = "中国外交部发言人赵立坚主持例行记者会。"
    new = "中国外交部发言人汪文斌主持例行记者会。"
    diff = diff_versions({"body_text": old}, {"body_text": new})
    assert (diff["words_added"], diff["words_removed"]) == (3, 3)
    assert [w for w in diff["body"][0]["words"] if w[0] != "eq"] == [
        ["del", "赵立坚"],
        ["ins", "汪文斌"],
    ]


def test_real_transcript_turn_removed_is_named(fixtures_dir: Path) -> None:
    """Removing turn 7 of a real press-conference transcript reports exactly "turn 7 removed"."""
    pars = real_transcript(fixtures_dir)
    assert looks_like_transcript(pars)
    _, turns = group_turns(pars)
    seventh = turns[6]
    assert seventh.label == "RIA Novosti"
    new = [p for p in pars if p not in seventh.paragraphs]
    diff = diff_versions(version(body_text=body(pars)), version(body_text=body(new)))
    assert diff["turns"] == ["turn 7 removed"]
    assert diff["summary"].endswith("; turn 7 removed")


def test_real_transcript_multi_paragraph_turn_removed(fixtures_dir: Path) -> None:
    """Removing an answer of four paragraphs is one removed turn, not four paragraph changes."""
    pars = real_transcript(fixtures_dir)
    _, turns = group_turns(pars)
    sixth = turns[5]
    assert len(sixth.paragraphs) == 4
    new = [p for p in pars if p not in sixth.paragraphs]
    diff = diff_versions(version(body_text=body(pars)), version(body_text=body(new)))
    assert diff["turns"] == ["turn 6 removed"]
    assert [op["op"] for op in changes(diff)] == ["delete"] * 4


def test_real_transcript_turn_changed_and_added(fixtures_dir: Path) -> None:
    """Editing inside an answer names that turn as changed; a new Q&A pair is named in new numbers."""
    pars = real_transcript(fixtures_dir)
    _, turns = group_turns(pars)
    edited_par = turns[5].paragraphs[2]
    assert edited_par.startswith("Looking forward,")
    new = [p.replace("Looking forward,", "Looking ahead,") if p == edited_par else p for p in pars]
    new += ["Reuters: One more question on trade.", "Zhao Lijian: I have nothing to add."]
    diff = diff_versions(version(body_text=body(pars)), version(body_text=body(new)))
    assert diff["turns"] == ["turn 6 changed", "turn 23 added", "turn 24 added"]
    assert diff["summary"].endswith("turn 6 changed; turns 23-24 added")


def test_chinese_transcript_turn_removed(fixtures_dir: Path) -> None:
    """A real Chinese transcript (labels ending in "：") names a removed turn the same way."""
    pars = real_transcript(fixtures_dir, "china-zh-article-2")
    _, turns = group_turns(pars)
    assert turns[0].label == "中央电视台记者"
    new = [p for p in pars if p not in turns[3].paragraphs]
    diff = diff_versions({"body_text": body(pars)}, {"body_text": body(new)})
    assert diff["turns"] == ["turn 4 removed"]


def test_prose_has_no_turns() -> None:
    """An ordinary statement (no speaker labels) reports no turns even when edited."""
    new = PARAGRAPHS[:4]
    diff = diff_versions(version(), version(body_text=body(new)))
    assert diff["turns"] == []


@pytest.mark.parametrize(
    ("paragraph", "label"),
    [
        ("Zhao Lijian:Indeed, the documentary", "Zhao Lijian"),
        ("CCTV: The foreign ministry of Laos", "CCTV"),
        ("Q: Will China respond?", "Q"),
        ("赵立坚：中方对此表示欢迎。", "赵立坚"),
        ("中央电视台记者：老挝外交部发表声明", "中央电视台记者"),
        ("10:30 is when the meeting starts.", None),
        ("https://www.fmprc.gov.cn is the address.", None),
        ("On July 3, the spokesperson said: no comment.", None),
        ("China and India, both major developing countries, agreed: yes.", None),
        ("China firmly opposes the so-called sanctions.", None),
    ],
)
def test_speaker_labels(paragraph: str, label: str | None) -> None:
    """A short name before a colon is a speaker label; times, URLs and clauses are not."""
    assert speaker_label(paragraph) == label


def test_diff_round_trips_through_json(fixtures_dir: Path) -> None:
    """A diff survives json.dumps/json.loads unchanged, and its summary rebuilds from the copy."""
    pars = real_transcript(fixtures_dir)
    new = pars[:3] + pars[4:]
    new[10] = new[10].replace("China", "the PRC")
    diff = diff_versions(version(body_text=body(pars)), version(title="New", body_text=body(new)))
    copy = json.loads(json.dumps(diff, ensure_ascii=False))
    assert copy == diff
    assert summarize(copy) == diff["summary"]
    assert not is_empty(copy)


def test_bad_input_names_every_problem() -> None:
    """Unknown fields and non-text values are all reported in one error naming them."""
    with pytest.raises(DiffInputError) as info:
        diff_versions({"title": 3, "url": "x"}, version())  # type: ignore[dict-item]
    message = str(info.value)
    assert "old['url'] is not a known field (allowed: title, date, section, body_text)" in message
    assert "old['title'] must be str or None, got int" in message
    assert isinstance(info.value, StorageError)
    with pytest.raises(DiffInputError, match="new must be a mapping"):
        diff_versions(version(), "body")  # type: ignore[arg-type]


def test_stored_diff_of_another_schema_is_refused() -> None:
    """A stored diff with an unknown schema number is refused with the number it has."""
    with pytest.raises(DiffInputError, match="schema 2"):
        summarize({"schema": 2, "fields": [], "body": []})
    with pytest.raises(DiffInputError, match="malformed"):
        summarize({"schema": 1, "fields": []})


def test_summary_groups_turn_numbers() -> None:
    """The summary folds consecutive turn numbers into ranges per verb."""
    stored = diff_versions(version(), version())
    stored["turns"] = ["turn 3 changed", "turn 4 changed", "turn 5 changed", "turn 9 changed"]
    stored["turns"].append("turn 7 removed")
    assert summarize(stored) == "turns 3-5, 9 changed; turn 7 removed"


def test_split_paragraphs_ignores_blank_runs() -> None:
    """Paragraphs are separated by one or more blank lines and stripped; empty ones vanish."""
    assert split_paragraphs("a\n\n\n\n b \n \n c\nd\n\n") == ["a", "b", "c\nd"]
    assert split_paragraphs(None) == []


def test_inserted_word_is_marked_from_its_first_letter() -> None:
    """An inserted or deleted word carries its following space, so marks start on the word."""
    assert inline_ops("They had a frank exchange.", "They had a candid frank exchange.") == [
        ("eq", "They had a "),
        ("ins", "candid "),
        ("eq", "frank exchange."),
    ]
    assert inline_ops("relations.", "relations and Taiwan.") == [
        ("eq", "relations"),
        ("ins", " and Taiwan"),
        ("eq", "."),
    ]


def inline_ops(old_text: str, new_text: str) -> list[tuple[str, str]]:
    """Word-level ops (`eq`/`ins`/`del`, text) turning `old_text` into `new_text`."""
    ops, _, _ = word_ops(old_text, new_text)
    return [(tag, text) for tag, text in ops]
