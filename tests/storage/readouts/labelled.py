"""The labelled set (tests/fixtures/pairs/labelled.yaml) as articles: the real ones parsed by the
shipped sources' own parsers, the hand-made ones built from their fields; and the true pairs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from crawler.config import Source
from crawler.model import Page
from crawler.parse.article import parse_article
from crawler.parse.charset import decode
from crawler.parse.feed import article_from_feed_item, parse_feed
from mfawatch.settings.loader import load_config
from mfawatch.settings.models import Settings
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
LABELLED = FIXTURES / "pairs" / "labelled.yaml"
FETCHED = datetime(2024, 8, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Labelled:
    """The set: each article under its label id, the true pairs, and where each item came from."""

    articles: dict[str, Article]
    real: frozenset[str]
    pairs: frozenset[frozenset[str]]
    twins: frozenset[frozenset[str]]
    settings: Settings


def load_labelled() -> Labelled:
    """Parse and build every item of the labelled set."""
    data: dict[str, Any] = YAML(typ="safe").load(LABELLED.read_text(encoding="utf-8"))
    settings = load_config(ROOT / "config" / "sources.yaml", env={})
    articles: dict[str, Article] = {}
    real: set[str] = set()
    for item in data["real"]:
        source = settings.source(item["source"])
        if "feed" in item:
            for article in _feed_articles(source, FIXTURES / item["feed"]):
                label = "us-feed:" + article.url.rstrip("/").rsplit("/", 1)[-1]
                articles[label] = article
                real.add(label)
        else:
            articles[item["id"]] = _page_article(source, FIXTURES / item["page"], item["url"])
            real.add(item["id"])
    for item in data["made"]:
        assert item["id"] not in articles, f"label {item['id']} used twice"
        articles[item["id"]] = _made_article(settings.source(item["source"]), item)
    pairs = frozenset(frozenset(p) for p in data["pairs"])
    twins = frozenset(frozenset(p) for p in data["twins"])
    for pair in pairs | twins:
        assert len(pair) == 2 and pair <= articles.keys(), f"pair {sorted(pair)} names no item"
    return Labelled(articles, frozenset(real), pairs, twins, settings)


def _page(path: Path, url: str, content_type: str) -> Page:
    body = path.read_bytes()
    raw = RawResponse(url, url, 200, (("Content-Type", content_type),), body, FETCHED)
    text, charset, rule = decode(body, content_type)
    return Page(raw=raw, text=text, charset=charset, charset_rule=rule)


def _page_article(source: Source, path: Path, url: str) -> Article:
    return parse_article(_page(path, url, "text/html"), source)


def _feed_articles(source: Source, path: Path) -> list[Article]:
    listing = source.listings[0]
    parsed = parse_feed(_page(path, str(listing.url), "application/rss+xml"), source, listing)
    return [article_from_feed_item(item, source) for item in parsed.items]


def _made_article(source: Source, item: dict[str, Any]) -> Article:
    when = str(item["date"])
    if "T" in when:
        at = datetime.fromisoformat(when)
        stamp = ArticleDate(at.date(), DatePrecision.MINUTE, DateSource.PAGE, at)
    else:
        stamp = ArticleDate(date.fromisoformat(when), DatePrecision.DAY, DateSource.PAGE)
    body = "\n\n".join(line.strip() for line in str(item["body"]).splitlines() if line.strip())
    return Article(
        source=source.key,
        url=f"https://{source.key}.example/{item['id']}",
        title=str(item["title"]),
        body_text=body,
        date=stamp,
        language=source.language,
    )
