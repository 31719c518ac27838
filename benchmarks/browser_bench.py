"""The browser path's cost: pages/s and memory of `fetch: browser`, and one challenge solve.

Serves N article-sized pages (~35 KB) and the test site's /js-only/ and /js-challenge/ routes
from tests/site.py in a *separate process*, then:

1. fetches the N pages plainly (the yardstick), then in the browser with 1 and 2 pages at once
   (`http.browser.pages`), printing pages/s, the browser's peak memory (the PSS of all its
   processes, sampled every tenth page) and this process's peak RSS;
2. fetches N script-rendered pages (/js-only/) in the browser;
3. `fetch: challenge`: the first page behind a JavaScript challenge (plain answer, browser start,
   solve, plain again), the next page of the host (plain, with the cookie), and a re-solve with
   the browser already running (the site's token changed: the cookie stopped working).

    .venv/bin/python benchmarks/browser_bench.py [--pages 100] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.config import HttpSettings, Source  # noqa: E402
from crawler.fetch import Fetcher, HostSlots  # noqa: E402

PARAGRAPH = (
    "<p>外交部发言人在例行记者会上表示，中方一贯主张通过对话协商解决分歧。"
    "The spokesperson said China always stands for resolving differences through dialogue.</p>\n"
)


def make_site(folder: Path, pages: int) -> None:
    """Write `pages` HTML files of about 35 KB each."""
    body = PARAGRAPH * 180
    for i in range(pages):
        html = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Release {i}</title></head>"
            f"<body><h2 class='title'>Release {i}</h2><div class='content'>{body}</div></body></html>"
        )
        (folder / f"t{i}.shtml").write_text(html, encoding="utf-8")


def source(base: str, fetch: Literal["plain", "browser", "challenge"]) -> Source:
    """A source whose politeness does not hold the browser back."""
    return Source.model_validate(
        {
            "key": "bench",
            "name": "bench",
            "country": "CN",
            "fetch": fetch,
            "listings": [{"url": f"{base}/"}],
            "list": {"item": "li"},
            "politeness": {"concurrency_per_host": 8, "retries": 0, "respect_robots": False},
        }
    )


async def _run(urls: list[str], src: Source, pages: int) -> dict[str, Any]:
    settings = HttpSettings(browser={"pages": pages})
    peak_browser = 0
    async with Fetcher(settings, slots=HostSlots(penalty_base=0.0, randomize=False)) as f:
        if src.fetch == "browser":  # start the browser outside the timing (reported apart)
            started = time.perf_counter()
            await f.fetch(urls[0], src)
            launch = time.perf_counter() - started
        else:
            launch = 0.0
        queue: asyncio.Queue[str] = asyncio.Queue()
        for url in urls:
            queue.put_nowait(url)

        done = 0

        async def worker() -> None:
            nonlocal peak_browser, done
            while not queue.empty():
                await f.fetch(queue.get_nowait(), src)
                done += 1
                if src.fetch == "browser" and done % 10 == 1:  # reading /proc costs ~50 ms
                    peak_browser = max(peak_browser, f.browser.rss_bytes())

        cpu = time.process_time()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(max(2, pages * 2))))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu
    return {
        "pages_per_s": round(len(urls) / wall, 1),
        "first_page_with_browser_start_s": round(launch, 2),
        "client_cpu_ms_per_page": round(cpu * 1000 / len(urls), 2),
        "browser_peak_pss_mb": round(peak_browser / 1048576),
    }


async def _challenge(base: str) -> dict[str, float]:
    src = source(base, "challenge")
    settings = HttpSettings(browser={"challenge_timeout": "20s"})
    out: dict[str, float] = {}
    async with Fetcher(settings, slots=HostSlots(penalty_base=0.0, randomize=False)) as f:
        for label, path in (
            ("first_page_solve_with_browser_start_s", "/js-challenge/a"),
            ("next_page_plain_s", "/js-challenge/b"),
        ):
            t0 = time.perf_counter()
            page = await f.fetch(base + path, src)
            out[label] = round(time.perf_counter() - t0, 3)
            assert "The real statement" in page.text, page.text[:200]
        solves = f.take_browser_use("bench").solves.total()
        # A re-solve with the browser running: a page whose challenge the jar's cookie does not
        # pass (another cookie path), as when the site's token changes.
        t0 = time.perf_counter()
        f._cookies.clear()
        await f.fetch(base + "/js-challenge/c", src)
        out["re_solve_browser_running_s"] = round(time.perf_counter() - t0, 3)
        out["solves"] = solves + f.take_browser_use("bench").solves.total()
    return out


def main() -> None:
    """Run the measurements and print them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="5 pages, one browser run")
    args = parser.parse_args()
    pages = 5 if args.smoke else args.pages
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_site(folder, pages)
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.site", str(folder)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            base = json.loads(server.stdout.readline())["base_url"]
            static = [f"{base}/t{i}.shtml" for i in range(pages)]
            rendered = [f"{base}/js-only/p{i}" for i in range(pages)]
            report: dict[str, Any] = {"pages": pages}
            report["plain"] = asyncio.run(_run(static, source(base, "plain"), 1))
            for n in (1,) if args.smoke else (1, 2):
                report[f"browser_pages_{n}"] = asyncio.run(_run(static, source(base, "browser"), n))
            if not args.smoke:
                report["browser_js_rendered_pages_2"] = asyncio.run(
                    _run(rendered, source(base, "browser"), 2)
                )
            report["challenge"] = asyncio.run(_challenge(base))
            report["crawler_peak_rss_mb"] = round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            )
        finally:
            server.terminate()
            server.wait(timeout=10)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
