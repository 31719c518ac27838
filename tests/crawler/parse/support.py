"""Test support for the parsers: Sources for the real pages, and Pages built from fixture bytes.

No HTTP: a Page is the fixture's bytes in a RawResponse, decoded by the fetch layer's charset
rules with the Content-Type the sidecar recorded (fmprc sends `text/html` without a charset).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.config import Source
from crawler.model import Page
from crawler.parse.charset import decode
from storage.model import RawResponse

REAL = Path(__file__).parents[2] / "fixtures" / "real-pages"
SEED_URL = "https://www.fmprc.gov.cn/mfa_eng/zxxx_662805/202111/t20211113_10447852.html"

# The selectors of each real site, as a user would write them in YAML.
SOURCES: dict[str, dict[str, Any]] = {
    "cn-en": {
        "key": "cn-mfa-en",
        "name": "China MFA (English)",
        "country": "CN",
        "language": "en",
        "timezone": "Asia/Shanghai",
        "listings": [
            {
                "url": "https://www.fmprc.gov.cn/mfa_eng/xwfw_665399/s2510_665401/2511_665403/default.shtml",
                "section": "Regular Press Conference",
                "paginate": {"template": "default_{n}.shtml", "first": 1, "max_pages": 13},
            }
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
        "listings": [
            {
                "url": "https://www.fmprc.gov.cn/web/wjdt_674879/fyrbt_674889/default.shtml",
                "section": "发言人表态",
                "paginate": {"template": "default_{n}.shtml", "first": 1, "max_pages": 100},
            }
        ],
        "list": {"item": "div.rebox_news ul li", "link": "a", "date": "text()"},
        "article": {
            "title": "#News_Body_Title",
            "date": "#News_Body_Time",
            "body": "#News_Body_Txt_A",
            "section": "div.nav",
        },
    },
    "uk": {
        "key": "uk-publications",
        "name": "GOV.UK publications",
        "country": "GB",
        "language": "en",
        "timezone": "Europe/London",
        "listings": [
            {
                "url": "https://www.gov.uk/government/publications",
                "section": "Publications (all departments)",
                "paginate": {"next": "li.next a"},
            }
        ],
        "list": {
            "item": "ol.document-list > li.document-row",
            "link": "h3 > a",
            "date": "time.public_timestamp@datetime",
        },
    },
    "us": {
        "key": "us-state-press",
        "name": "US Department of State press releases",
        "country": "US",
        "language": "en",
        "timezone": "America/New_York",
        "type": "feed",
        "listings": [{"url": "https://www.state.gov/rss-feed/press-releases/feed/"}],
    },
}

# Which source each real page belongs to.
PAGE_SOURCE: dict[str, str] = {
    "china-en-article-1": "cn-en",
    "china-en-article-2": "cn-en",
    "china-en-listing-1": "cn-en",
    "china-en-listing-2": "cn-en",
    "china-error-1": "cn-zh",
    "china-zh-article-1": "cn-zh",
    "china-zh-article-2": "cn-zh",
    "china-zh-article-3": "cn-zh",
    "china-zh-article-4": "cn-zh",
    "china-zh-listing-1": "cn-zh",
    "uk-listing-1": "uk",
    "us-feed-1": "us",
    "us-feed-2": "us",
    "wang-yi-blinken-2021": "cn-en",
}


def sidecar(name: str) -> dict[str, Any]:
    """The parsed .json sidecar of a real page."""
    data: dict[str, Any] = json.loads((REAL / f"{name}.json").read_text(encoding="utf-8"))
    return data


def real_names() -> list[str]:
    """Every real page that has a sidecar (INDEX.json is the list, not a sidecar)."""
    return sorted(p.stem for p in REAL.glob("*.json") if p.name != "INDEX.json")


def source_for(name: str, **changes: Any) -> Source:
    """The Source a real page belongs to, optionally with top-level keys replaced."""
    cfg = dict(SOURCES[PAGE_SOURCE[name]])
    cfg.update(changes)
    return Source.model_validate(cfg)


def source_url(name: str) -> str:
    """The page's URL per its sidecar (the reconstructed ones carry a note after the URL)."""
    url = sidecar(name).get("source_url") or SEED_URL
    return str(url).split(" ")[0]


def build_page(
    body: bytes,
    url: str,
    *,
    content_type: str | None = "text/html",
    fetched_at: datetime | None = None,
) -> Page:
    """A Page from raw bytes, decoded by the fetch layer's charset rules."""
    headers = (("Content-Type", content_type),) if content_type else ()
    raw = RawResponse(
        url=url,
        final_url=url,
        status=200,
        headers=headers,
        body=body,
        fetched_at=fetched_at or datetime(2020, 7, 4, 4, 0, tzinfo=UTC),
    )
    text, charset, rule = decode(body, content_type)
    return Page(raw=raw, text=text, charset=charset, charset_rule=rule)


def real_page(name: str) -> Page:
    """A real page as the fetcher would have produced it (its recorded Content-Type and time)."""
    side = sidecar(name)
    path = REAL / side.get("file", f"{name}.html")
    content_type = "text/html"
    for header in side.get("http_response_headers", ()):
        key, _, value = header.partition(":")
        if key.strip().lower() == "content-type":
            content_type = value.strip()
    if path.suffix == ".xml":
        content_type = "application/rss+xml; charset=UTF-8"
    captured = str(side.get("captured_at", "")).split(" ")[0]
    try:
        fetched_at = datetime.fromisoformat(captured.replace("Z", "+00:00"))
    except ValueError:
        fetched_at = None
    if fetched_at is not None and fetched_at.tzinfo is None:
        fetched_at = None
    return build_page(
        path.read_bytes(), source_url(name), content_type=content_type, fetched_at=fetched_at
    )
