"""`mfawatch crawl --once` and `mfawatch export` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.crawler.test_pipeline import EN_ARTICLES, ZH_ARTICLES, write_config
from tests.site import Site

MODEL_FIELDS = {
    "source",
    "url",
    "title",
    "published_at",
    "published_date",
    "date_precision",
    "date_source",
    "section",
    "language",
    "body_text",
    "body_html",
    "first_seen_at",
    "last_checked_at",
    "last_changed_at",
    "status",
    "version",
}


def mfawatch(*args: str, db: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the mfawatch command line in a subprocess."""
    cmd = [sys.executable, "-m", "mfawatch", "--db", str(db)]
    if config is not None:
        cmd += ["--config", str(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, env=env)


def test_crawl_then_export(tmp_path: Path, site: Site) -> None:
    """A crawl stores every article, prints a one-line summary, exits 0; export writes them as JSON lines."""
    db = tmp_path / "db.sqlite3"
    config = write_config(tmp_path, site)
    run = mfawatch("crawl", "--once", db=db, config=config)
    assert run.returncode == 0, run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith("crawl: 2 source(s)")
    assert f"{EN_ARTICLES + ZH_ARTICLES} new" in summary and "0 error(s)" in summary
    assert "Traceback" not in run.stderr

    again = mfawatch("crawl", "--once", db=db, config=config)
    assert again.returncode == 0 and " 0 new" in again.stdout

    export = mfawatch("export", "--format", "jsonl", db=db, config=config)
    assert export.returncode == 0, export.stderr
    rows = [json.loads(line) for line in export.stdout.splitlines()]
    assert len(rows) == EN_ARTICLES + ZH_ARTICLES
    assert all(MODEL_FIELDS <= set(r) for r in rows)
    assert "发言人" in export.stdout  # UTF-8, not \\u escapes
    only_zh = mfawatch(
        "export", "--format", "jsonl", "--source", "fixture-zh", db=db, config=config
    )
    assert len(only_zh.stdout.splitlines()) == ZH_ARTICLES


def test_failing_source_gives_exit_1_and_names_it(tmp_path: Path, site: Site) -> None:
    """With one broken source the crawl exits 1, names the failure, and still stores the others."""
    db = tmp_path / "db.sqlite3"
    run = mfawatch("crawl", "--once", db=db, config=write_config(tmp_path, site, broken=True))
    assert run.returncode == 1
    assert "fixture-broken" in run.stderr and "ul.newsList li" in run.stderr
    assert "Traceback" not in run.stderr
    assert f"{EN_ARTICLES + ZH_ARTICLES} new" in run.stdout


def test_unreachable_sites_end_with_clear_errors(tmp_path: Path) -> None:
    """With no network (a closed port), every source fails with a clear error and exit 1, no traceback."""
    config = tmp_path / "offline.yaml"
    config.write_text(
        "sources:\n"
        "  - {key: offline, name: Offline, country: CN, timezone: Asia/Shanghai,\n"
        "     politeness: {retries: 0},\n"
        "     listings: [{url: 'http://127.0.0.1:9/news/'}], list: {item: li}}\n"
    )
    run = mfawatch("crawl", "--once", db=tmp_path / "db.sqlite3", config=config)
    assert run.returncode == 1
    assert "offline" in run.stderr and "127.0.0.1:9" in run.stderr
    assert "Traceback" not in run.stderr


def test_bad_config_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    """An invalid config gives exit code 2, names file and line, and creates no database."""
    config = tmp_path / "bad.yaml"
    config.write_text(
        "sources:\n  - key: x\n    name: X\n    country: CN\n    timezone: Asia/Shangai\n    listings: [{url: 'http://127.0.0.1:9/'}]\n    list: {item: li}\n"
    )
    db = tmp_path / "db.sqlite3"
    run = mfawatch("crawl", "--once", db=db, config=config)
    assert run.returncode == 2
    assert "bad.yaml" in run.stderr and "timezone" in run.stderr and "Asia/Shangai" in run.stderr
    assert not db.exists()


def test_crawl_requires_once(tmp_path: Path) -> None:
    """`crawl` without --once is a usage error (exit 2) pointing to `mfawatch run`."""
    run = mfawatch("crawl", db=tmp_path / "db.sqlite3")
    assert run.returncode == 2 and "mfawatch run" in run.stderr


def test_deeply_nested_config_exits_2_without_traceback(tmp_path: Path) -> None:
    """YAML nested 300 deep: exit 2 with file and line (was a RecursionError traceback, exit 1)."""
    config = tmp_path / "deep.yaml"
    config.write_text("sources: " + "[" * 300 + "]" * 300 + "\n")
    run = mfawatch("sources", "check", db=tmp_path / "db.sqlite3", config=config)
    assert run.returncode == 2, run.stderr
    assert "deep.yaml:1" in run.stderr and "Traceback" not in run.stderr


def test_oversized_config_exits_2_naming_file_and_limit(tmp_path: Path) -> None:
    """A 2 MB config of comments is refused at once (exit 2), naming the file and the limit."""
    config = tmp_path / "big.yaml"
    config.write_text(("#" * 99 + "\n") * 20_000 + "sources: []\n")
    run = mfawatch("sources", "check", db=tmp_path / "db.sqlite3", config=config)
    assert run.returncode == 2, run.stderr
    assert "big.yaml" in run.stderr and "1024 KB limit" in run.stderr


def test_one_shot_crawl_updates_health_as_the_daemon_does(tmp_path: Path, site: Site) -> None:
    """`status` after a blocked `crawl --once` says `blocked` (it said `health: ok` before)."""
    config = tmp_path / "blocked.yaml"
    config.write_text(
        "sources:\n"
        "  - {key: walled, name: Walled, country: CN, politeness: {respect_robots: false,"
        " retries: 0},\n"
        f"     listings: [{{url: '{site.url('/challenge')}'}}], list: {{item: li}}}}\n"
    )
    db = tmp_path / "db.sqlite3"
    run = mfawatch("crawl", "--once", db=db, config=config)
    assert run.returncode == 1, run.stderr
    status = mfawatch("status", "--format", "json", db=db, config=config)
    (source,) = json.loads(status.stdout)["sources"]
    assert source["health"] == "blocked" and source["last_run"]["result"] == "blocked"
    assert source["last_error"]


def test_summary_counts_missing_articles(tmp_path: Path, site: Site) -> None:
    """The crawl summary has a `missing` count: a known article answering 404 on a recheck is one."""
    db = tmp_path / "db.sqlite3"
    config = write_config(tmp_path, site)
    assert mfawatch("crawl", "--once", db=db, config=config).returncode == 0
    site.remove("/sites/two-sources/en/t1001.shtml")
    run = mfawatch("crawl", "--once", "--recheck", db=db, config=config)
    summary = run.stdout.strip().splitlines()[-1]
    assert ", 1 missing," in summary, summary


def test_a_full_disk_is_a_plain_message_naming_the_database(tmp_path: Path, site: Site) -> None:
    """SQLite answering "database or disk is full" (a real SQLITE_FULL, from `max_page_count`)
    ends the crawl with exit 1 and one message: the disk is full, which database, nothing lost."""
    import gc
    import random

    import sqlalchemy as sa
    from click.testing import CliRunner
    from sqlalchemy.engine import Engine

    from mfawatch.cli import cli
    from storage.engine import open_db

    rng = random.Random(7)
    links = []
    for n in range(3):  # pages of ~200 KB of incompressible text: more than the database may grow
        words = " ".join(f"{rng.getrandbits(64):x}" for _ in range(12_000))
        site.add(
            f"/full/a{n}.html", f"<html><body><h1>Release {n}</h1><p>{words}</p></body></html>"
        )
        links.append(f"<li><a href='/full/a{n}.html'>Release {n}</a></li>")
    site.add("/full/list.html", f"<html><body><ul>{''.join(links)}</ul></body></html>")
    config = tmp_path / "full.yaml"
    config.write_text(
        "sources:\n"
        "  - {key: full, name: Full, country: CN, politeness: {respect_robots: false},\n"
        f"     listings: [{{url: '{site.url('/full/list.html')}'}}], list: {{item: li}}}}\n"
    )
    db = tmp_path / "db.sqlite3"
    database = open_db(str(db))
    with database.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    database.dispose()

    def limit(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 8}")  # type: ignore[attr-defined]

    sa.event.listen(Engine, "connect", limit)
    thresholds = gc.get_threshold()
    try:
        run = CliRunner().invoke(cli, ["--db", str(db), "--config", str(config), "crawl", "--once"])
    finally:
        sa.event.remove(Engine, "connect", limit)
        # `crawl` tunes the collector for the process (mfawatch.gc_tuning), here the test
        # worker's: put its thresholds back for the tests that follow on this worker.
        gc.set_threshold(*thresholds)
    assert run.exit_code == 1, run.output
    assert "disk holding the database" in run.output and str(db.resolve()) in run.output
    assert "nothing was lost" in run.output
    assert "Traceback" not in run.output and "internal error" not in run.output


def test_summary_says_what_run_bounds_left_for_the_next_run() -> None:
    """A partial run's deferred articles are in the summary line, with the number of sources."""
    from crawler.context import SourceResult
    from mfawatch.commands.crawl import summary_line

    done = SourceResult("a", new=2)
    cut = SourceResult("b", new=1, deferred=3, deadline_reached=True)
    assert cut.status == "partial" and cut.ok
    line = summary_line([done, cut])
    assert "3 new, 0 changed, 0 returned, 0 missing," in line
    assert "1 source(s) cut short by run bounds (3 article(s) left for the next run)" in line
    assert "cut short" not in summary_line([done])
