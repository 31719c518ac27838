"""Digest and review-UI benchmark over a large SQLite database.

Generates ARTICLES articles (each with its first version, first seen over the last DAYS days) and
VERSIONS further "changed" versions with stored diffs (over the last CHANGE_DAYS days), bulk
inserted through the storage schema. Then times, median of RUNS after one warm-up:
  report   build_report for `digest --since 1d`
  <fmt>    build_report + render, for each format (the whole `digest --since 1d` command's work)
  <fmt> streamed   stream_report + stream, for text, md and json (what the command does for them)
  web /    the digest page through httpx.ASGITransport
  web art  an article page with its highlighted diff
Targets (issue 5): digest --since 1d < 1 s, a web page < 200 ms.

    python benchmarks/digest_bench.py                  # 100,000 articles, 20,000 versions
    python benchmarks/digest_bench.py --smoke          # 2,000 articles, 400 versions
    python benchmarks/digest_bench.py --db /tmp/b.sqlite3 --keep   # reuse a generated file
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digest.formats import FORMATS, STREAMING, render, stream  # noqa: E402
from digest.report import build_report, stream_report  # noqa: E402
from digest.web import create_app  # noqa: E402
from storage.engine import Database, open_db  # noqa: E402
from storage.schema import ArticleRow, DiffRow, SourceRow, VersionRow  # noqa: E402
from storage.stored_diffs import diff_versions  # noqa: E402
from storage.versions.rows import stored_body  # noqa: E402

SOURCES = [("cn-mfa-en", "CN"), ("cn-mfa-zh", "CN"), ("ru-mid", "RU"), ("jp-mofa", "JP"),
           ("in-mea", "IN"), ("uk-fcdo", "GB"), ("de-aa", "DE"), ("fr-diplo", "FR"),
           ("us-state", "US"), ("us-state-feed", "US")]  # fmt: skip
WORDS = ("bilateral cooperation minister talks statement relations security trade dialogue "
         "sovereignty peace development region partners mutual respect stability economic").split()  # fmt: skip


def _paragraph(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _body(rng: random.Random) -> str:
    return "\n\n".join(_paragraph(rng, rng.randint(15, 30)) for _ in range(4))


def generate(db: Database, articles: int, versions: int, days: int, change_days: int) -> None:
    """Bulk-insert the synthetic history (rows as the storage schema defines them, version
    bodies packed as a SQLite store packs them)."""
    rng = random.Random(5)
    now = datetime.now(UTC)
    old_body = _body(rng)
    new_body = old_body.replace("talks", "candid talks", 1) + "\n\n" + _paragraph(rng, 12)
    diff = diff_versions(
        {"title": "Statement", "date": None, "section": None, "body_text": old_body},
        {"title": "Statement (updated)", "date": None, "section": None, "body_text": new_body},
    )
    with db.session() as s:
        s.execute(
            sa.insert(SourceRow), [{"key": k, "name": k.upper(), "country": c} for k, c in SOURCES]
        )
    batch = 5000
    for start in range(0, articles, batch):
        rows, vrows = [], []
        for i in range(start, min(start + batch, articles)):
            seen = now - timedelta(seconds=rng.uniform(60, days * 86400))
            body = old_body if i < versions else _body(rng)
            common = {
                "title": f"Statement {i} on {rng.choice(WORDS)} {rng.choice(WORDS)}",
                "published_date": date(seen.year, seen.month, seen.day),
                "date_precision": "day",
                "date_source": "page",
                "section": "Press Releases",
                "language": "en",
                "body_text": body,
                "body_html": "",
            }
            rows.append({"id": i + 1, "source": SOURCES[i % len(SOURCES)][0], "url": f"https://example.org/a/{i}",
                         "status": "live", "version": 1, "content_version": 1, "content_hash": f"{i:064x}",
                         "first_seen_at": seen, "last_checked_at": seen, "last_changed_at": seen,
                         "checks": 1, "missing_checks": 0, **common})  # fmt: skip
            vrows.append({"id": i + 1, "article_id": i + 1, "number": 1, "kind": "new", "seen_at": seen,
                          "content_hash": f"{i:064x}", **stored_body(common, db.dialect)})  # fmt: skip
        with db.session() as s:
            s.execute(sa.insert(ArticleRow), rows)
            s.execute(sa.insert(VersionRow), vrows)
    # The first VERSIONS articles were edited once, recently.
    for start in range(0, versions, batch):
        vrows, drows = [], []
        for i in range(start, min(start + batch, versions)):
            vid = articles + i + 1
            seen = now - timedelta(seconds=rng.uniform(30, change_days * 86400))
            vrows.append({"id": vid, "article_id": i + 1, "number": 2, "kind": "changed", "seen_at": seen,
                          "content_hash": f"{vid:064x}", "title": f"Statement {i} (updated)",
                          "published_date": date(seen.year, seen.month, seen.day), "date_precision": "day",
                          "date_source": "page", "section": "Press Releases", "language": "en",
                          **stored_body({"body_text": new_body, "body_html": ""}, db.dialect), "diff_from": 1,
                          "diff_summary": diff["summary"], "words_added": diff["words_added"],
                          "words_removed": diff["words_removed"]})  # fmt: skip
            drows.append({"version_id": vid, "from_number": 1, "data": diff})
        with db.session() as s:
            s.execute(sa.insert(VersionRow), vrows)
            s.execute(sa.insert(DiffRow), drows)
    with db.session() as s:
        s.execute(sa.text("ANALYZE"))


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `runs` calls after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    """Generate (or reuse) the database and print the timings."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--versions", type=int, default=20_000)
    ap.add_argument(
        "--days", type=int, default=90, help="first-seen times spread over this many days"
    )
    ap.add_argument("--change-days", type=int, default=30, help="edits spread over this many days")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="2,000 articles, 400 versions, 2 runs")
    ap.add_argument("--db", help="SQLite file to use (generated when it has no articles)")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    args = ap.parse_args()
    if args.smoke:
        args.articles, args.versions, args.runs = 2000, 400, 2
    folder = Path(tempfile.mkdtemp(prefix="digest_bench"))
    path = Path(args.db) if args.db else folder / "digest_bench.sqlite3"
    db = open_db(f"sqlite:///{path}")
    with db.session(readonly=True) as s:
        existing = s.execute(sa.select(sa.func.count()).select_from(ArticleRow)).scalar_one()
    if not existing:
        t = time.perf_counter()
        generate(db, args.articles, args.versions, args.days, args.change_days)
        print(
            f"generated {args.articles:,} articles + {args.versions:,} versions in {time.perf_counter() - t:.1f} s"
        )
    since = datetime.now(UTC) - timedelta(days=1)

    def report() -> Any:
        with db.session(readonly=True) as s:
            return build_report(s, since=since)

    rep = report()
    print(f"digest --since 1d: {len(rep.items):,} items ({rep.counts})")
    results = [("build_report", timed(report, args.runs))]
    for fmt in FORMATS:
        results.append(
            (
                f"digest --format {fmt}",
                timed(lambda fmt=fmt: render(report(), fmt, color=False), args.runs),
            )
        )

    def streamed(fmt: str) -> None:  # what `mfawatch digest` does for text, md and json
        with db.session(readonly=True) as s:
            st = stream_report(s, since=since)
            for _ in stream(st.head, st.items, fmt, color=False):
                pass

    for fmt in STREAMING:
        results.append(
            (f"digest --format {fmt} streamed", timed(lambda fmt=fmt: streamed(fmt), args.runs))
        )

    async def web() -> list[tuple[str, tuple[float, float]]]:
        app = create_app(db)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as c:
            out = []
            for label, url in (("web / (since 1d, page 1)", "/?since=1d"),
                               ("web / (since 1d, page 5)", "/?since=1d&page=5"),
                               ("web /article/1", "/article/1"),
                               ("web / (search 'candid')", "/?q=candid&since=1d")):  # fmt: skip
                await c.get(url)
                wall, cpu = [], []
                for _ in range(args.runs):
                    t, p = time.perf_counter(), time.process_time()
                    r = await c.get(url)
                    wall.append(time.perf_counter() - t)
                    cpu.append(time.process_time() - p)
                    assert r.status_code == 200, (url, r.status_code)
                out.append((label, (statistics.median(wall), statistics.median(cpu))))
            return out

    results += asyncio.run(web())
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall time suffers under load)"
    )
    for label, (wall, cpu) in results:
        target = 0.2 if label.startswith("web") else 1.0
        verdict = "ok" if wall < target else "SLOW"
        print(f"{label:28s} wall {wall * 1000:8.1f} ms  cpu {cpu * 1000:8.1f} ms  "
              f"(target < {target * 1000:.0f} ms) {verdict}")  # fmt: skip
    db.dispose()
    if args.keep:
        print(f"database kept at {path}")
    elif not args.db:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
