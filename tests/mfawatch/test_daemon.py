"""`mfawatch run` as a real subprocess against loopback fixture sites: polling, signals, reloads, locks."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.mfawatch.daemon_support import (
    DaemonProcess,
    Ministry,
    count_articles,
    run_cli,
    source_yaml,
    wait_for,
    write_config,
)
from tests.site import Site

pytestmark = pytest.mark.slow


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Daemons started by a test; any still running at the end are killed."""
    started: list[DaemonProcess] = []
    yield started
    for d in started:
        d.kill()


def start(daemons: list[DaemonProcess], config: Path, db: Path, *args: str) -> DaemonProcess:
    daemon = DaemonProcess(config, db, *args)
    daemons.append(daemon)
    return daemon.started()


def test_polls_on_schedule_stores_a_new_article_and_stops_cleanly_on_sigterm(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """The daemon polls every 2 s, stores an article added to the site, and exits 0 on SIGTERM."""
    ministry = Ministry(site, "alpha", articles=3)
    config = write_config(tmp_path / "s.yaml", source_yaml("alpha", ministry.listing_url))
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db)

    wait_for(lambda: count_articles(db) == 3, what="the first three articles")
    wait_for(lambda: ministry.polls() >= 2, what="a second poll of the listing")
    second = site.requests_to(ministry.listing_path)[1]
    assert second.header("if-none-match"), "the second poll is a conditional GET"
    assert second.status == 304

    polls_before = ministry.polls()
    ministry.add()
    wait_for(lambda: count_articles(db) == 4, what="the new article to be stored")
    # Stored by the first poll that started after the article appeared (plus one in flight).
    assert ministry.polls() - polls_before <= 2

    assert daemon.stop(timeout=10) == 0
    events = daemon.events()  # every line is one JSON object
    assert all(isinstance(e, dict) and "message" in e and "level" in e for e in events)
    assert any(e["message"] == "daemon stopped" for e in events)
    assert not any("Traceback" in line for line in daemon.log())


def test_sigkill_mid_crawl_then_restart_loses_and_duplicates_nothing(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """A daemon killed with SIGKILL mid-crawl, then restarted, ends with every article once and an intact file."""
    total = 24
    ministry = Ministry(site, "slowpoke", articles=total)
    # One request at a time, 0.15 s apart: the first crawl takes several seconds.
    entry = source_yaml(
        "slowpoke", ministry.listing_url, extra=", concurrency_per_host: 1, min_delay: 0.15s"
    )
    config = write_config(tmp_path / "s.yaml", entry)
    db = tmp_path / "m.sqlite3"
    first = start(daemons, config, db)
    wait_for(lambda: count_articles(db) >= 3, what="a few articles of the first crawl")
    first.kill()
    partial = count_articles(db)
    assert 0 < partial < total, "the kill landed mid-crawl"

    second = start(daemons, config, db)
    wait_for(lambda: count_articles(db) == total, what="the restarted daemon to finish the crawl")
    assert second.stop() == 0

    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute(
            "SELECT a.url, count(v.id) FROM articles a JOIN versions v ON v.article_id = a.id "
            "GROUP BY a.id"
        ).fetchall()
        orphans = con.execute(
            "SELECT count(*) FROM versions WHERE article_id NOT IN (SELECT id FROM articles)"
        ).fetchone()[0]
    finally:
        con.close()
    assert len(rows) == total
    assert len({url for url, _ in rows}) == total
    assert all(n == 1 for _, n in rows), rows
    assert orphans == 0


def test_sigterm_mid_crawl_exits_0_within_10_s_and_rolls_back_what_was_cut(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """SIGTERM during a crawl longer than the grace period cancels it, exits 0 in time, and leaves whole articles only."""
    ministry = Ministry(site, "long", articles=90)
    entry = source_yaml(
        "long", ministry.listing_url, extra=", concurrency_per_host: 1, min_delay: 0.15s"
    )
    config = write_config(tmp_path / "s.yaml", entry)
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db)
    wait_for(lambda: count_articles(db) >= 2, what="the crawl to be under way")

    assert daemon.stop(timeout=10) == 0
    log = "\n".join(daemon.log())
    assert "cancelling 1 crawl(s) still running" in log
    assert "source long: crawl cancelled at shutdown" in log
    assert "Traceback" not in log

    stored = count_articles(db)
    assert 0 < stored < 90
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        versions = con.execute("SELECT count(*) FROM versions").fetchone()[0]
    finally:
        con.close()
    assert versions == stored  # every stored article has its one version, nothing half-written
    report = json.loads(run_cli(config, db, "status", "--format", "json").stdout)
    assert report["sources"][0]["last_run"]["result"] == "cancelled"


def test_sighup_with_a_broken_file_keeps_the_old_config(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """SIGHUP with invalid YAML logs the problem and the daemon keeps polling with the old config."""
    ministry = Ministry(site, "steady", articles=2)
    config = write_config(tmp_path / "s.yaml", source_yaml("steady", ministry.listing_url))
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db)
    wait_for(lambda: ministry.polls() >= 1, what="the first poll")

    config.write_text("sources:\n  - key: steady\n    name: [unclosed\n", encoding="utf-8")
    daemon.signal(signal.SIGHUP)
    line = daemon.wait_log("config reload (SIGHUP) failed")
    event = json.loads(line)
    assert event["level"] == "ERROR"
    assert str(config) in event["message"]
    assert "keeping the previous configuration" in event["message"]

    polls = ministry.polls()
    wait_for(lambda: ministry.polls() >= polls + 2, what="two more polls after the failed reload")
    assert daemon.proc.poll() is None
    assert daemon.stop() == 0


def test_watch_config_applies_an_added_and_a_removed_source(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """With --watch-config, editing the file adds the new source's job and removes the dropped one."""
    old = Ministry(site, "old", articles=1)
    new = Ministry(site, "new", articles=2)
    config = write_config(tmp_path / "s.yaml", source_yaml("old", old.listing_url))
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db, "--watch-config", "--config-poll", "0.2")
    wait_for(lambda: old.polls() >= 1, what="the first poll of the old source")

    write_config(config, source_yaml("new", new.listing_url))
    daemon.wait_log("config reloaded (file changed): added new, removed old")
    wait_for(lambda: count_articles(db, "new") == 2, what="the new source's articles")
    polls = old.polls()
    wait_for(lambda: new.polls() >= 2, what="a second poll of the new source")
    assert old.polls() <= polls + 1  # at most a crawl that was already running
    assert daemon.stop() == 0


def test_a_second_daemon_on_the_same_database_exits_with_a_clear_message(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """A second `run` on a SQLite file already in use exits 2, naming the PID that holds it."""
    ministry = Ministry(site, "solo", articles=1)
    config = write_config(tmp_path / "s.yaml", source_yaml("solo", ministry.listing_url))
    db = tmp_path / "m.sqlite3"
    first = start(daemons, config, db)

    second = run_cli(config, db, "run", timeout=30)
    assert second.returncode == 2
    assert "already running" in second.stderr
    assert f"PID {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.proc.poll() is None
    assert first.stop() == 0


def test_a_failing_source_does_not_stop_a_healthy_one_and_status_names_the_reason(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """A source whose listing answers 500 is reported failing with its URL; the healthy one completes."""
    healthy = Ministry(site, "healthy", articles=3)
    site.add("/broken/list.html", "<h1>Internal Server Error</h1>", status=500)
    config = write_config(
        tmp_path / "s.yaml",
        # One poll each (the first comes at start), so status reads finished runs.
        source_yaml("healthy", healthy.listing_url, every="1h"),
        source_yaml("broken", site.url("/broken/list.html"), every="1h"),
    )
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db)
    wait_for(lambda: count_articles(db, "healthy") == 3, what="the healthy source's articles")
    warning = json.loads(daemon.wait_log("source broken is failing"))
    assert warning["level"] == "WARNING"
    assert site.url("/broken/list.html") in warning["message"]
    assert "500" in warning["message"]

    status = run_cli(config, db, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["daemon"] == {"running": True, "pid": daemon.pid}
    by_key = {s["key"]: s for s in report["sources"]}
    assert by_key["broken"]["health"] == "failing"
    assert "500" in by_key["broken"]["last_error"]
    assert by_key["broken"]["last_run"]["result"] == "failed"
    assert by_key["healthy"]["health"] == "ok"
    assert by_key["healthy"]["articles"] == 3
    assert by_key["healthy"]["last_error"] is None
    for src in by_key.values():
        assert src["next_run"] is not None
        assert src["last_run"]["started_at"] is not None

    assert daemon.stop() == 0
    log = daemon.log()
    assert sum("source broken is failing" in line for line in log) == 1, "reported once"
    assert not any("Traceback" in line for line in log)


# Misbehaviour -> (path on the site, health the source must get, words its error must contain).
FAULTS: dict[str, tuple[str, str, str]] = {
    "slow-headers": ("/slow-headers/5", "failing", "within 1 s"),
    "slow-body": ("/slow-body/5", "failing", "within 1 s"),
    "reset": ("/reset", "failing", "reset"),
    "drop": ("/drop-mid-body", "failing", "reset"),
    "truncated": ("/truncated", "failing", "mid-response"),
    "s500": ("/status/500", "failing", "HTTP 500"),
    "s503": ("/retry-after/1?fails=100000", "failing", "HTTP 503"),
    "loop": ("/redirect-loop", "failing", "redirect loop"),
    "big": ("/big/50", "failing", "limits.max_bytes"),
    "bomb": ("/gzip-bomb", "failing", "limits.max_decompressed_bytes"),
    "soft404": ("/soft-404", "failing", "soft 404"),
    "s429": ("/429", "blocked", "HTTP 429"),
    "challenge": ("/challenge", "blocked", "challenge"),
    "challenge403": ("/challenge?status=403", "blocked", "HTTP 403"),
    "decoy": ("/technical-difficulties", "blocked", "Technical Difficulties"),
    "empty": ("/empty", "broken", "matched nothing"),
    "invalid-utf8": ("/invalid-utf8", "broken", "matched nothing"),
    "wrong-charset": ("/wrong-charset", "broken", "matched nothing"),
}


def test_every_misbehaving_site_is_isolated_and_named_in_status(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """Nineteen misbehaving sites and a healthy one in one daemon: the healthy one completes, each other is reported with its reason."""
    # Each source gets its own made-up public host, served by the site acting as an HTTP proxy,
    # so that per-host politeness (slots, backoff) is per source as it is between ministries.
    healthy = Ministry(site, "healthy", articles=3)
    faults = dict(FAULTS)
    to_loopback = quote(site.url(healthy.listing_path), safe="")
    faults["to-loopback"] = (f"/redirect-to/{to_loopback}", "failing", "refused")
    entries = [source_yaml("healthy", "http://healthy.example" + healthy.listing_path, every="1h")]
    for key, (path, _, _) in faults.items():
        limits = "    limits: {timeout: 1s}\n" if key.startswith("slow") else ""
        limits += "    broken_after: 1\n" if faults[key][1] == "broken" else ""
        entries.append(source_yaml(key, f"http://{key}.example{path}", every="1h") + limits)
    config = write_config(tmp_path / "s.yaml", *entries)
    db = tmp_path / "m.sqlite3"
    proxy = {
        "HTTP_PROXY": site.base_url,
        "http_proxy": site.base_url,
        "NO_PROXY": "",
        "no_proxy": "",
    }
    daemon = DaemonProcess(config, db, env=proxy)
    daemons.append(daemon)
    daemon.started()

    wait_for(lambda: count_articles(db, "healthy") == 3, what="the healthy source's articles")
    for key in faults:
        daemon.wait_log(f"source {key} is ")
    report = json.loads(run_cli(config, db, "status", "--format", "json").stdout)
    by_key = {s["key"]: s for s in report["sources"]}
    assert by_key["healthy"]["health"] == "ok"
    assert by_key["healthy"]["last_run"]["result"] == "ok"
    for key, (_path, health, words) in faults.items():
        src = by_key[key]
        assert (key, src["health"]) == (key, health)
        assert f"http://{key}.example" in src["last_error"]
        assert words in src["last_error"], (key, src["last_error"])
        assert src["articles"] == 0
    assert daemon.proc.poll() is None

    assert daemon.stop() == 0
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM versions").fetchone()[0] == 3
        assert con.execute("SELECT DISTINCT source FROM articles").fetchall() == [("healthy",)]
    finally:
        con.close()
    log = daemon.log()
    assert not any("Traceback" in line for line in log)
    for key in faults:
        assert sum(f"source {key} is " in line for line in log) == 1, key


def test_selectors_matching_nothing_make_a_source_broken_only_after_n_polls(
    tmp_path: Path, site: Site, daemons: list[DaemonProcess]
) -> None:
    """With broken_after: 3, two polls of a redesigned listing report nothing; the third reports `broken` once."""
    site.add("/redesign/list.html", "<html><body><div class='new-layout'></div></body></html>")
    config = write_config(
        tmp_path / "s.yaml",
        source_yaml("redesign", site.url("/redesign/list.html"), every="2s")
        + "    broken_after: 3\n",
    )
    db = tmp_path / "m.sqlite3"
    daemon = start(daemons, config, db)
    wait_for(lambda: len(site.requests_to("/redesign/list.html")) >= 2, what="two polls")
    assert not any("source redesign is broken" in line for line in daemon.log())
    line = json.loads(daemon.wait_log("source redesign is broken"))
    assert "ul.n li" in line["message"] and "matched nothing" in line["message"]
    assert len(site.requests_to("/redesign/list.html")) >= 3
    wait_for(lambda: len(site.requests_to("/redesign/list.html")) >= 4, what="a fourth poll")
    assert daemon.stop() == 0
    assert sum("source redesign is broken" in line for line in daemon.log()) == 1, "reported once"
