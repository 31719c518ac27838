"""Poll benchmark: many listing pages served with ETag, polled again and again.

1. Two polls of every listing through the real pipeline and fetcher (in this process): the first
   stores the articles, the second is all 304. Reports requests/s and CPU seconds of the second
   poll (target: 1,000 listings in under 5 s CPU).
2. `mfawatch run` as a subprocess on the same database, every source due every second: samples
   the daemon's RSS (psutil) after each full round of polls. Reports RSS after the warm-up and at
   the end (target: flat within 10 %).

The site is `tests/site.py` in its own process, so its CPU is not counted.
    python benchmarks/poll_bench.py                  # 50 sources x 20 listings, 50 daemon polls
    python benchmarks/poll_bench.py --smoke          # 4 x 10 listings, 5 daemon polls
    python benchmarks/poll_bench.py --transport aiohttp --no-daemon   # the other HTTP transport

Measured on the 2-core machine (50 x 20 listings): httpx 5.9 s CPU / 152 requests/s for the
all-304 poll, aiohttp 3.3 s / 256 requests/s; daemon RSS 98.1 -> 99.0 MiB over 50 polls (+0.9 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.context import CrawlContext, SourceResult  # noqa: E402
from crawler.fetch import Fetcher  # noqa: E402
from crawler.pipeline import crawl_sources  # noqa: E402
from mfawatch.settings.loader import load_config  # noqa: E402
from storage.engine import open_db  # noqa: E402

ARTICLES_PER_SOURCE = 5


def generate(root: Path, sources: int, listings: int) -> None:
    """Write `sources` x `listings` listing pages, each linking to the source's few articles."""
    for s in range(sources):
        folder = root / f"s{s:03d}"
        folder.mkdir(parents=True)
        for a in range(ARTICLES_PER_SOURCE):
            body = "".join(
                f"<p>Paragraph {p} of release {a} of source {s}: the ministry stated its view.</p>"
                for p in range(8)
            )
            (folder / f"a{a}.html").write_text(
                f'<html><body><h2 class="title">Source {s} release {a}</h2>'
                f'<div id="d">2026-03-0{1 + a} 10:00</div><div class="c">{body}</div></body></html>'
            )
        for i in range(listings):
            items = "".join(
                f'<li><a href="./a{(i + k) % ARTICLES_PER_SOURCE}.html">Release {k}</a></li>'
                for k in range(2)
            )
            (folder / f"l{i}.html").write_text(
                f'<html><body><ul class="n">{items}</ul></body></html>'
            )


def config_text(
    base: str, sources: int, listings: int, every: str, transport: str = "httpx"
) -> str:
    """A YAML config: one source per folder, `listings` listing URLs each."""
    out = [f"http: {{transport: {transport}}}", "sources:"]
    for s in range(sources):
        urls = ", ".join(f"{{url: '{base}/s{s:03d}/l{i}.html'}}" for i in range(listings))
        out.append(
            f"  - key: s{s:03d}\n    name: Source {s}\n    country: CN\n"
            f"    schedule: {{every: {every}, jitter: 0s}}\n"
            "    politeness: {respect_robots: false, concurrency_per_host: 8}\n"
            f"    listings: [{urls}]\n"
            "    list: {item: 'ul.n li', link: a}\n"
            "    article: {title: h2.title, date: '#d', body: div.c}"
        )
    return "\n".join(out) + "\n"


def start_site(root: Path) -> tuple[subprocess.Popen[str], str]:
    """`python -m tests.site ROOT` in its own process; returns it and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.site", str(root)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    base = json.loads(proc.stdout.readline())["base_url"]
    return proc, base


async def two_polls(config: Path, db_url: str) -> list[tuple[float, float, list[SourceResult]]]:
    """Poll every source twice through the pipeline; (wall s, CPU s, results) per poll."""
    settings = load_config(config)
    db = open_db(db_url)
    out = []
    try:
        async with Fetcher(settings.http) as fetcher:
            ctx = CrawlContext(db=db, fetcher=fetcher)
            for _ in range(2):
                wall, cpu = time.perf_counter(), time.process_time()
                results = await crawl_sources(ctx, list(settings.sources))
                out.append((time.perf_counter() - wall, time.process_time() - cpu, results))
    finally:
        db.dispose()
    return out


def daemon_rss(config: Path, db: Path, sources: int, polls: int) -> list[int]:
    """Run the daemon until every source was polled `polls` times; RSS after each round."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    cmd = [sys.executable, "-m", "mfawatch", "--config", str(config), "--db", str(db)]
    proc = subprocess.Popen(
        [*cmd, "--log-format", "json", "run"],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    done = [0]
    errors: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            try:
                event = json.loads(line)
            except ValueError:
                errors.append(line.rstrip())
                continue
            if " done: " in event.get("message", ""):
                done[0] += 1
            elif event.get("level") in ("WARNING", "ERROR"):
                errors.append(event["message"])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    process = psutil.Process(proc.pid)
    samples: list[int] = []
    try:
        deadline = time.monotonic() + 60 + polls * 30
        while len(samples) < polls and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"daemon exited with {proc.returncode}: {errors[-5:]}")
            if done[0] >= (len(samples) + 1) * sources:
                samples.append(process.memory_info().rss)
            else:
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(15)
        reader.join(5)
    if errors:
        print(f"  daemon warnings/errors: {len(errors)}, e.g. {errors[:3]}")
    return samples


def main() -> None:
    """Run both parts and print the numbers."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--listings", type=int, default=20, help="listing pages per source")
    parser.add_argument("--polls", type=int, default=50, help="daemon polls to sample RSS over")
    parser.add_argument("--transport", choices=["httpx", "aiohttp"], default="httpx")
    parser.add_argument("--no-daemon", action="store_true", help="skip the daemon RSS part")
    parser.add_argument("--smoke", action="store_true", help="a small, quick run (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.sources, args.listings, args.polls = 4, 10, 5
    total = args.sources * args.listings

    with tempfile.TemporaryDirectory(prefix="poll-bench-") as tmp:
        root, db = Path(tmp) / "site", Path(tmp) / "poll.sqlite3"
        generate(root, args.sources, args.listings)
        site, base = start_site(root)
        try:
            config = Path(tmp) / "poll.yaml"
            config.write_text(config_text(base, args.sources, args.listings, "1s", args.transport))
            (w1, c1, r1), (w2, c2, r2) = asyncio.run(two_polls(config, f"sqlite:///{db}"))
            errors = [e for r in (*r1, *r2) for e in r.errors]
            if errors:
                raise SystemExit(f"poll errors: {errors[:3]}")
            listings2 = sum(r.listings for r in r2)
            items2 = sum(r.items for r in r2)
            new1 = sum(r.new for r in r1)
            print(
                f"poll benchmark: {args.sources} sources x {args.listings} = {total} listing pages"
            )
            print(f"  first poll : {w1:6.2f} s wall, {c1:6.2f} s CPU, {new1} articles stored")
            print(
                f"  second poll: {w2:6.2f} s wall, {c2:6.2f} s CPU, {listings2 / w2:7.0f} requests/s,"
                f" {listings2} listings, {items2} items parsed (0 = all 304)"
            )
            print(f"  CPU per 1,000 all-304 listings: {c2 * 1000 / listings2:.2f} s (target < 5 s)")
            if items2 or listings2 != total:
                raise SystemExit("the second poll was not all 304")

            if args.no_daemon:
                return
            rss = daemon_rss(config, db, args.sources, args.polls)
            if len(rss) < args.polls:
                raise SystemExit(f"only {len(rss)} of {args.polls} daemon polls completed")
            warm = rss[min(4, len(rss) - 1)]
            growth = (rss[-1] - warm) / warm * 100
            mib = 1024 * 1024
            print(
                f"  daemon RSS over {len(rss)} polls: after poll {min(5, len(rss))} {warm / mib:.1f} MiB,"
                f" last {rss[-1] / mib:.1f} MiB, max {max(rss) / mib:.1f} MiB,"
                f" growth {growth:+.1f} % (target within 10 %)"
            )
        finally:
            site.terminate()
            site.wait(10)


if __name__ == "__main__":
    main()
