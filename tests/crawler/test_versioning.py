"""Change detection end to end: noise makes no version, real edits one each, deletions confirmed.

An article page is served by the loopback site and re-checked through the real pipeline with a
controlled clock (so a 24-hour confirmation window passes in a test), into SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.context import CrawlContext, SourceResult
from crawler.fetch import Fetcher
from crawler.pipeline import crawl_sources
from mfawatch.settings.loader import load_config
from storage import queries
from storage.engine import Database, open_db
from tests.site import Site

PARAS = [
    "On November 13, 2021, State Councilor and Foreign Minister Wang Yi spoke on the phone with the Secretary of State.",
    "Wang Yi said that the two heads of state will hold a virtual meeting on November 16.",
    "Both sides should work in the same direction and make every preparation for a smooth meeting.",
    "The two sides also exchanged views on energy security and climate change.",
]
TITLE = "Wang Yi Speaks on the Phone with US Secretary of State Blinken"
DATE = "2021-11-13 14:12"


def page(
    *,
    title: str = TITLE,
    date: str = DATE,
    paras: list[str] = PARAS,
    related: tuple[str, ...] = ("Older news A", "Older news B"),
    views: int = 1024,
    footer: str = "Copyright 2021 MFA",
    share: str = '<div class="share"><a href="#">Weibo</a><a href="#">WeChat</a></div>',
    attrs: str = 'class="content" id="body"',
    sep: str = "\n",
    space: str = " ",
    pad: str = "",
) -> str:
    """The fixture article page; every keyword varies one thing a ministry page varies."""
    body = sep.join(f"<p>{pad}{p.replace(' ', space)}{pad}</p>" for p in paras)
    rel = "".join(f'<li><a href="./r{i}.shtml">{t}</a></li>' for i, t in enumerate(related))
    return (
        '<html><head><meta charset="utf-8"><title>' + title + "</title></head><body>"
        '<div class="urhere">Home &gt; China News</div>'
        f'<h2 class="title">{title}</h2><div id="News_Body_Time">{date}</div>'
        f'<div {attrs}>{body}{share}<span class="views">Views: {views}</span></div>'
        '<div class="tool">Suggest to a friend Print</div>'
        f'<div id="relnews_list"><ul>{rel}</ul></div><div class="footer">{footer}</div></body></html>'
    )


LISTING = '<html><body><ul class="news"><li><a href="./t1.shtml">Wang Yi Speaks on the Phone with US Secr...</a></li></ul></body></html>'
CONFIG = """sources:
  - key: v
    name: Versioning fixture
    country: CN
    timezone: Asia/Shanghai
    politeness: {{respect_robots: false, retries: 0}}
    listings: [{{url: "{base}/v/list.shtml", section: China News}}]
    list: {{item: "ul.news li", link: "a"}}
    article: {{title: "h2.title", date: "#News_Body_Time", body: "div#body", section: "div.urhere",
              remove: ["div.share", "span.views"]}}
"""


class Clock:
    """A settable clock for the pipeline."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class Harness:
    """Serve the article, crawl it with a clock, read its history."""

    def __init__(self, site: Site, db: Database, config: Path) -> None:
        self.site, self.db, self.clock = site, db, Clock()
        self.settings = load_config(config)
        self.url = site.url("/v/t1.shtml")

    def serve(self, html: str | bytes, **kw: object) -> None:
        self.site.add("/v/t1.shtml", html, content_type="text/html; charset=utf-8", **kw)  # type: ignore[arg-type]

    def crawl(self, *, recheck: bool = True) -> SourceResult:
        async def go() -> list[SourceResult]:
            async with Fetcher(self.settings.http) as fetcher:
                ctx = CrawlContext(db=self.db, fetcher=fetcher, clock=self.clock)
                return await crawl_sources(ctx, list(self.settings.sources), recheck=recheck)

        return asyncio.run(go())[0]

    def history(self):  # -> queries.ArticleHistory
        with self.db.session() as s:
            return queries.history(s, self.url.replace("/v/t1.shtml", "/v/t1.shtml"))

    def diff(self, old: int, new: int) -> dict:
        with self.db.session() as s:
            article_id = self.history().article.id
            return queries.version_pair(s, article_id, old, new).diff

    def kinds(self) -> list[str]:
        return [str(v.kind) for v in self.history().versions]


@pytest.fixture
def h(site: Site, db_url: str, tmp_path: Path) -> Iterator[Harness]:
    """A harness with version 1 of the article already stored."""
    config = tmp_path / "v.yaml"
    config.write_text(CONFIG.format(base=site.url("/").rstrip("/")))
    site.add("/v/list.shtml", LISTING, content_type="text/html; charset=utf-8")
    db = open_db(db_url)
    harness = Harness(site, db, config)
    harness.serve(page())
    first = harness.crawl(recheck=False)
    assert first.new == 1 and first.ok, first.errors
    yield harness
    db.dispose()


NOISE = {
    "whitespace": page(pad="  \n\t", sep="\n\n   "),
    "rotating related-news list": page(related=("Newer news C", "Newer news D", "Newer news E")),
    "view counter": page(views=99_999),
    "changed footer": page(footer="Copyright 2026 MFA. All rights reserved."),
    "reordered attributes": page(attrs='id="body" class="content"'),
    "different share widgets": page(
        share='<div class="share"><a href="#">Facebook</a><a href="#">X</a><a href="#">LINE</a></div>'
    ),
    "nbsp instead of space": page(space="&nbsp;"),
    "CRLF line ends": page(sep="\r\n").replace("\n", "\r\n"),
    "zero-width characters": page(paras=[p.replace("Wang", "Wa\u200bng") for p in PARAS]),
}


@pytest.mark.parametrize("kind", list(NOISE))
def test_noise_makes_no_new_version(h: Harness, kind: str) -> None:
    """A page whose only differences are noise is unchanged: no version, no new rows."""
    h.serve(NOISE[kind])
    h.clock.advance(hours=2)
    result = h.crawl()
    assert result.ok, result.errors
    assert result.unchanged == 1 and result.changed == 0
    assert len(h.history().versions) == 1


EDITS = {
    "a word": (
        page(paras=[PARAS[0], PARAS[1].replace("virtual", "video"), *PARAS[2:]]),
        ["virtual", "video"],
    ),
    "a sentence removed": (page(paras=[PARAS[0], PARAS[1], PARAS[3]]), ["same direction"]),
    "a paragraph added": (
        page(paras=[*PARAS, "The US side reaffirmed its one-China policy."]),
        ["one-China policy"],
    ),
    "title changed": (page(title=TITLE + " (updated)"), ["(updated)"]),
    "date changed": (page(date="2021-11-14 09:30"), ["2021-11-14"]),
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_each_real_edit_makes_exactly_one_version(h: Harness, kind: str) -> None:
    """A real edit creates version 2 whose diff shows that edit; a recheck after it adds nothing."""
    html, must_show = EDITS[kind]
    h.serve(html)
    h.clock.advance(hours=2)
    assert h.crawl().changed == 1
    h.clock.advance(hours=2)
    assert h.crawl().changed == 0
    history = h.history()
    assert [v.number for v in history.versions] == [1, 2]
    diff = h.diff(1, 2)
    shown = str(diff)
    for text in must_show:
        assert text in shown, (kind, text)
    changed_paragraphs = [op for op in diff["body"] if op.get("op") != "equal"]
    if kind in ("title changed", "date changed"):
        assert changed_paragraphs == []  # the body did not change
    else:
        assert len(changed_paragraphs) == 1  # only the edited passage, not the untouched ones


def test_flip_flop_is_recognized(h: Harness) -> None:
    """A -> B -> A -> B -> A stores B once; the three returns are recorded as returns to a known version."""
    b = EDITS["a word"][0]
    counted = []
    for html in (b, page(), b, page()):
        h.serve(html)
        h.clock.advance(hours=2)
        result = h.crawl()
        counted.append((result.changed, result.returned))
    assert counted == [(1, 0), (0, 1), (0, 1), (0, 1)]  # the crawl summary says "returned"
    history = h.history()
    distinct = {v.content_hash for v in history.versions}
    assert len(distinct) == 2 and len(history.versions) == 2
    assert sum(r.count for r in history.reverts) == 3  # B->A, A->B, B->A


def _serve_missing(h: Harness, how: str) -> None:
    if how == "404":
        h.site.remove("/v/t1.shtml")
    elif how == "410":
        h.serve("gone", status=410)
    elif how == "redirect-home":
        h.site.add("/", "<html><body>Home page</body></html>", content_type="text/html")
        h.site.redirect("/v/t1.shtml", "/")
    elif how == "soft-404":
        error = (Path(__file__).parents[1] / "fixtures/real-pages/china-error-1.html").read_bytes()
        h.serve(error)


@pytest.mark.parametrize("how", ["404", "410", "redirect-home", "soft-404"])
def test_deletion_is_confirmed_then_restored(h: Harness, how: str) -> None:
    """Missing on 3 checks spanning 24 h makes the article removed (once); coming back restores it."""
    _serve_missing(h, how)
    h.clock.advance(hours=1)
    assert h.crawl().missing == 1  # first sighting: missing, not yet removed
    h.clock.advance(hours=12)
    r = h.crawl()
    assert r.removed == 0 and r.missing == 1  # two checks, 12 h: still only missing
    h.clock.advance(hours=13)
    assert h.crawl().removed == 1  # three checks over 25 h: removed
    h.clock.advance(hours=8)
    again = h.crawl()
    assert again.removed == 0  # a state change is reported once
    assert h.kinds().count("removed") == 1
    removed = [v for v in h.history().versions if str(v.kind) == "removed"][0]
    assert removed.evidence  # statuses, times, final URL

    h.serve(page())
    h.clock.advance(hours=8)
    assert h.crawl().restored == 1
    assert h.kinds()[-1] == "restored"


def test_spurious_404_is_not_a_deletion(h: Harness) -> None:
    """One 404 followed by the page coming back never records a removal."""
    h.site.remove("/v/t1.shtml")
    h.clock.advance(hours=1)
    h.crawl()
    h.serve(page())
    h.clock.advance(hours=1)
    result = h.crawl()
    assert result.removed == 0 and result.restored == 0
    assert "removed" not in h.kinds()


def test_listing_title_truncation_is_not_a_change(h: Harness) -> None:
    """The listing truncates the title; the article keeps its full title and no version is added."""
    history = h.history()
    assert history.versions[-1].fields["title"] == TITLE
    h.clock.advance(hours=2)
    assert h.crawl(recheck=False).changed == 0
    assert len(h.history().versions) == 1


def test_identical_bytes_are_unchanged_without_parsing(h: Harness, tmp_path: Path) -> None:
    """A recheck answered with the exact bytes of the current version is unchanged even if parsing would now fail."""
    from mfawatch.settings.loader import parse_config

    broken = CONFIG.replace('body: "div#body"', 'body: "div.no-such-body"')
    h.settings = parse_config(broken.format(base=h.site.url("/").rstrip("/")))
    h.clock.advance(hours=2)
    same = h.crawl()
    assert same.ok and same.unchanged == 1  # bytes identical: no parse, no selector error
    h.serve(NOISE["view counter"])  # different bytes: parsed, and the broken selector shows
    h.clock.advance(hours=2)
    differs = h.crawl()
    assert not differs.ok and any("div.no-such-body" in e for e in differs.errors)


# A source whose section and date come only from its listing (fmprc's `…</a>(2020-07-03)`).
LISTING_FACTS_CONFIG = """sources:
  - key: v
    name: Listing facts fixture
    country: CN
    timezone: Asia/Shanghai
    politeness: {{respect_robots: false, retries: 0}}
    listings: [{{url: "{base}/v/list.shtml", section: China News}}]
    list: {{item: "ul.news li", link: "a", date: "text()"}}
    article: {{title: "h2.title", body: "div#body", remove: ["div.share", "span.views"]}}
"""
LISTING_WITH_DATE = (
    '<html><body><ul class="news"><li><a href="./t1.shtml">Wang Yi Speaks</a>(2021-11-13)</li>'
    "</ul></body></html>"
)


@pytest.fixture
def listed(site: Site, db_url: str, tmp_path: Path) -> Iterator[Harness]:
    """A harness whose source takes the section and the date from the listing only."""
    config = tmp_path / "facts.yaml"
    config.write_text(LISTING_FACTS_CONFIG.format(base=site.url("/").rstrip("/")))
    site.add("/v/list.shtml", LISTING_WITH_DATE, content_type="text/html; charset=utf-8")
    db = open_db(db_url)
    harness = Harness(site, db, config)
    harness.serve(page(date=""))
    first = harness.crawl(recheck=False)
    assert first.new == 1 and first.ok, first.errors
    yield harness
    db.dispose()


def test_revisit_keeps_what_only_the_listing_said(listed: Harness) -> None:
    """A recheck (no listing item) keeps the listing's section and date: an unchanged page stays
    unchanged, and an edit's version 2 has them too (issue 15: v2 had section null)."""
    h = listed
    v1 = h.history().versions[0].fields
    assert v1["section"] == "China News" and str(v1["published_date"]) == "2021-11-13"
    h.clock.advance(hours=2)
    same = h.crawl()
    assert same.ok and same.unchanged == 1 and same.changed == 0, same
    h.serve(EDITS["a word"][0].replace(DATE, ""))
    h.clock.advance(hours=2)
    assert h.crawl().changed == 1
    history = h.history()
    assert [v.number for v in history.versions] == [1, 2]
    v2 = history.versions[1].fields
    assert v2["section"] == "China News"
    assert str(v2["published_date"]) == "2021-11-13" and v2["date_source"] == "listing"
    assert history.article.section == "China News"
    assert [f["field"] for f in h.diff(1, 2).get("fields") or []] == []  # only the body changed
