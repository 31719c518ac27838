"""Fetch throughput: `Fetcher` over loopback, httpx vs httpx-aiohttp transport, pool 4/8/32.

Generates N article-sized pages (~35 KB, UTF-8, no header charset, like fmprc) and a robots.txt
with a few rules, serves them from tests/site.py in a *separate process* (so the CPU seconds
printed are the client's alone), fetches each once per configuration (robots.txt on, one request;
per-host concurrency opened up to the pool size, twice as many workers as connections), and
prints pages/s and client CPU: the best of `--repeat` runs, since the machine is shared.

    .venv/bin/python benchmarks/fetch_bench.py [--pages 1500] [--pools 4,8,32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

ROBOTS = "User-agent: *\nDisallow: /search/\nDisallow: /admin/\nDisallow: /*.pdf$\n"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.config import HttpSettings, Source  # noqa: E402
from crawler.fetch import Fetcher, HostSlots  # noqa: E402

PARAGRAPH = (
    "<p>外交部发言人在例行记者会上表示，中方一贯主张通过对话协商解决分歧。"
    "The spokesperson said China always stands for resolving differences through dialogue.</p>\n"
)


def make_site(folder: Path, pages: int) -> None:
    """Write `pages` HTML files of about 35 KB each, and a robots.txt that allows them."""
    (folder / "robots.txt").write_text(ROBOTS, encoding="utf-8")
    body = PARAGRAPH * 180
    for i in range(pages):
        html = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Release {i}</title></head>"
            f"<body><h2 class='title'>Release {i}</h2><div class='content'>{body}</div></body></html>"
        )
        (folder / f"t{i}.shtml").write_text(html, encoding="utf-8")


def source(base: str, pool: int) -> Source:
    """A source whose per-host politeness does not hold back the pool being measured."""
    return Source.model_validate(
        {
            "key": "bench",
            "name": "bench",
            "country": "CN",
            "listings": [{"url": f"{base}/"}],
            "list": {"item": "li"},
            "politeness": {"concurrency_per_host": pool, "retries": 0},
        }
    )


async def run(
    base: str, pages: int, transport: Literal["httpx", "aiohttp"], pool: int
) -> tuple[float, float, int]:
    """Fetch every page once; returns (pages/s, client CPU s, bytes)."""
    src = source(base, pool)
    total = 0
    async with Fetcher(
        HttpSettings(transport=transport, pool_size=pool),
        slots=HostSlots(randomize=False),
    ) as f:
        await f.fetch(f"{base}/t0.shtml", src)  # warm: robots.txt and the first connection
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(pages):
            queue.put_nowait(i)

        async def worker() -> None:
            nonlocal total
            while not queue.empty():
                i = queue.get_nowait()
                page = await f.fetch(f"{base}/t{i}.shtml", src)
                total += len(page.raw.body)

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(pool * 2)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return pages / wall, cpu, total


def main() -> None:
    """Run every configuration and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1500)
    ap.add_argument("--pools", default="4,8,32")
    ap.add_argument("--transports", default="httpx,aiohttp")
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration; best is shown")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        make_site(Path(tmp), args.pages)
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.site", tmp], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            base = json.loads(server.stdout.readline())["base_url"]
            size = (Path(tmp) / "t0.shtml").stat().st_size / 1024
            print(
                f"{args.pages} pages of {size:.0f} KB on {base} (server in its own process), "
                f"best of {args.repeat}"
            )
            print(
                f"{'transport':<10}{'pool':>6}{'pages/s':>10}{'client CPU s':>14}{'CPU ms/page':>13}"
            )
            for transport in args.transports.split(","):
                for pool in (int(p) for p in args.pools.split(",")):
                    runs = [
                        asyncio.run(run(base, args.pages, transport, pool))  # type: ignore[arg-type]
                        for _ in range(args.repeat)
                    ]
                    rate, cpu, _ = min(runs, key=lambda r: r[1])
                    print(
                        f"{transport:<10}{pool:>6}{rate:>10.0f}{cpu:>14.2f}{1000 * cpu / args.pages:>13.2f}"
                    )
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
