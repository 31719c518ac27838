"""Storage benchmark: `record_fetch` throughput for new, unchanged and changed articles.

Each fetch is recorded in its own transaction, as the pipeline does. Scenarios, in order, on a
fresh database:
  new        N articles seen for the first time (article, version 1, blob, response)
  unchanged  the same N articles refetched with identical content (one UPDATE each); the row
             counts of every table and the SQLite file size after a WAL checkpoint must not grow
  noise      the same N refetched with whitespace / nbsp / CRLF / zero-width noise (no versions)
  changed    5 % of the articles edited (one version + diff + blob + response each)
  moved      5 % of the articles found under a new URL (a move: no new article, issue 20 §2)
and, micro-measured, the cost of the move rule: the lookup of known articles with the same
fingerprint or date that each unknown URL pays, and a MinHash signature (`storage.versions.moves`).

    python benchmarks/storage_bench.py                    # 10,000 articles, SQLite
    python benchmarks/storage_bench.py --n 2000 --db postgresql://postgres@127.0.0.1/test
    python benchmarks/storage_bench.py --smoke            # 300 articles (CI)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from storage import versions  # noqa: E402
from storage.engine import Database, normalize_url, open_db  # noqa: E402
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse  # noqa: E402
from storage.schema import Base  # noqa: E402
from storage.signatures import signature  # noqa: E402
from storage.versions import moves  # noqa: E402

T0 = datetime(2025, 1, 1, tzinfo=UTC)
WORDS = (
    "minister foreign affairs cooperation bilateral relations talks summit spokesperson "
    "development security partnership dialogue region peace trade stability mutual respect"
).split()


def _article(i: int, rng: random.Random) -> Article:
    paragraphs = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize() + "."
        for _ in range(rng.randint(5, 12))
    ]
    published = datetime(2025, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=8))) - timedelta(
        hours=i
    )
    return Article(
        source=f"src-{i % 20}",
        url=f"https://mfa.example/{i % 20}/news/{i}.html",
        title=f"Release {i}: " + " ".join(rng.choice(WORDS) for _ in range(8)),
        body_text="\n\n".join(paragraphs),
        body_html="".join(f"<p>{p}</p>" for p in paragraphs),
        date=ArticleDate(published.date(), DatePrecision.MINUTE, DateSource.PAGE, published),
        section="News",
        language="en",
    )


def _raw(article: Article, at: datetime, salt: str = "") -> RawResponse:
    chrome = "<div class='nav'>" + "menu item " * 400 + "</div>"  # ~30 KB pages, like real ones
    body = f"<html><head><title>{article.title}</title></head><body>{chrome}{article.body_html}"
    body += f"<!-- {salt} --></body></html>"
    return RawResponse(
        article.url, article.url, 200, (("Content-Type", "text/html"),), body.encode(), at
    )


def _noisy(article: Article) -> Article:
    text = article.body_text.replace("\n\n", "\r\n \r\n", 2).replace(" ", "\u00a0", 3)
    return replace(article, body_text="\u200b" + text + "  ", title=article.title + " ")


def _edit(article: Article) -> Article:
    paragraphs = article.body_text.split("\n\n")
    paragraphs[len(paragraphs) // 2] += " The ministry later amended this statement."
    return replace(article, body_text="\n\n".join(paragraphs))


def _counts(db: Database) -> dict[str, int]:
    with db.session(readonly=True) as s:
        return {
            name: s.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for name, t in Base.metadata.tables.items()
        }


def _file_size(db: Database) -> int | None:
    if db.dialect != "sqlite":
        return None
    path = db.engine.url.database or ""
    conn = sqlite3.connect(path)  # outside our engine: a checkpoint cannot run inside BEGIN
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return os.path.getsize(path)


def _run(
    db: Database,
    name: str,
    items: Sequence[Article],
    at: datetime,
    make_raw: Callable[..., RawResponse],
) -> dict[str, int]:
    kinds: dict[str, int] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    for article in items:
        with db.session() as s:
            out = versions.record_fetch(
                s, article, make_raw(article, at), now=at, next_check_at=at + timedelta(days=1)
            )
        kinds[out.kind] = kinds.get(out.kind, 0) + 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rate = len(items) / wall if wall else float("inf")
    print(
        f"{name:<10} {len(items):>7} fetches  {rate:>9.0f}/s  wall {wall:6.2f} s  CPU {cpu:6.2f} s  {kinds}"
    )
    return kinds


def _move_rule_cost(db: Database, items: Sequence[Article]) -> None:
    """Print the move rule's CPU cost in µs: the lookup every unknown URL pays (one by one, as
    `record_fetch` does it; the bulk path pays it once per batch), and a MinHash signature, paid
    twice per known article that shares the new one's date and title."""
    sample = list(items[: min(len(items), 500)])
    signature(sample[0].body_text)  # the first one imports datasketch (numpy, scipy)
    keys = [
        moves.candidate(replace(a, url=a.url + "?moved", title=a.title + " (2)"), "x" * 64)
        for a in sample
    ]
    t = time.process_time()
    with db.session(readonly=True) as s:
        for k in keys:
            moves.find_moves(s, [k])
    look = (time.process_time() - t) / len(sample) * 1e6
    t = time.process_time()
    for a in sample:
        signature(a.body_text)
    sign = (time.process_time() - t) / len(sample) * 1e6
    print(
        f"move rule  lookup per unknown URL {look:6.0f} µs CPU; a signature {sign:6.0f} µs"
        f" ({len(sample)} articles)"
    )


@contextlib.contextmanager
def _fresh_pg_schema(url: str | None) -> Iterator[str | None]:
    """For a PostgreSQL URL, a throw-away schema in its search_path (dropped afterwards)."""
    if not url or not url.startswith("postgres"):
        yield url
        return
    url = normalize_url(url)
    schema = f"bench_{os.getpid()}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios and print throughput; exit 1 if an unchanged recheck grew the database."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="articles (default 10,000)")
    parser.add_argument("--smoke", action="store_true", help="300 articles, for CI")
    parser.add_argument(
        "--db",
        help="SQLite URL, or a PostgreSQL URL (a throw-away schema is used); default: temp SQLite",
    )
    args = parser.parse_args(argv)
    n = 300 if args.smoke else args.n
    rng = random.Random(7)
    items = [_article(i, rng) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp, _fresh_pg_schema(args.db) as pg_url:
        db = open_db(pg_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        try:
            print(f"storage_bench: {n} articles on {db.dialect}")
            _run(db, "new", items, T0, _raw)
            before, size_before = _counts(db), _file_size(db)
            unchanged = _run(db, "unchanged", items, T0 + timedelta(hours=6), _raw)
            noise = _run(db, "noise", [_noisy(a) for a in items], T0 + timedelta(hours=7), _raw)
            after, size_after = _counts(db), _file_size(db)
            edited = [_edit(a) for a in rng.sample(items, max(1, n // 20))]
            changed = _run(
                db, "changed", edited, T0 + timedelta(hours=8), lambda a, at: _raw(a, at, "v2")
            )
            final = _counts(db)
            moved_items = [
                replace(a, url=a.url.replace("/news/", "/eng/news/"))
                for a in rng.sample(items, max(1, n // 20))
            ]
            moved = _run(db, "moved", moved_items, T0 + timedelta(hours=9), _raw)
            moved_rows = _counts(db)
            _move_rule_cost(db, items)
        finally:
            db.dispose()
    grew = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    print(f"rows after new: {before}")
    print(
        f"unchanged+noise rechecks: row growth {grew or 'none'}; file {size_before} -> {size_after} bytes"
    )
    print(
        f"after edits: versions {final['versions']}, diffs {final['diffs']}, blobs {final['blobs']}"
    )
    ok = (
        not grew
        and unchanged == {"unchanged": n}
        and noise == {"unchanged": n}
        and changed == {"changed": len(edited)}
        and sum(moved.values()) == len(moved_items)
        and "new" not in moved
        and moved_rows["articles"] == final["articles"]
    )
    print("OK" if ok else "FAILED: an unchanged recheck grew the database or a count is wrong")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
