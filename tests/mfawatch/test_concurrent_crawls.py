"""Several `mfawatch crawl --once` at the same time on one database (issue 16, hole 2).

Real subprocesses against the loopback site, on a fresh PostgreSQL schema and on a SQLite file:
a cold crawl run by 2 and by 4 processes at once stores each article once (no `UniqueViolation`),
and after one real edit, concurrent `--recheck` runs store exactly one new version per article
and no return to an earlier version (before the fix: 51-90 false "returned from v1 to v2").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.site import Site

N_ARTICLES = 40


def _article(i: int, edited: bool) -> str:
    paras = [f"Paragraph {p} of statement {i}: the ministry stated its view {p}." for p in range(6)]
    if edited:
        paras[3] = f"Paragraph 3 of statement {i} was rewritten after publication."
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f'<html><body><h2 class="title">Statement {i}</h2><div id="d">2026-03-02 10:00</div>'
        f'<div class="c">{body}</div></body></html>'
    )


def _serve(site: Site, edited: bool) -> None:
    items = "".join(f'<li><a href="./a{i}.html">Statement {i}</a></li>' for i in range(N_ARTICLES))
    site.add("/cc/list.html", f'<ul class="n">{items}</ul>', content_type="text/html")
    for i in range(N_ARTICLES):
        site.add(f"/cc/a{i}.html", _article(i, edited), content_type="text/html")


def _config(tmp_path: Path, site: Site) -> Path:
    config = tmp_path / "cc.yaml"
    config.write_text(
        "parse: {workers: 0}\nsources:\n  - key: cc\n    name: Concurrency test\n    country: CN\n"
        "    timezone: Asia/Shanghai\n"
        "    politeness: {respect_robots: false, concurrency_per_host: 8, min_delay: 0s}\n"
        f"    listings: [{{url: '{site.url('/cc/list.html')}'}}]\n"
        "    list: {item: 'ul.n li', link: a}\n"
        "    article: {title: h2.title, date: '#d', body: div.c}\n"
    )
    return config


def _crawl_at_once(n: int, config: Path, db_url: str, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    cmd = [sys.executable, "-m", "mfawatch", "--config", str(config), "--db", db_url]
    procs = [
        subprocess.Popen(
            [*cmd, "crawl", "--once", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert "0 error(s)" in out, out
        assert "Traceback" not in err and "Violation" not in err, err


def _counts(db_url: str) -> tuple[int, list[tuple[int, int, int]], int]:
    """(articles, [(versions, lowest, highest) per article], revert rows)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            articles = conn.execute(sa.text("SELECT count(*) FROM articles")).scalar_one()
            per_article = [
                (int(n), int(low), int(high))
                for n, low, high in conn.execute(
                    sa.text(
                        "SELECT count(v.id), min(v.number), max(v.number) FROM articles a "
                        "JOIN versions v ON v.article_id = a.id GROUP BY a.id"
                    )
                )
            ]
            reverts = conn.execute(sa.text("SELECT count(*) FROM reverts")).scalar_one()
    finally:
        engine.dispose()
    return int(articles), per_article, int(reverts)


@pytest.mark.parametrize("processes", [2, 4])
def test_concurrent_crawls_store_each_article_and_edit_once(
    processes: int, db_url: str, site: Site, tmp_path: Path
) -> None:
    """N cold crawls at once: N_ARTICLES articles at v1; N rechecks after an edit: each at v2, no revert."""
    config = _config(tmp_path, site)
    _serve(site, edited=False)
    _crawl_at_once(processes, config, db_url)
    articles, per_article, reverts = _counts(db_url)
    assert articles == N_ARTICLES
    assert per_article == [(1, 1, 1)] * N_ARTICLES
    assert reverts == 0

    _serve(site, edited=True)
    _crawl_at_once(processes, config, db_url, "--recheck")
    articles, per_article, reverts = _counts(db_url)
    assert articles == N_ARTICLES
    assert per_article == [(2, 1, 2)] * N_ARTICLES
    assert reverts == 0
