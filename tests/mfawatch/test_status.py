"""`mfawatch status`: per-source last run, result, counts, health, last error and next run."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from mfawatch.cli import cli
from mfawatch.lock import DaemonLock
from storage import runs
from storage.engine import open_db
from tests.mfawatch.daemon_support import Ministry, source_yaml, write_config
from tests.site import Site


def invoke(config: Path, db: Path, *args: str) -> Any:
    """Run one command in-process; return click's result."""
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", str(db), *args], env={})
    return result


def status_json(config: Path, db: Path) -> dict[str, Any]:
    """`status --format json`, parsed."""
    result = invoke(config, db, "status", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def two_sources(tmp_path: Path, site: Site) -> Path:
    """A config with one enabled source and one disabled source."""
    first = Ministry(site, "first", articles=3)
    second = Ministry(site, "second", articles=1)
    return write_config(
        tmp_path / "s.yaml",
        source_yaml("first", first.listing_url, every="10m"),
        source_yaml("second", second.listing_url) + "    enabled: false\n",
    )


def test_status_before_any_run_lists_every_configured_source(tmp_path: Path, site: Site) -> None:
    """With an empty database every configured source is listed, never run, with no next run while no daemon runs."""
    config = two_sources(tmp_path, site)
    report = status_json(config, tmp_path / "m.sqlite3")
    assert report["daemon"] == {"running": False, "pid": None}
    first, second = report["sources"]
    assert (first["key"], first["enabled"], second["key"], second["enabled"]) == (
        "first",
        True,
        "second",
        False,
    )
    assert first["schedule"] == "every 10m"
    for src in (first, second):
        assert src["last_run"] is None
        assert src["next_run"] is None
        assert src["health"] == "ok"
        assert src["articles"] == 0


def test_status_after_a_crawl_shows_the_result_and_counts(tmp_path: Path, site: Site) -> None:
    """After `crawl --once`, status shows the run's result, its counts and the stored articles."""
    config = two_sources(tmp_path, site)
    db = tmp_path / "m.sqlite3"
    crawl = invoke(config, db, "crawl", "--once")
    assert crawl.exit_code == 0, crawl.output
    first = status_json(config, db)["sources"][0]
    assert first["last_run"]["result"] == "ok"
    assert first["last_run"]["counts"]["new"] == 3
    assert first["last_run"]["finished_at"] >= first["last_run"]["started_at"]
    assert first["articles"] == 3
    assert first["last_error"] is None

    text = invoke(config, db, "status")
    assert text.exit_code == 0
    assert "daemon: not running" in text.stdout
    assert "first  health: ok" in text.stdout
    assert "new 3" in text.stdout
    assert "second [disabled]" in text.stdout


def test_next_run_is_one_interval_after_the_last_run_while_a_daemon_runs(
    tmp_path: Path, site: Site
) -> None:
    """While a daemon holds the database, an interval source's next run is its last start plus `every`."""
    config = two_sources(tmp_path, site)
    db = tmp_path / "m.sqlite3"
    started = datetime.now(UTC) - timedelta(minutes=3)
    database = open_db(str(db))
    try:
        with database.session() as s:
            run_id = runs.start_run(s, "first", started)
            runs.finish_run(
                s,
                run_id,
                finished_at=started + timedelta(seconds=4),
                status="ok",
                counts={},
                error=None,
            )
    finally:
        database.dispose()
    with DaemonLock(db):
        report = status_json(config, db)
    assert report["daemon"] == {"running": True, "pid": os.getpid()}
    first, second = report["sources"]
    assert datetime.fromisoformat(first["next_run"]) == started + timedelta(minutes=10)
    assert second["next_run"] is None  # disabled
    text_free = status_json(config, db)
    assert text_free["sources"][0]["next_run"] is None  # the lock is gone: no daemon, no next run


def test_a_run_left_running_without_a_daemon_is_shown_as_interrupted(
    tmp_path: Path, site: Site
) -> None:
    """A run row never finished (the process was killed) reads `interrupted` once no daemon runs."""
    config = two_sources(tmp_path, site)
    db = tmp_path / "m.sqlite3"
    database = open_db(str(db))
    try:
        with database.session() as s:
            runs.start_run(s, "first", datetime.now(UTC))
    finally:
        database.dispose()
    first = status_json(config, db)["sources"][0]
    assert first["last_run"]["result"] == "interrupted"
    assert first["last_run"]["finished_at"] is None
    with DaemonLock(db):
        assert status_json(config, db)["sources"][0]["last_run"]["result"] == "running"


def test_health_and_last_error_of_a_failing_source(tmp_path: Path, site: Site) -> None:
    """A source whose stored health is failing shows that state, since when, and its last error."""
    config = two_sources(tmp_path, site)
    db = tmp_path / "m.sqlite3"
    when = datetime.now(UTC) - timedelta(hours=2)
    database = open_db(str(db))
    try:
        with database.session() as s:
            runs.update_health(
                s, "first", state="failing", error="http://x/list: HTTP 503", at=when
            )
    finally:
        database.dispose()
    first = status_json(config, db)["sources"][0]
    assert first["health"] == "failing"
    assert first["consecutive_failures"] == 1
    assert first["last_error"] == "http://x/list: HTTP 503"
    assert datetime.fromisoformat(first["health_since"]) == when
    text = invoke(config, db, "status").stdout
    assert "first  health: failing" in text
    assert "last error: http://x/list: HTTP 503" in text


def test_status_still_reports_when_the_config_is_invalid(tmp_path: Path, site: Site) -> None:
    """With a broken config file, status warns and still shows what the database knows."""
    config = two_sources(tmp_path, site)
    db = tmp_path / "m.sqlite3"
    assert invoke(config, db, "crawl", "--once").exit_code == 0
    config.write_text("sources: [", encoding="utf-8")
    result = invoke(config, db, "status", "--format", "json")
    assert result.exit_code == 0
    assert "warning" in result.stderr
    sources = {s["key"]: s for s in json.loads(result.stdout)["sources"]}
    assert sources["first"]["in_config"] is False
    assert sources["first"]["articles"] == 3
