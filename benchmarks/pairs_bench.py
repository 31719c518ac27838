"""The cost of readout pairing and language twins: per new article, and a backfill.

    .venv/bin/python benchmarks/pairs_bench.py [--articles 100000] [--new 400] [--smoke]

Builds a SQLite database of `--articles` releases (through storage's bulk path, not timed) from
five sources of four countries (China in English and Chinese, declared twins; the State
Department; Russia in Russian; Germany), 5 % of them readouts naming officials in office on
their date and the rest ordinary releases of 2-6 KB of text, then measures:

  detect     µs per release of `detect` alone (kind words and officials; no database)
  backfill   `pairs backfill` (`update.recompute`) over every article: seconds, articles/s
  new        `update.pair_new` as a crawl calls it, after batches of 20 new articles: ms per
             new article (reading it, detection, candidate queries, writing pairs)

Prints one line per measure (and `--json` a JSON object). `--smoke`: 2,000 articles, 40 new (CI).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from synthetic_site import WORDS, ZH  # noqa: E402

from mfawatch.settings.officials import load_officials  # noqa: E402
from storage.codecs import pack  # noqa: E402
from storage.engine import Database, open_db  # noqa: E402
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse  # noqa: E402
from storage.normalize import article_fingerprint  # noqa: E402
from storage.readouts.detect import Release, detect  # noqa: E402
from storage.readouts.officials import Officials  # noqa: E402
from storage.readouts.update import pair_new, read_releases, recompute  # noqa: E402
from storage.sources import SourceInfo, sync_sources  # noqa: E402
from storage.versions.new_articles import FirstFetch, record_new  # noqa: E402

SOURCES = (
    SourceInfo("cn-mfa-en", "China EN", "CN", "en", "Asia/Shanghai"),
    SourceInfo("cn-mfa-zh", "China ZH", "CN", "zh", "Asia/Shanghai"),
    SourceInfo("us-state-press", "State", "US", "en", "America/New_York"),
    SourceInfo("ru-mid-ru", "MID", "RU", "ru", "Europe/Moscow"),
    SourceInfo("de-aa", "AA", "DE", "de", "Europe/Berlin"),
)
TWINS = {"cn-mfa-en": "cn-mfa-zh", "cn-mfa-zh": "cn-mfa-en"}
TEMPLATES = {
    "en": "{a} Speaks on the Phone with {b}",
    "zh": "{a}同{b}通电话",
    "ru": "О телефонном разговоре {a} с {b}",
    "de": "{a} telefoniert mit {b}",
}
START = date(2021, 1, 1)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _names(officials: Officials, country: str, day: date, script: str) -> list[str]:
    out = []
    for p in officials.people:
        if p.country == country and p.in_office(day):
            names = [n for n in p.names if _script(n) == script] or list(p.names)
            out.append(names[0])
    return out


def _script(name: str) -> str:
    if any("\u4e00" <= c <= "\u9fff" for c in name):
        return "zh"
    if any("\u0400" <= c <= "\u04ff" for c in name):
        return "ru"
    return "en"


def _article(i: int, rng: random.Random, officials: Officials) -> Article:
    src = SOURCES[i % len(SOURCES)]
    day = START + timedelta(days=(i // 40) % 1800)
    chinese = src.language == "zh"
    size = rng.randint(2000, 6000)
    paragraphs: list[str] = []
    while sum(len(p) for p in paragraphs) < size:
        if chinese:
            paragraphs.append("".join(rng.choice(ZH) for _ in range(rng.randint(60, 160))) + "。")
        else:
            paragraphs.append(
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 110))) + "."
            )
    title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
    if rng.random() < 0.05:  # a readout naming an official of another country
        script = "zh" if chinese else "ru" if src.language == "ru" else "en"
        mine = _names(officials, src.country or "", day, script)
        other_country = rng.choice([c for c in ("CN", "US", "RU", "DE") if c != src.country])
        theirs = _names(officials, other_country, day, script)
        if mine and theirs:
            template = TEMPLATES.get(src.language or "en", TEMPLATES["en"])
            title = template.format(a=rng.choice(mine), b=rng.choice(theirs))
    at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=rng.randint(0, 23))
    return Article(
        source=src.key,
        url=f"https://{src.key}.example/{i}.html",
        title=title,
        body_text="\n\n".join(paragraphs),
        date=ArticleDate(day, DatePrecision.MINUTE, DateSource.PAGE, at),
        language=src.language,
    )


def _store(db: Database, articles: Sequence[Article]) -> None:
    entries = []
    for a in articles:
        body = f"<html><body><h1>{a.title}</h1></body></html>".encode()
        raw = RawResponse(a.url, a.url, 200, (), body, NOW)
        entries.append(
            FirstFetch(a, raw, article_fingerprint(a), pack(body), NOW, NOW + timedelta(days=1))
        )
    with db.session() as s:
        record_new(s, entries)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=400, help="new articles after the backfill")
    parser.add_argument("--smoke", action="store_true", help="2,000 articles, 40 new (CI)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    total, new = (2000, 40) if args.smoke else (args.articles, args.new)
    officials = load_officials(ROOT / "config" / "officials.yaml")
    rng = random.Random(21)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(f"sqlite:///{Path(tmp) / 'pairs.sqlite3'}")
        with db.session() as s:
            sync_sources(s, SOURCES)
        built = time.perf_counter()
        for start in range(0, total, 1000):
            _store(
                db, [_article(i, rng, officials) for i in range(start, min(total, start + 1000))]
            )
        build_s = time.perf_counter() - built

        with db.session(readonly=True) as s:
            sample: list[Release] = read_releases(s, 0, 2000)
        t = time.perf_counter()
        found = [detect(r, officials) for r in sample]
        detect_us = (time.perf_counter() - t) / len(sample) * 1e6

        t = time.perf_counter()
        full = recompute(db, officials, NOW, twins=TWINS)
        backfill_s = time.perf_counter() - t

        fresh = [_article(total + i, rng, officials) for i in range(new)]
        elapsed = 0.0
        for start in range(0, new, 20):
            _store(db, fresh[start : start + 20])
            t = time.perf_counter()
            pair_new(db, officials, NOW, twins=TWINS)
            elapsed += time.perf_counter() - t
        per_new_ms = elapsed / new * 1e3
        db.dispose()
    figures = {
        "articles": total,
        "readouts": full.readouts,
        "pairs": full.pairs,
        "twins": full.twins,
        "build_s": round(build_s, 1),
        "detect_us": round(detect_us, 1),
        "backfill_s": round(backfill_s, 2),
        "backfill_articles_per_s": round(total / backfill_s),
        "new_ms_per_article": round(per_new_ms, 3),
        "readouts_in_sample": sum(r is not None for r in found),
    }
    print(
        f"articles {total:,} ({full.readouts} readouts, {full.pairs} pairs, {full.twins} twin pairs); built in {build_s:.1f} s"
    )
    print(f"detect     {detect_us:8.1f} µs per release (no database)")
    print(f"backfill   {backfill_s:8.2f} s ({total / backfill_s:,.0f} articles/s)")
    print(f"new        {per_new_ms:8.3f} ms per new article (pair_new after each 20)")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
