"""Parse-step throughput over the real saved pages: pages/s and dates/s (not a test).

    .venv/bin/python benchmarks/parse_bench.py [--seconds 3]

Measures, on the real pages in tests/fixtures/real-pages/ (no network, no storage):
- selector-based parse of listings and articles (the crawl's hot path; target >= 2,000 pages/s),
- RSS parse of the State Department snapshots,
- generic extraction (trafilatura) for sources without selectors (informative),
- dates/s over the formats the ministries use (target >= 5,000 dates/s).
Rates are given per CPU second of this process, which other load on the machine disturbs less
than wall time, and per wall second.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from crawler.config import Source  # noqa: E402
from crawler.fetch.charset import decode  # noqa: E402
from crawler.model import Page  # noqa: E402
from crawler.parse.article import parse_article  # noqa: E402
from crawler.parse.dates import parse_date  # noqa: E402
from crawler.parse.feed import parse_feed  # noqa: E402
from crawler.parse.listing import parse_listing  # noqa: E402
from storage.model import DateSource, RawResponse  # noqa: E402

REAL = ROOT / "tests" / "fixtures" / "real-pages"

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
    body = path.read_bytes()
    raw = RawResponse(
        url, url, 200, (("Content-Type", ctype),), body, datetime(2020, 7, 4, tzinfo=UTC)
    )
    text, charset, rule = decode(body, ctype)
    return Page(raw=raw, text=text, charset=charset, charset_rule=rule)


def _rate(work: list[Callable[[], object]], seconds: float) -> tuple[float, float, int]:
    """(calls per CPU second, calls per wall second, calls) running `work` round-robin."""
    for fn in work:  # warm-up: imports, regex compilation, caches
        fn()
    calls = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        for fn in work:
            fn()
        calls += len(work)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return calls / cpu, calls / wall, calls


def main() -> None:
    """Run every measurement and print one line each."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="time per measurement (default 3)"
    )
    parser.add_argument(
        "--no-generic", action="store_true", help="skip the (slow) generic-extraction line"
    )
    args = parser.parse_args()

    sources = {k: Source.model_validate(v) for k, v in SOURCES.items()}
    listings = [(_page(n), sources[s]) for n, s in PAGES["listing"]]
    articles = [(_page(n), sources[s]) for n, s in PAGES["article"]]
    generic = [
        (_page(n), sources[s].model_copy(update={"article": None})) for n, s in PAGES["article"]
    ]
    feeds = [(_page(n), sources[s]) for n, s in PAGES["feed"]]

    listing_work = [lambda p=p, s=s: parse_listing(p, s, s.listings[0]) for p, s in listings]
    article_work = [lambda p=p, s=s: parse_article(p, s) for p, s in articles]
    lexbor_work = [lambda p=p: LexborHTMLParser(p.text) for p, _ in listings + articles]
    feed_work = [lambda p=p, s=s: parse_feed(p, s, s.listings[0]) for p, s in feeds]
    generic_work = [lambda p=p, s=s: parse_article(p, s) for p, s in generic]
    zones = {z: ZoneInfo(z) for _, z, _ in DATES}
    date_work = [
        lambda t=t, z=zones[z], lg=lg: parse_date(t, z, DateSource.PAGE, languages=lg)
        for t, z, lg in DATES
    ]

    avg_kb = sum(len(p.raw.body) for p, _ in listings + articles) / len(listings + articles) / 1024
    print(
        f"real pages: {len(listings)} listings + {len(articles)} articles, average {avg_kb:.0f} KB"
    )
    rows = [
        ("listing + article parse (selectors)", listing_work + article_work, "pages", 2000),
        ("  yardstick: lexbor HTML parse alone", lexbor_work, "pages", None),
        ("  listings only", listing_work, "pages", None),
        ("  articles only", article_work, "pages", None),
        ("feed parse (feedparser, 10 items)", feed_work, "feeds", None),
        ("dates (regex families)", date_work, "dates", 5000),
    ]
    if not args.no_generic:
        rows.append(("generic extraction (trafilatura)", generic_work, "pages", None))
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
