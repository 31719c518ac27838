"""`mfawatch search` as a user runs it: formats, marks, scopes, bad queries, migration, rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from mfawatch.cli import cli
from storage.engine import open_db
from tests.mfawatch.test_cli_crawl import mfawatch
from tests.storage.search.corpus import load


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The multilingual search corpus in a SQLite file."""
    path = tmp_path_factory.mktemp("search") / "db.sqlite3"
    db = open_db(f"sqlite:///{path}")
    load(db)
    db.dispose()
    return path


def _json(db: Path, *args: str) -> dict[str, object]:
    run = mfawatch("search", *args, "--format", "json", db=db)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def test_json_names_ids_versions_and_the_marked_words(corpus_db: Path) -> None:
    """JSON hits carry the article id, matching versions, snippet and mark offsets."""
    data = _json(corpus_db, "王毅", "--in", "all", "--sort", "date")
    hits = data["hits"]
    assert isinstance(hits, list) and data["total"] == 3
    assert [h["url"].rsplit("/", 1)[1] for h in hits] == ["mix-2.html", "ja-2.html", "zh-2.html"]
    for hit in hits:
        start, end = hit["marks"][0]
        assert hit["snippet"][start:end] == "王毅"
        assert isinstance(hit["article_id"], int) and hit["versions"]
    assert hits[0]["versions"] == [1] and hits[0]["current_version"] == 2


def test_removed_text_is_found_under_in_removed(corpus_db: Path) -> None:
    """--in removed finds the deleted passage and the removed article, not the current text."""
    data = _json(corpus_db, "taiwan OR ceasefire", "--in", "removed", "--sort", "date")
    urls = {h["url"].rsplit("/", 1)[1]: h for h in data["hits"]}  # type: ignore[union-attr]
    assert set(urls) == {"de-1.html", "en-5.html", "en-3.html"}
    assert urls["en-3.html"]["status"] == "removed"
    assert "Taiwan Strait" in urls["en-5.html"]["snippet"]


def test_markdown_bolds_and_terminal_marks_in_bold(corpus_db: Path) -> None:
    """Markdown marks matches with **, a terminal in bold; page text stays escaped/cleaned."""
    md = mfawatch("search", "台湾", "--in", "all", "--format", "md", db=corpus_db)
    assert md.returncode == 0 and "**台湾**" in md.stdout
    result = CliRunner().invoke(
        cli, ["--db", str(corpus_db), "search", "岸田", "--in", "all"], color=True
    )
    assert result.exit_code == 0, result.output
    assert "\x1b[1m岸田\x1b[0m" in result.output
    plain = mfawatch("search", "岸田", db=corpus_db)
    assert "\x1b" not in plain.stdout and "岸田" in plain.stdout


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"one china', "unbalanced quote"),
        ("OR", "needs a word or phrase"),
        ("taiwan NOT", "needs a word or phrase after it"),
        ("x" * 10_000, "the limit is 1,000"),
        ("!!!", "no word to search for"),
    ],
)
def test_bad_queries_are_a_clear_message_and_exit_2(
    corpus_db: Path, query: str, message: str
) -> None:
    """Bad input is exit 2 with one message naming the problem; never a traceback."""
    run = mfawatch("search", query, db=corpus_db)
    assert run.returncode == 2 and message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_a_database_from_before_the_index_is_indexed_by_the_first_search(
    tmp_path: Path,
) -> None:
    """Migration 0006 on a 0005 database (with its articles) plans a backfill; the first search
    runs it."""
    path = tmp_path / "old.sqlite3"
    db = open_db(f"sqlite:///{path}")
    load(db)
    from alembic import command

    from storage import migrate

    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:  # a database of the release before the index
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    db.dispose()
    data = _json(path, "台湾", "--in", "all")
    assert data["total"] == 3
    db = open_db(f"sqlite:///{path}")
    with db.engine.connect() as conn:
        state = conn.execute(
            sa.text("SELECT backfilled_to, backfill_until FROM search_state")
        ).one()
    db.dispose()
    assert state[0] == state[1] > 0
    rebuilt = mfawatch("search", "--rebuild", db=path)
    assert rebuilt.returncode == 0 and "rebuilt" in rebuilt.stderr, rebuilt.stderr
    assert _json(path, "台湾", "--in", "all")["total"] == 3


def test_hostile_page_text_reaches_no_terminal(tmp_path: Path) -> None:
    """Escape sequences in a title or body never reach the terminal, in any format."""
    from datetime import UTC, datetime

    from storage import versions
    from tests.storage.conftest import make_article, make_raw

    path = tmp_path / "hostile.sqlite3"
    db = open_db(f"sqlite:///{path}")
    now = datetime(2024, 1, 1, tzinfo=UTC)
    article = make_article(
        title="Taiwan \x1b]52;c;ZXZpbA==\x07 \x1b[2J title",
        body_text="About \x1b[31mTaiwan\x1b[0m and \x9b6n more\u202e text.",
    )
    with db.session() as s:
        versions.record_fetch(s, article, make_raw(), now=now, next_check_at=now)
    db.dispose()
    for fmt in ("text", "md", "json"):
        run = mfawatch("search", "taiwan", "--format", fmt, db=path)
        assert run.returncode == 0, run.stderr
        assert "Taiwan" in run.stdout
        assert not any(c in run.stdout for c in "\x1b\x07\x9b\u202e"), (fmt, run.stdout)
