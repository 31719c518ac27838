"""`mfawatch pairs` as a user runs it: a crawl pairs the two ministries' readouts it stores, and a
person's confirm/reject sticks across `pairs backfill`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.mfawatch.test_cli_crawl import mfawatch
from tests.site import Site

REPO = Path(__file__).parents[2]


def _feed(title: str, items: list[tuple[str, str, str, str]]) -> str:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{when}</pubDate><description>{body}</description></item>"
        for t, link, when, body in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://example.org/</link><description>d</description>"
        f"{entries}</channel></rss>"
    )


def _setup(tmp_path: Path, site: Site) -> Path:
    """Two feed sources, of China and of the United States, each with the readout of one call,
    and the shipped officials table beside the config."""
    cn = site.url("/cn/")
    us = site.url("/us/")
    site.add(
        "/cn/feed.xml",
        _feed(
            "MFA",
            [
                (
                    "Wang Yi Speaks on the Phone with US Secretary of State Blinken",
                    cn + "call.html",
                    "Sat, 13 Nov 2021 06:12:00 +0000",
                    "State Councilor and Foreign Minister Wang Yi spoke on the phone with US "
                    "Secretary of State Antony J. Blinken. They discussed Taiwan and climate change.",
                ),
                (
                    "Regular Press Conference on November 15, 2021",
                    cn + "presser.html",
                    "Mon, 15 Nov 2021 11:00:00 +0000",
                    "Wang Yi spoke on the phone with Blinken on Saturday.",
                ),
            ],
        ),
        content_type="application/rss+xml",
    )
    site.add(
        "/us/feed.xml",
        _feed(
            "State",
            [
                (
                    "Secretary Blinken’s Call with PRC State Councilor and Foreign Minister Wang Yi",
                    us + "call.html",
                    "Sat, 13 Nov 2021 01:45:00 +0000",
                    "Secretary of State Antony J. Blinken spoke today with PRC State Councilor "
                    "and Foreign Minister Wang Yi about Taiwan and the 16 November meeting.",
                )
            ],
        ),
        content_type="application/rss+xml",
    )
    config = tmp_path / "sources.yaml"
    config.write_text(
        f"""
sources:
  - {{key: cn-feed, name: China, country: CN, timezone: Asia/Shanghai, type: feed,
     listings: [{{url: "{site.url("/cn/feed.xml")}"}}]}}
  - {{key: us-feed, name: State, country: US, timezone: America/New_York, type: feed,
     listings: [{{url: "{site.url("/us/feed.xml")}"}}]}}
""",
        encoding="utf-8",
    )
    shutil.copy(REPO / "config" / "officials.yaml", tmp_path / "officials.yaml")
    return config


def test_crawl_pairs_readouts_and_review_sticks(tmp_path: Path, site: Site) -> None:
    """The crawl pairs the two readouts (not the press conference); a rejection hides the pair
    and survives a backfill; a confirmation shows in every format."""
    db, config = tmp_path / "db.sqlite3", _setup(tmp_path, site)
    crawl = mfawatch("crawl", "--once", db=db, config=config)
    assert crawl.returncode == 0, crawl.stderr
    listed = mfawatch("pairs", "--since", "2000-01-01", "--format", "json", db=db, config=config)
    assert listed.returncode == 0, listed.stderr
    [pair] = json.loads(listed.stdout)
    assert pair["relation"] == "readout" and pair["status"] == "found"
    assert {s["source"] for s in pair["sides"]} == {"cn-feed", "us-feed"}
    assert pair["evidence"]["shared"] == ["antony-blinken", "wang-yi"]
    pair_id = str(pair["id"])
    cn_id = str(next(s["article_id"] for s in pair["sides"] if s["source"] == "cn-feed"))
    history = mfawatch("history", cn_id, db=db, config=config)
    assert (
        f"call readout pair (pair {pair_id}): #" in history.stdout and "us-feed" in history.stdout
    )
    as_json = json.loads(
        mfawatch("history", cn_id, "--format", "json", db=db, config=config).stdout
    )
    assert [p["id"] for p in as_json["pairs"]] == [pair["id"]]

    assert mfawatch("pairs", "reject", pair_id, db=db, config=config).returncode == 0
    assert "0 pair(s)" in mfawatch("pairs", "--since", "2000-01-01", db=db, config=config).stdout
    backfill = mfawatch("pairs", "backfill", db=db, config=config)
    assert backfill.returncode == 0 and "3 article(s) read, 2 readout(s)" in backfill.stdout
    again = mfawatch(
        "pairs", "--since", "2000-01-01", "--rejected", "--format", "json", db=db, config=config
    )
    assert [p["status"] for p in json.loads(again.stdout)] == ["rejected"]

    assert mfawatch("pairs", "confirm", pair_id, db=db, config=config).returncode == 0
    text = mfawatch("pairs", "--since", "2000-01-01", db=db, config=config).stdout
    assert (
        f"#{pair_id} call readouts [confirmed]" in text
        and "both name: antony-blinken, wang-yi" in text
    )
    md = mfawatch("pairs", "--since", "2000-01-01", "--format", "md", db=db, config=config).stdout
    assert "**#" in md and "(<http" in md


def test_unknown_ids_and_missing_table_are_usage_errors(tmp_path: Path, site: Site) -> None:
    """An id no pair has, and a backfill without an officials table, exit 2 saying why."""
    db, config = tmp_path / "db.sqlite3", _setup(tmp_path, site)
    bad = mfawatch("pairs", "confirm", "999", db=db, config=config)
    assert bad.returncode == 2 and "no pair has id 999" in bad.stderr
    (tmp_path / "officials.yaml").unlink()
    none = mfawatch("pairs", "backfill", db=db, config=config)
    assert none.returncode == 2 and "no officials table" in none.stderr


def test_sources_check_validates_the_officials_file(tmp_path: Path, site: Site) -> None:
    """`sources check` reads the officials table beside the config: valid, it counts the
    office-holders; invalid, exit 2 naming the file, line and field."""
    db, config = tmp_path / "db.sqlite3", _setup(tmp_path, site)
    ok = mfawatch("sources", "check", db=db, config=config)
    assert ok.returncode == 0 and "officials: OK," in ok.stdout
    (tmp_path / "officials.yaml").write_text(
        "offices: [foreign-minister]\npeople:\n  - {id: x, country: CN, names: [Somebody], terms: [{office: king, from: 2020-01-01}]}\n",
        encoding="utf-8",
    )
    bad = mfawatch("sources", "check", db=db, config=config)
    assert bad.returncode == 2
    assert "officials.yaml:3: people[0].terms[0].office: unknown office 'king'" in bad.stderr


def test_the_daemon_pairs_what_its_polls_store(tmp_path: Path, site: Site) -> None:
    """`mfawatch run` pairs the two ministries' readouts after its first polls, and says so."""
    from storage.engine import open_db
    from storage.readouts.store import list_pairs
    from tests.mfawatch.daemon_support import DaemonProcess, wait_for

    db, config = tmp_path / "db.sqlite3", _setup(tmp_path, site)
    daemon = DaemonProcess(config, db).started()
    try:

        def paired() -> int:
            if not db.exists():
                return 0
            database = open_db(f"sqlite:///{db}")
            try:
                with database.session(readonly=True) as s:
                    return len(list_pairs(s))
            finally:
                database.dispose()

        wait_for(paired, what="the readout pair")
        assert daemon.stop(timeout=10) == 0
    finally:
        daemon.kill()
    assert any("new pair(s)" in line for line in daemon.log())
