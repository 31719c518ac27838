"""Silent edits (and a move) end to end: real ministry pages edited, served by the loopback site,
rechecked.

Each page is a saved page from tests/fixtures/real-pages with one edit, crawled with the real
pipeline (the presets' selectors) into SQLite and PostgreSQL; the stored version says whether
the edit was `silent`, `announced` (and by what) or `unknown`. A noise-only change makes no
version, so nothing is reported.
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
from digest.report import build_report
from mfawatch.settings.loader import load_config
from storage import queries
from storage.engine import Database, open_db
from tests.site import Site

PAGES = Path(__file__).parent.parent / "fixtures" / "real-pages"
ZH = (PAGES / "china-zh-article-1.html").read_text(encoding="utf-8")
EN = (PAGES / "china-en-article-1.html").read_text(encoding="utf-8")
ZH_WORDS, ZH_EDITED = "决心坚定不移", "决心毫不动摇"
EN_WORDS, EN_EDITED = "stirring up new trouble.", "stirring up any new trouble."
EN_TITLE = "Foreign Ministry Spokesperson Zhao Lijian's Regular Press Conference on July 3, 2020"
LISTING = (
    '<html><body><ul class="news"><li><a href="./t1.shtml">An article</a></li></ul></body></html>'
)
# The selectors of the cn-mfa-zh and cn-mfa-en presets (config/sources.yaml).
CONFIG = """sources:
  - key: s
    name: Silent-edit fixture
    country: CN
    timezone: Asia/Shanghai
    politeness: {{respect_robots: false, retries: 0}}
    listings: [{{url: "{base}/s/list.shtml", section: News}}]
    list: {{item: "ul.news li", link: "a"}}
    article: {article}
"""
ARTICLE = {
    "zh": '{title: "#News_Body_Title", date: "#News_Body_Time", body: "#News_Body_Txt_A", '
    'section: "div.nav", remove: ["#relnews_list", "#appendix_list", "div.info", "script", "style"]}',
    "en": '{title: "h2.title", date: "#News_Body_Time", body: "div.content", section: "div.urhere", '
    'remove: ["div.tool", "script", "style", "form", "#News_Body_source", "#News_Body_subitle"]}',
}


class Harness:
    """Serve one page at /s/t1.shtml, crawl it on a settable clock, read its history."""

    def __init__(self, site: Site, db: Database, config: Path) -> None:
        self.site, self.db = site, db
        self.now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        self.settings = load_config(config)
        self.url = site.url("/s/t1.shtml")

    def serve(self, html: str) -> None:
        self.site.add("/s/t1.shtml", html, content_type="text/html; charset=utf-8")

    def crawl(self, *, recheck: bool = True) -> SourceResult:
        async def go() -> list[SourceResult]:
            async with Fetcher(self.settings.http) as fetcher:
                ctx = CrawlContext(db=self.db, fetcher=fetcher, clock=lambda: self.now)
                return await crawl_sources(ctx, list(self.settings.sources), recheck=recheck)

        result = asyncio.run(go())[0]
        assert result.ok, result.errors
        return result

    def recheck(self, html: str) -> SourceResult:
        self.serve(html)
        self.now += timedelta(hours=2)
        return self.crawl()

    def versions(self) -> list[queries.VersionInfo]:
        with self.db.session() as s:
            return queries.history(s, self.url).versions


@pytest.fixture
def start(site: Site, db_url: str, tmp_path: Path) -> Iterator[object]:
    """`start(lang, html)`: a harness with version 1 of `html` stored."""
    dbs: list[Database] = []

    def make(lang: str, html: str) -> Harness:
        config = tmp_path / "s.yaml"
        base = site.url("/").rstrip("/")
        config.write_text(CONFIG.format(base=base, article=ARTICLE[lang]), encoding="utf-8")
        site.add("/s/list.shtml", LISTING, content_type="text/html; charset=utf-8")
        dbs.append(open_db(db_url))
        h = Harness(site, dbs[-1], config)
        h.serve(html)
        assert h.crawl(recheck=False).new == 1
        return h

    yield make
    for db in dbs:
        db.dispose()


def _meta(html: str, modified: str) -> str:
    return html.replace(
        "<head>", f'<head><meta property="article:modified_time" content="{modified}">', 1
    )


def test_an_edit_keeping_the_date_is_silent(start) -> None:  # type: ignore[no-untyped-def]
    """A paragraph edited while the page's date stays 2020-06-30: a silent edit."""
    h = start("zh", ZH)
    assert ZH_WORDS in ZH
    assert h.recheck(ZH.replace(ZH_WORDS, ZH_EDITED)).changed == 1
    v = h.versions()[-1]
    assert (v.kind, v.edit_kind) == ("changed", "silent")
    assert v.edit_evidence == {
        "same": ["date", "displayed"],
        "date": "2020-06-30",
        "displayed": "2020-06-30",
    }


def test_an_edit_with_a_new_date_is_announced(start) -> None:  # type: ignore[no-untyped-def]
    """The same edit with the displayed date moved: announced, by the date."""
    h = start("zh", ZH)
    edited = ZH.replace(ZH_WORDS, ZH_EDITED).replace(
        '"News_Body_Time">2020-06-30<', '"News_Body_Time">2020-07-01<'
    )
    assert h.recheck(edited).changed == 1
    v = h.versions()[-1]
    assert v.edit_kind == "announced"
    assert v.edit_evidence == {
        "changed": ["date", "displayed"],
        "date": ["2020-06-30", "2020-07-01"],
        "displayed": ["2020-06-30", "2020-07-01"],
    }


def test_an_edit_with_an_update_notice_is_announced(start) -> None:  # type: ignore[no-untyped-def]
    """The same edit with a "（更新于…）" notice paragraph added: announced, by the notice."""
    h = start("zh", ZH)
    body = '<div id="News_Body_Txt_A" class="content">'
    notice = "<P>（2020年7月1日更新：修改了第四段的措辞）</P>"
    edited = ZH.replace(ZH_WORDS, ZH_EDITED).replace(body, body + notice)
    assert h.recheck(edited).changed == 1
    v = h.versions()[-1]
    assert v.edit_kind == "announced"
    assert v.edit_evidence is not None and v.edit_evidence["changed"] == ["notice"]
    assert "更新" in v.edit_evidence["notice"][1]


def test_an_edit_with_a_new_modified_time_is_announced(start) -> None:  # type: ignore[no-untyped-def]
    """An English page dated by its title: a meta modification time that moves announces the
    edit; one that stays the same makes the next edit silent."""
    h = start("en", _meta(EN, "2020-07-03T20:00:00+08:00"))
    once = EN.replace(EN_WORDS, EN_EDITED)
    assert h.recheck(_meta(once, "2020-07-04T09:00:00+08:00")).changed == 1
    v = h.versions()[-1]
    assert v.edit_kind == "announced"
    assert v.edit_evidence == {
        "changed": ["modified"],
        "modified": ["2020-07-03T20:00:00+08:00", "2020-07-04T09:00:00+08:00"],
    }
    twice = once.replace("new trouble", "fresh trouble")
    assert h.recheck(_meta(twice, "2020-07-04T09:00:00+08:00")).changed == 1
    v = h.versions()[-1]
    assert v.edit_kind == "silent"
    assert v.edit_evidence == {
        "same": ["date", "modified"],
        "date": "2020-07-03",
        "modified": "2020-07-04T09:00:00+08:00",
    }


def test_an_edit_of_a_page_without_a_date_is_unknown(start) -> None:  # type: ignore[no-untyped-def]
    """The English page with the date cut from its title (its date element is empty): unknown."""
    undated = EN.replace(EN_TITLE, "Foreign Ministry Spokesperson Zhao Lijian's Press Conference")
    h = start("en", undated)
    assert h.versions()[0].fields["published_date"] is None
    assert h.recheck(undated.replace(EN_WORDS, EN_EDITED)).changed == 1
    v = h.versions()[-1]
    assert (v.edit_kind, v.edit_evidence) == ("unknown", {})


def test_noise_or_a_marker_alone_makes_no_version(start) -> None:  # type: ignore[no-untyped-def]
    """Whitespace in the body, or a new modification time without a text change: no version,
    so nothing to report."""
    h = start("zh", ZH)
    para = '<P style="FONT-SIZE: 14px; FONT-FAMILY: arial">'
    assert h.recheck(ZH.replace(para, "\n  <p>  \n")).unchanged == 1
    assert h.recheck(_meta(ZH, "2020-07-02T08:00:00+08:00")).unchanged == 1
    assert [v.kind for v in h.versions()] == ["new"]
    with h.db.session(readonly=True) as s:
        report = build_report(s, since=h.now - timedelta(days=1), until=h.now)
    assert [i.kind.value for i in report.items] == ["new"] and report.silent == {}


@pytest.mark.parametrize(("lang", "html"), [("en", EN), ("zh", ZH)])
def test_a_real_release_moved_to_a_new_path_is_one_history(
    start: object, lang: str, html: str
) -> None:
    """A real China MFA release whose listing now links a new path (the old one 404s) is a move
    of the stored article (issue 20 §2): no new article, one history, never a removal."""
    h = start(lang, html)  # type: ignore[operator]
    moved_to = h.site.url("/s/eng/t1.shtml")
    h.site.add("/s/eng/t1.shtml", html, content_type="text/html; charset=utf-8")
    h.site.add(
        "/s/list.shtml",
        '<html><body><ul class="news"><li><a href="./eng/t1.shtml">An article</a></li></ul>'
        "</body></html>",
        content_type="text/html; charset=utf-8",
    )
    h.site.remove("/s/t1.shtml")
    h.now += timedelta(hours=2)
    result = h.crawl()
    assert (result.new, result.moved) == (0, 1)
    for _ in range(4):  # the old URL keeps answering 404 for days: not a removal
        h.now += timedelta(days=1)
        h.crawl()
    with h.db.session() as s:
        history = queries.history(s, h.url)  # the old URL still finds it
        assert history.article.url == moved_to and str(history.article.status) == "live"
        assert [(m.from_url, m.to_url) for m in history.moves] == [(h.url, moved_to)]
        assert [str(v.kind) for v in history.versions] == ["new"]
