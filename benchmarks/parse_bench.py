"""Parse-step throughput over real and synthetic pages: pages/s and dates/s (not a test).

    .venv/bin/python benchmarks/parse_bench.py [--seconds 1] [--synthetic 300] [--no-generic]
    .venv/bin/python benchmarks/parse_bench.py --smoke     # a few pages, short runs (CI)

Measures, with no network and no storage:
- on the real pages in tests/fixtures/real-pages/: selector-based parse of listings and articles
  (the crawl's hot path; target >= 2,000 pages/s), with lexbor's HTML parse alone as the ceiling,
- on synthetic pages (benchmarks/synthetic_site.py: 30-60 KB articles with realistic chrome, every
  date style, one source in five in GB18030; listings of 50 items), parsed with the sources
  `synthetic_site.config_yaml()` writes, again with lexbor alone as the ceiling,
- RSS parse of the State Department snapshots,
- generic extraction (trafilatura) for sources without selectors (informative),
- dates/s over the formats the ministries use (target >= 5,000 dates/s).
Rates are given per CPU second of this process, which other load on the machine disturbs less
than wall time, and per wall second; each is the best of three runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from selectolax.lexbor import LexborHTMLParser  # noqa: E402
from synthetic_site import (  # noqa: E402
    DATE_STYLES,
    PER_PAGE,
    SiteSpec,
    article_html,
    config_yaml,
    listing_html,
)

from crawler.config import Source  # noqa: E402
from crawler.model import Page  # noqa: E402
from crawler.parse.article import parse_article  # noqa: E402
from crawler.parse.charset import decode  # noqa: E402
from crawler.parse.dates import parse_date  # noqa: E402
from crawler.parse.feed import parse_feed  # noqa: E402
from crawler.parse.listing import parse_listing  # noqa: E402
from storage.model import DateSource, RawResponse  # noqa: E402

REAL = ROOT / "tests" / "fixtures" / "real-pages"
Work = list[Callable[[], object]]

SOURCES: dict[str, dict[str, Any]] = {
    "cn-en": {
        "key": "cn-mfa-en",
        "name": "China MFA (English)",
        "country": "CN",
        "timezone": "Asia/Shanghai",
        "listings": [
            {"url": "https://www.fmprc.gov.cn/mfa_eng/", "section": "Regular Press Conference"}
        ],
        "list": {"item": "div.newsLst_mod ul li", "link": "a"},
        "article": {
            "title": "h2.title",
            "date": "#News_Body_Time",
            "body": "div.content",
            "section": "div.urhere",
        },
    },
    "cn-zh": {
        "key": "cn-mfa-zh",
        "name": "China MFA (Chinese)",
        "country": "CN",
        "language": "zh",
        "timezone": "Asia/Shanghai",
        "listings": [{"url": "https://www.fmprc.gov.cn/web/", "section": "发言人表态"}],
        "list": {"item": "div.rebox_news ul li", "link": "a", "date": "text()"},
        "article": {
            "title": "#News_Body_Title",
            "date": "#News_Body_Time",
            "body": "#News_Body_Txt_A",
            "section": "div.nav",
        },
    },
    "uk": {
        "key": "uk",
        "name": "GOV.UK",
        "country": "GB",
        "timezone": "Europe/London",
        "listings": [
            {"url": "https://www.gov.uk/government/publications", "paginate": {"next": "li.next a"}}
        ],
        "list": {
            "item": "ol.document-list > li.document-row",
            "link": "h3 > a",
            "date": "time.public_timestamp@datetime",
        },
    },
    "us": {
        "key": "us-state-press",
        "name": "US State Department",
        "country": "US",
        "timezone": "America/New_York",
        "type": "feed",
        "listings": [{"url": "https://www.state.gov/rss-feed/press-releases/feed/"}],
    },
}
PAGES = {
    "listing": [
        ("china-en-listing-1", "cn-en"),
        ("china-en-listing-2", "cn-en"),
        ("china-zh-listing-1", "cn-zh"),
        ("uk-listing-1", "uk"),
    ],
    "article": [
        ("china-en-article-1", "cn-en"),
        ("china-en-article-2", "cn-en"),
        ("china-zh-article-1", "cn-zh"),
        ("china-zh-article-2", "cn-zh"),
        ("china-zh-article-3", "cn-zh"),
        ("china-zh-article-4", "cn-zh"),
        ("wang-yi-blinken-2021", "cn-en"),
    ],
    "feed": [("us-feed-1", "us"), ("us-feed-2", "us")],
}
DATES = [
    ("2021-11-13 14:12", "Asia/Shanghai", ("en",)),
    ("(2020-07-03)", "Asia/Shanghai", ("zh",)),
    (
        "Foreign Ministry Spokesperson Zhao Lijian's Regular Press Conference on July 3, 2020",
        "Asia/Shanghai",
        ("en",),
    ),
    ("2020年7月3日外交部发言人赵立坚主持例行记者会", "Asia/Shanghai", ("zh",)),
    ("3 июля 2020 г.", "Europe/Moscow", ("ru",)),
    ("03.07.2020 14:30", "Europe/Moscow", ("ru",)),
    ("令和2年7月3日", "Asia/Tokyo", ("ja",)),
    ("28.08.2025 - Artikel", "Europe/Berlin", ("de",)),
    ("3 juillet 2020", "Europe/Paris", ("fr",)),
    ("2016-11-04T10:27:27+00:00", "Europe/London", ("en",)),
    ("Wed, 03 Aug 2022 00:20:31 +0000", "America/New_York", ("en",)),
    ("Friday, May 29, 2020, 11:05 a.m.", "Asia/Tokyo", ("en",)),
]


def _page(name: str) -> Page:
    side = json.loads((REAL / f"{name}.json").read_text(encoding="utf-8"))
    path = REAL / side["file"]
    url = str(
        side.get("source_url") or "https://www.fmprc.gov.cn/mfa_eng/zxxx_662805/t1.html"
    ).split(" ")[0]
    ctype = "application/rss+xml; charset=UTF-8" if path.suffix == ".xml" else "text/html"
    return _as_page(url, path.read_bytes(), ctype)


def _as_page(url: str, body: bytes, ctype: str) -> Page:
    raw = RawResponse(
        url, url, 200, (("Content-Type", ctype),), body, datetime(2020, 7, 4, tzinfo=UTC)
    )
    text, charset, rule = decode(body, ctype)
    return Page(raw=raw, text=text, charset=charset, charset_rule=rule)


def _synthetic(count: int) -> tuple[list[tuple[Page, Source]], list[tuple[Page, Source]]]:
    """`count` synthetic articles and a few listing pages, each with its source's config.

    Sources rotate through every date style and charset of synthetic_site (ten sources: four
    date styles, GB18030 for one in five); pages are served as the site serves them, text/html
    without a charset.
    """
    sources = 10
    per_source = max(1, -(-count // sources))
    spec = SiteSpec(sources=sources, articles=per_source)
    base = "http://127.0.0.1:8000"
    configs = yaml.safe_load(config_yaml(base, spec))["sources"]
    assert len(DATE_STYLES) < sources
    articles, listings = [], []
    for s in range(sources):
        source = Source.model_validate(configs[s])
        for i in range(per_source):
            html, charset = article_html(s, i)
            url = f"{base}/s{s:02d}/a/{i}.html"
            articles.append((_as_page(url, html.encode(charset), "text/html"), source))
        listing = listing_html(s, 0, PER_PAGE)
        url = f"{base}/s{s:02d}/index.html"
        listings.append((_as_page(url, listing.encode("utf-8"), "text/html"), source))
    return articles[:count], listings


def _rate(work: Work, seconds: float, repeats: int = 3) -> tuple[float, float, int]:
    """(calls per CPU second, calls per wall second, calls) running `work` round-robin.

    The best of `repeats` runs of about `seconds` each (other load only ever slows a run down).
    """
    for fn in work:  # warm-up: imports, regex compilation, caches
        fn()
    best = (0.0, 0.0, 0)
    for _ in range(repeats):
        calls = 0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        while True:
            for fn in work:
                fn()
            calls += len(work)
            if time.perf_counter() - wall0 >= seconds:
                break
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if calls / cpu > best[0]:
            best = (calls / cpu, calls / wall, calls)
    return best


def main() -> None:
    """Run every measurement and print one line each."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="time per run, 3 runs each (default 1)"
    )
    parser.add_argument(
        "--synthetic", type=int, default=300, help="synthetic articles to parse (default 300)"
    )
    parser.add_argument(
        "--no-generic", action="store_true", help="skip the (slow) generic-extraction line"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="20 synthetic pages, short runs, no generic (CI)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.synthetic, args.no_generic = 0.05, 20, True

    sources = {k: Source.model_validate(v) for k, v in SOURCES.items()}
    listings = [(_page(n), sources[s]) for n, s in PAGES["listing"]]
    articles = [(_page(n), sources[s]) for n, s in PAGES["article"]]
    generic = [
        (_page(n), sources[s].model_copy(update={"article": None})) for n, s in PAGES["article"]
    ]
    feeds = [(_page(n), sources[s]) for n, s in PAGES["feed"]]
    syn_articles, syn_listings = _synthetic(args.synthetic)

    def listing_work(pages: list[tuple[Page, Source]]) -> Work:
        return [partial(parse_listing, p, s, s.listings[0]) for p, s in pages]

    def article_work(pages: list[tuple[Page, Source]]) -> Work:
        return [partial(parse_article, p, s) for p, s in pages]

    def lexbor_work(pages: list[tuple[Page, Source]]) -> Work:
        return [partial(LexborHTMLParser, p.text) for p, _ in pages]

    feed_work: Work = [partial(parse_feed, p, s, s.listings[0]) for p, s in feeds]
    zones = {z: ZoneInfo(z) for _, z, _ in DATES}
    date_work: Work = [
        partial(parse_date, t, zones[z], DateSource.PAGE, languages=lg) for t, z, lg in DATES
    ]

    avg_kb = sum(len(p.raw.body) for p, _ in listings + articles) / len(listings + articles) / 1024
    syn_kb = sum(len(p.raw.body) for p, _ in syn_articles) / len(syn_articles) / 1024
    print(
        f"real pages: {len(listings)} listings + {len(articles)} articles, average {avg_kb:.0f} KB;"
        f" synthetic: {len(syn_articles)} articles, average {syn_kb:.0f} KB,"
        f" {len(syn_listings)} listings of {PER_PAGE} items"
    )
    rows: list[tuple[str, Work, str, int | None]] = [
        (
            "listing + article parse (selectors)",
            listing_work(listings) + article_work(articles),
            "pages",
            2000,
        ),
        ("  ceiling: lexbor HTML parse alone", lexbor_work(listings + articles), "pages", None),
        ("  listings only", listing_work(listings), "pages", None),
        ("  articles only", article_work(articles), "pages", None),
        ("synthetic article parse (selectors)", article_work(syn_articles), "pages", 2000),
        ("  ceiling: lexbor HTML parse alone", lexbor_work(syn_articles), "pages", None),
        ("synthetic listing parse (50 items)", listing_work(syn_listings), "pages", None),
        ("feed parse (feedparser, 10 items)", feed_work, "feeds", None),
        ("dates (regex families)", date_work, "dates", 5000),
    ]
    if not args.no_generic:
        rows.append(("generic extraction (trafilatura)", article_work(generic), "pages", None))
    for label, work, unit, target in rows:
        per_cpu, per_wall, calls = _rate(work, args.seconds)
        verdict = (
            "" if target is None else ("  ok" if per_cpu >= target else f"  BELOW target {target}")
        )
        print(
            f"{label:40s} {per_cpu:9.0f} {unit}/CPU-s {per_wall:9.0f} {unit}/s  ({calls} calls){verdict}"
        )


if __name__ == "__main__":
    main()
