"""SIGKILL during a recheck, 20 times: no duplicate versions, no lost versions, an intact database
whose search index holds exactly the stored versions."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.site import Site

N_ARTICLES = 40
KILLS = 20


def article(i: int, edited: bool) -> str:
    """Article i, in its first or its edited form."""
    paras = [
        f"Paragraph {p} of statement {i}: the ministry stated its position on issue {p}."
        for p in range(12)
    ]
    if edited:
        paras[5] = f"Paragraph 5 of statement {i} was rewritten after publication."
    body = "".join(f"<p>{p}</p>" for p in paras)
    return f'<html><body><h2 class="title">Statement {i}</h2><div id="d">2026-03-0{1 + i % 9} 10:00</div><div class="c">{body}</div></body></html>'


def serve(site: Site, edited: bool) -> None:
    items = "".join(f'<li><a href="./a{i}.html">Statement {i}</a></li>' for i in range(N_ARTICLES))
    site.add(
        "/k/list.html",
        f'<html><body><ul class="n">{items}</ul></body></html>',
        content_type="text/html",
    )
    for i in range(N_ARTICLES):
        site.add(f"/k/a{i}.html", article(i, edited), content_type="text/html")


def mfawatch_cmd(config: Path, db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mfawatch", "--config", str(config), "--db", str(db), *args]


@pytest.mark.slow
def test_sigkill_during_recheck_loses_and_duplicates_nothing(tmp_path: Path, site: Site) -> None:
    """Killing `crawl --once --recheck` at random points 20 times, then finishing, leaves exactly 2 versions per edited article."""
    config = tmp_path / "k.yaml"
    config.write_text(
        "sources:\n  - key: k\n    name: Kill test\n    country: CN\n    timezone: Asia/Shanghai\n"
        "    politeness: {respect_robots: false, concurrency_per_host: 4}\n"
        f"    listings: [{{url: '{site.url('/k/list.html')}'}}]\n"
        "    list: {item: 'ul.n li', link: a}\n"
        "    article: {title: h2.title, date: '#d', body: div.c}\n"
    )
    db = tmp_path / "k.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    serve(site, edited=False)
    first = subprocess.run(
        mfawatch_cmd(config, db, "crawl", "--once"),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr

    serve(site, edited=True)
    rng = random.Random(7)
    for _ in range(KILLS):
        proc = subprocess.Popen(
            mfawatch_cmd(config, db, "crawl", "--once", "--recheck"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    final = subprocess.run(
        mfawatch_cmd(config, db, "crawl", "--once", "--recheck"),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert final.returncode == 0, final.stderr

    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        per_article = con.execute(
            "SELECT a.url, count(v.id), min(v.number), max(v.number) FROM articles a "
            "JOIN versions v ON v.article_id = a.id GROUP BY a.id"
        ).fetchall()
        # The search index and the versions agree: one index row per version, none orphaned,
        # each in its part (the current content apart from the rest), and the FTS5 structure
        # itself is sound.
        version_ids = [r[0] for r in con.execute("SELECT id FROM versions ORDER BY id")]
        current_ids = [
            r[0]
            for r in con.execute(
                "SELECT v.id FROM versions v JOIN articles a ON a.id = v.article_id "
                "AND v.number = a.content_version WHERE a.status <> 'removed' ORDER BY v.id"
            )
        ]
        parts = {
            t: [r[0] for r in con.execute(f"SELECT rowid FROM {t} ORDER BY rowid")]
            for t in ("search_current", "search_fts")
        }
        for t in parts:
            con.execute(f"INSERT INTO {t}({t}) VALUES ('integrity-check')")
        rewritten, everywhere = (
            sum(
                con.execute(f"SELECT count(*) FROM {t} WHERE {t} MATCH '{word}'").fetchone()[0]
                for t in parts
            )
            for word in ("rewritten", "ministry")
        )
        current_rewritten = con.execute(
            "SELECT count(*) FROM search_current WHERE search_current MATCH 'rewritten'"
        ).fetchone()[0]
    finally:
        con.close()
    assert len(per_article) == N_ARTICLES
    for url, count, low, high in per_article:
        assert (count, low, high) == (2, 1, 2), url
    assert sorted(parts["search_current"] + parts["search_fts"]) == version_ids
    assert parts["search_current"] == current_ids and len(current_ids) == N_ARTICLES
    assert (rewritten, everywhere, current_rewritten) == (N_ARTICLES, 2 * N_ARTICLES, N_ARTICLES)
