"""Where a SQLite database's bytes go: per table and index (sqlite's dbstat), beside the gzip WARC.

`size_report` checkpoints the WAL, sums the pages of every table and index (FTS5's shadow tables
under the search index they belong to), and, given the crawl's config, writes the WARC of the
same raw responses (`mfawatch export --format warc`) to compare the two:

    python benchmarks/db_sizes.py DB [--config CONFIG]     # an existing database

`crawl_bench.py --sizes` prints it for its cold crawl.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
from pathlib import Path

MB = 1_000_000


def table_bytes(db: Path) -> tuple[int, dict[str, int], int]:
    """(file bytes, bytes per table or index, free-list bytes) after a WAL checkpoint."""
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = con.execute("PRAGMA page_size").fetchone()[0]
        free = con.execute("PRAGMA freelist_count").fetchone()[0] * page
        sizes = dict(con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    finally:
        con.close()
    return db.stat().st_size, sizes, free


def column_bytes(db: Path, table: str, columns: list[str]) -> dict[str, int]:
    """The bytes each column's values take in `table` (payload only, before page overhead)."""
    con = sqlite3.connect(db)
    try:
        sums = ", ".join(f"coalesce(sum(length(CAST({c} AS BLOB))), 0)" for c in columns)
        row = con.execute(f"SELECT {sums} FROM {table}").fetchone()
    finally:
        con.close()
    return dict(zip(columns, row, strict=True))


def warc_bytes(db: Path, config: Path) -> int:
    """The size of `mfawatch export --format warc` of the database (gzip records)."""
    cmd = [sys.executable, "-m", "mfawatch", "--config", str(config), "--db", str(db), "export"]
    with subprocess.Popen([*cmd, "--format", "warc"], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        total = 0
        while chunk := proc.stdout.read(1 << 20):
            total += len(chunk)
    if proc.returncode != 0:
        raise SystemExit(f"warc export failed ({proc.returncode})")
    return total


def _group(name: str) -> str:
    if name.startswith("search_fts"):
        return "search_fts (FTS5 index)"
    return name


def size_report(db: Path, articles: int, config: Path | None = None) -> str:
    """The breakdown as text: per table/index MB and bytes per article, the WARC and the ratio."""
    total, sizes, free = table_bytes(db)
    groups: dict[str, int] = {}
    for name, size in sizes.items():
        groups[_group(name)] = groups.get(_group(name), 0) + size
    lines = [f"{'table or index':36} {'MB':>8} {'B/article':>10} {'share':>6}"]
    for name, size in sorted(groups.items(), key=lambda kv: -kv[1]):
        if size >= total / 1000:
            lines.append(f"{name:36} {size / MB:8.1f} {size / articles:10.0f} {size / total:6.1%}")
    lines.append(f"{'(free pages)':36} {free / MB:8.1f} {free / articles:10.0f}")
    lines.append(f"{'database file':36} {total / MB:8.1f} {total / articles:10.0f}")
    con = sqlite3.connect(db)
    try:
        names = [r[1] for r in con.execute("PRAGMA table_info(versions)")]
    finally:
        con.close()
    columns = column_bytes(
        db, "versions", [c for c in ("body_text", "body_html", "body") if c in names]
    )
    lines.append(
        "versions payload: "
        + ", ".join(
            f"{c} {n / MB:.1f} MB ({n / articles:.0f} B/article)" for c, n in columns.items()
        )
    )
    if config is not None:
        warc = warc_bytes(db, config)
        lines.append(
            f"{'gzip WARC (export)':36} {warc / MB:8.1f} {warc / articles:10.0f}"
            f"   database / WARC = {total / warc:.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("db", type=Path)
    ap.add_argument("--config", type=Path, help="the crawl's config (to export the WARC)")
    args = ap.parse_args()
    con = sqlite3.connect(args.db)
    try:
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()
    print(size_report(args.db, max(articles, 1), args.config))


if __name__ == "__main__":
    main()
