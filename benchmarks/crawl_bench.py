"""End-to-end crawl benchmark on a synthetic site served on 127.0.0.1.

Scenarios, each a real `mfawatch crawl --once` subprocess against a fresh SQLite file:
  cold     first crawl of every source (listings + every article)
  recheck  `--recheck` of every article, nothing changed (the database must not grow)
  edit5    5 % of the articles edited on the site, then `--recheck` (one new version each)
  scrapy   the yardstick: a plain Scrapy spider, same site, same selectors, no storage

The shipped officials table (config/officials.yaml) is put beside the config, so each crawl
pairs what it stored as a user's crawl does (readout pairs, `mfawatch.pairing`); `--no-pairing`
leaves it out.

Prints articles/s, CPU seconds and peak RSS per scenario, and mfawatch/Scrapy as a ratio. The cold
crawl and the yardstick are run `--repeat` times (each cold crawl into a fresh database) and their
median run is reported; dirty pages are flushed to disk (sync) before every measured run, so that
no run pays for the writeback of the generated site or of the run before it.
    python benchmarks/crawl_bench.py                 # 20 sources x 500 articles, 3 runs each
    python benchmarks/crawl_bench.py --smoke         # 2 x 50, one run, no yardstick (CI)
    python benchmarks/crawl_bench.py --sizes --repeat 1 --no-scrapy   # where the bytes go
`--sizes` prints the cold crawl's database bytes per table and index beside the gzip WARC of
the same responses (`benchmarks/db_sizes.py`); `--keep-db FILE` copies that database out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from db_sizes import size_report  # noqa: E402
from synthetic_site import SiteServer, SiteSpec, config_yaml, edit_articles, generate  # noqa: E402

SCRAPY_SPIDER = r"""
import scrapy

class Bench(scrapy.Spider):
    name = "bench"
    custom_settings = {"LOG_LEVEL": "ERROR", "CONCURRENT_REQUESTS": 8, "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
                       "ROBOTSTXT_OBEY": False, "HTTPCACHE_ENABLED": False, "TELNETCONSOLE_ENABLED": False}

    def __init__(self, base=None, sources=0, pages=0, **kw):
        super().__init__(**kw)
        self.base, self.sources, self.pages = base, int(sources), int(pages)
        self.count = 0

    async def start(self):  # Scrapy >= 2.13
        for s in range(self.sources):
            for p in range(self.pages):
                name = "index.html" if p == 0 else f"index_{p}.html"
                yield scrapy.Request(f"{self.base}/s{s:02d}/{name}", callback=self.parse)

    def parse(self, response):
        for li in response.css("div.newsList li"):
            yield response.follow(li.css("a::attr(href)").get(), callback=self.parse_article)

    def parse_article(self, response):
        self.count += 1
        yield {"title": response.css("h2.title::text").get(), "date": response.css("#date::text").get(),
               "body": "\n\n".join(response.css("div.content p::text").getall())}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def program_env(**extra: str) -> dict[str, str]:
    """The environment of a measured run: this one, but Python caches bytecode as an installed
    program does (CI sets PYTHONDONTWRITEBYTECODE, which would recompile mfawatch every run)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | extra


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run a command to completion; wall time, CPU seconds and peak RSS (MB) of that run.

    The figures are the child's own (with its parse workers), from `wait4`: the RUSAGE_CHILDREN
    peak would be the largest of every run so far, the yardstick's included.
    """
    os.sync()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env or program_env())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.stderr.write(stdout[-3000:] + stderr[-3000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "stdout": stdout,
    }  # type: ignore[dict-item]


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run of median wall time (its own CPU and RSS with it), with every wall time listed."""
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["walls"] = [round(r["wall_s"], 2) for r in runs]  # type: ignore[assignment]
    return chosen


def db_counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


def mfawatch(config: Path, db: Path, *extra: str) -> dict[str, float]:
    cmd = [
        sys.executable,
        "-m",
        "mfawatch",
        "--config",
        str(config),
        "--db",
        str(db),
        "crawl",
        "--once",
        *extra,
    ]
    return run_measured(cmd, env=program_env(PYTHONWARNINGS="ignore"))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sources", type=int, default=20)
    ap.add_argument("--articles", type=int, default=500, help="articles per source")
    ap.add_argument("--smoke", action="store_true", help="2 x 50, no yardstick (CI smoke test)")
    ap.add_argument("--no-scrapy", action="store_true", help="skip the Scrapy yardstick")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3, help="runs of cold and scrapy (median)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument(
        "--no-pairing", action="store_true", help="no officials table: crawls pair nothing"
    )
    ap.add_argument(
        "--sizes", action="store_true", help="database bytes per table/index vs the gzip WARC"
    )
    ap.add_argument("--keep-db", metavar="FILE", help="copy the cold crawl's database there")
    args = ap.parse_args()
    if args.smoke:
        args.sources, args.articles, args.no_scrapy, args.repeat = 2, 50, True, 1
    spec = SiteSpec(args.sources, args.articles)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="mfawatch-bench-") as tmp:
        root = Path(tmp) / "site"
        t0 = time.perf_counter()
        generate(root, spec)
        print(
            f"site: {spec.sources} sources x {spec.articles} articles generated in {time.perf_counter() - t0:.1f}s"
        )
        with SiteServer(root, free_port()) as server:
            config = Path(tmp) / "bench.yaml"
            config.write_text(config_yaml(server.base_url, spec, concurrency=args.concurrency))
            if not args.no_pairing:
                repo = Path(__file__).resolve().parent.parent
                shutil.copy(repo / "config" / "officials.yaml", Path(tmp) / "officials.yaml")
            db = Path(tmp) / "bench.sqlite3"

            colds = []
            for _ in range(args.repeat):
                for stale in Path(tmp).glob("bench.sqlite3*"):
                    stale.unlink()
                colds.append(mfawatch(config, db))
            results["cold"] = median_run(colds)
            counts_cold = db_counts(db)
            sizes = size_report(db, spec.total, config) if args.sizes else None
            if args.keep_db:
                shutil.copy(db, args.keep_db)
            if counts_cold.get("articles") != spec.total:
                raise SystemExit(
                    f"cold crawl stored {counts_cold.get('articles')} articles, expected {spec.total}"
                )

            results["recheck"] = mfawatch(config, db, "--recheck")
            counts_recheck = db_counts(db)
            grown = {
                t: counts_recheck[t] - n
                for t, n in counts_cold.items()
                if counts_recheck.get(t) != n
            }
            # Listing sightings and run records are expected to change; article data must not.
            bad = {
                t: d
                for t, d in grown.items()
                if t in ("articles", "versions", "blobs", "responses", "diffs")
            }
            if bad:
                raise SystemExit(f"an unchanged recheck grew the database: {bad}")

            edited = edit_articles(root, spec, 0.05)
            results["edit5"] = mfawatch(config, db, "--recheck")
            counts_edit = db_counts(db)
            new_versions = counts_edit.get("versions", 0) - counts_recheck.get("versions", 0)
            if new_versions != edited:
                raise SystemExit(
                    f"{edited} articles edited but {new_versions} new versions recorded"
                )

            if not args.no_scrapy:
                spider = Path(tmp) / "spider.py"
                spider.write_text(SCRAPY_SPIDER)
                pages = (spec.articles + 49) // 50
                scrapy_cmd = [
                    sys.executable,
                    "-m",
                    "scrapy",
                    "runspider",
                    str(spider),
                    "-a",
                    f"base={server.base_url}",
                    "-a",
                    f"sources={spec.sources}",
                    "-a",
                    f"pages={pages}",
                    "-O",
                    str(Path(tmp) / "items.jsonl"),
                ]
                results["scrapy"] = median_run(
                    [run_measured(scrapy_cmd) for _ in range(args.repeat)]
                )
                scraped = sum(1 for _ in open(Path(tmp) / "items.jsonl"))
                if scraped != spec.total:
                    print(f"warning: scrapy scraped {scraped} of {spec.total}")

    print(
        f"{'scenario':10} {'articles':>9} {'wall s':>8} {'art/s':>8} {'CPU s':>7} {'peak RSS MB':>12}"
    )
    for name, r in results.items():
        rate = spec.total / r["wall_s"]
        r["articles_per_s"] = rate
        print(
            f"{name:10} {spec.total:9d} {r['wall_s']:8.2f} {rate:8.0f} {r['cpu_s']:7.2f} {r['peak_rss_mb']:12.0f}"
        )
    for name in ("cold", "scrapy"):
        if name in results and args.repeat > 1:
            print(f"{name}: wall times of the {args.repeat} runs {results[name]['walls']}")
    print(f"edit5: {edited} edited -> {new_versions} new versions; recheck grew no article tables")
    if sizes is not None:
        print(f"cold crawl database (last run):\n{sizes}")
    if "scrapy" in results:
        ratio = results["cold"]["articles_per_s"] / results["scrapy"]["articles_per_s"]
        print(f"mfawatch cold / scrapy = {ratio:.2f}x")
    if args.json:
        clean = {k: {kk: vv for kk, vv in v.items() if kk != "stdout"} for k, v in results.items()}
        Path(args.json).write_text(json.dumps(clean, indent=2))


if __name__ == "__main__":
    main()
