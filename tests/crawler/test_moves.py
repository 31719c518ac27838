"""One history across hosts, mirrors and URL moves (issue 20 §2), through the real pipeline.

Pages are served by the loopback site (and, for made-up public host names, by the same site as
the HTTP proxy), crawled with a controlled clock into SQLite and PostgreSQL; what a reader sees
is read back through `history` and the digest.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawler.config import Source
from crawler.context import CrawlContext, SourceResult
from crawler.fetch import Fetcher
from crawler.pipeline import crawl_sources
from digest.formats import render
from digest.report import build_report
from digest.web import create_app
from mfawatch.settings.loader import load_config
from storage import queries
from storage.engine import Database, open_db
from tests.crawler.fetch.conftest import quiet_slots
from tests.crawler.test_versioning import CONFIG, PARAS, Clock, page
from tests.site import Site

UTF8 = "text/html; charset=utf-8"


def listing(*hrefs: str) -> str:
    items = "".join(f'<li><a href="{h}">Item {i}</a></li>' for i, h in enumerate(hrefs))
    return f'<html><body><ul class="news">{items}</ul></body></html>'


class Harness:
    """The versioning fixture source, its listing and pages under test control."""

    def __init__(self, site: Site, db: Database, config: Path, db_url: str) -> None:
        self.site, self.db, self.clock, self.db_url = site, db, Clock(), db_url
        self.settings = load_config(config)

    def history_cli(self, url: str, *fmt: str) -> str:
        """`mfawatch history URL` as a user runs it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
        cmd = [sys.executable, "-m", "mfawatch", "--db", self.db_url, "history", url, *fmt]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        assert run.returncode == 0, run.stderr
        return run.stdout

    def article_page(self, article_id: int) -> str:
        """The web UI's article page."""

        async def get() -> str:
            transport = httpx.ASGITransport(app=create_app(self.db))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                r = await c.get(f"/article/{article_id}")
                assert r.status_code == 200
                return r.text

        return asyncio.run(get())

    def crawl(self, *, recheck: bool = True) -> SourceResult:
        async def go() -> list[SourceResult]:
            async with Fetcher(self.settings.http) as fetcher:
                ctx = CrawlContext(db=self.db, fetcher=fetcher, clock=self.clock)
                return await crawl_sources(ctx, list(self.settings.sources), recheck=recheck)

        return asyncio.run(go())[0]

    def urls(self) -> set[str]:
        with self.db.session() as s:
            return {a.url for a in queries.iter_articles(s)}

    def history(self, url: str) -> queries.ArticleHistory:
        with self.db.session() as s:
            return queries.history(s, url)

    def digest_kinds(self) -> list[str]:
        with self.db.session() as s:
            report = build_report(
                s, since=self.clock.now - timedelta(days=30), until=self.clock.now
            )
        return [str(i.kind) for i in report.items]


@pytest.fixture
def h(site: Site, db_url: str, tmp_path: Path) -> Iterator[Harness]:
    """The article at /v/t1.shtml, stored by a first crawl."""
    config = tmp_path / "v.yaml"
    config.write_text(CONFIG.format(base=site.url("/").rstrip("/")))
    site.add("/v/list.shtml", listing("./t1.shtml"), content_type=UTF8)
    site.add("/v/t1.shtml", page(), content_type=UTF8)
    db = open_db(db_url)
    harness = Harness(site, db, config, db_url)
    first = harness.crawl(recheck=False)
    assert first.new == 1 and first.ok, first.errors
    yield harness
    db.dispose()


@pytest.mark.parametrize("edited", [False, True], ids=["same text", "a word edited"])
def test_a_section_moved_to_a_new_path_is_one_history(h: Harness, edited: bool) -> None:
    """The listing now links /eng/t1.shtml and the old URL answers 404: no new article, one
    history with a `moved` event (both URLs known), no removal however long the old URL stays
    gone; the digest has one quiet `moved` item instead of a second `new` one. A small edit on the
    way (near-duplicate, MinHash) is a `changed` version of the same history."""
    old, new = h.site.url("/v/t1.shtml"), h.site.url("/eng/t1.shtml")
    paras = [PARAS[0], PARAS[1].replace("virtual", "video"), *PARAS[2:]] if edited else PARAS
    h.site.add("/eng/t1.shtml", page(paras=paras), content_type=UTF8)
    h.site.add("/v/list.shtml", listing("../eng/t1.shtml"), content_type=UTF8)
    h.site.remove("/v/t1.shtml")
    h.clock.advance(hours=2)
    result = h.crawl()
    assert result.ok, result.errors
    assert result.new == 0 and result.moved == 1
    assert h.urls() == {new}
    hist = h.history(old)  # the old URL still finds it
    assert hist.article.url == new
    assert [(m.from_url, m.to_url) for m in hist.moves] == [(old, new)]
    assert hist.moves[0].by == ("minhash" if edited else "fingerprint")
    assert [str(v.kind) for v in hist.versions] == (["new", "changed"] if edited else ["new"])
    for _ in range(4):  # days of rechecks: the old URL is gone, the article is not
        h.clock.advance(days=1)
        assert h.crawl().ok
    hist = h.history(new)
    assert str(hist.article.status) == "live"
    assert "removed" not in [str(v.kind) for v in hist.versions]
    kinds = h.digest_kinds()
    assert kinds.count("new") == 1 and kinds.count("moved") == 1 and "removed" not in kinds
    with h.db.session() as s:
        report = build_report(s, since=h.clock.now - timedelta(days=30), until=h.clock.now)
    for fmt in ("text", "md", "html", "json", "atom"):
        shown = render(report, fmt)
        assert "moved" in shown.lower() and old in shown, fmt
    text = h.history_cli(old)
    assert f"from {old} to {new}" in text and "moved" in text
    data = json.loads(h.history_cli(new, "--format", "json"))
    assert [(m["from_url"], m["to_url"]) for m in data["moves"]] == [(old, new)]
    page_text = h.article_page(hist.article.id)
    assert "Moved" in page_text and old in page_text


def test_a_republication_with_a_new_date_is_a_new_article(h: Harness) -> None:
    """The same text released again on another day (a new date) is not a move: a new article,
    and the first one keeps its URL and history."""
    old, again = h.site.url("/v/t1.shtml"), h.site.url("/v/t2.shtml")
    h.site.add("/v/t2.shtml", page(date="2022-11-13 10:00"), content_type=UTF8)
    h.site.add("/v/list.shtml", listing("./t2.shtml", "./t1.shtml"), content_type=UTF8)
    h.clock.advance(hours=2)
    result = h.crawl()
    assert result.ok, result.errors
    assert result.new == 1
    assert h.urls() == {old, again}
    assert h.history(old).moves == [] and h.history(again).moves == []


PUBLIC = "http://ministry.example"
MIRROR = "http://mirror.example"


def article(title: str) -> str:
    return (
        f"<html><body><h1>{title}</h1><div class='content'><p>{title}: the ministry's "
        "statement on the talks, in full, with every paragraph of it.</p></div></body></html>"
    )


def make_source(**overrides: Any) -> Source:
    data: dict[str, Any] = {
        "key": "mirrored",
        "name": "Mirrored ministry",
        "country": "CN",
        "listings": [{"url": f"{PUBLIC}/list.html"}],
        "list": {"item": "li", "link": "a"},
        "article": {"title": "h1", "body": "div.content"},
        "hosts": ["ministry.example", "mirror.example"],
        "politeness": {"retries": 0, "respect_robots": False},
    }
    data.update(overrides)
    return Source.model_validate(data)


@pytest.fixture
def as_proxy(site: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    """The site answering for made-up public host names (it is the HTTP proxy of every request)."""
    monkeypatch.setenv("HTTP_PROXY", site.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    return site


def test_equivalent_hosts_serve_one_article(as_proxy: Site, db_url: str, tmp_path: Path) -> None:
    """`hosts: [ministry.example, mirror.example]`: a link to the mirror is admitted (the default
    `article_hosts` includes `hosts`) and stored under the first host, the mirror URL kept as an
    alias; the same article linked on the first host later is no new article."""
    site, db = as_proxy, open_db(db_url)
    try:
        source = make_source()
        assert source.effective_article_hosts == ("ministry.example", "mirror.example")
        site.add("/list.html", f"<ul><li><a href='{MIRROR}/a1.html'>A1</a></li></ul>")
        site.add("/a1.html", article("Talks with the counterpart"))

        def crawl() -> SourceResult:
            async def go() -> list[SourceResult]:
                async with Fetcher(load_config_http(), slots=quiet_slots()) as fetcher:
                    return await crawl_sources(CrawlContext(db=db, fetcher=fetcher), [source])

            return asyncio.run(go())[0]

        first = crawl()
        assert (first.new, first.offsite) == (1, 0), first.errors
        with db.session() as s:
            assert {a.url for a in queries.iter_articles(s)} == {f"{PUBLIC}/a1.html"}
            assert queries.history(s, f"{MIRROR}/a1.html").article.url == f"{PUBLIC}/a1.html"
        site.add(
            "/list.html",
            f"<ul><li><a href='{PUBLIC}/a1.html'>A1</a></li><li><a href='{PUBLIC}/a2.html'>A2</a></li></ul>",
        )
        site.add("/a2.html", article("Another statement"))
        second = crawl()
        assert second.new == 1, second.errors  # a2 only
        with db.session() as s:
            assert len(list(queries.iter_articles(s))) == 2
    finally:
        db.dispose()
    # `history` finds it by a mirror URL never fetched as such: the config's `hosts:` say so.
    config = tmp_path / "mirrored.yaml"
    config.write_text(
        "sources:\n  - key: mirrored\n    name: Mirrored ministry\n    country: CN\n"
        f"    listings: [{{url: '{PUBLIC}/list.html'}}]\n    list: {{item: li, link: a}}\n"
        "    hosts: [ministry.example, mirror.example]\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    cmd = [sys.executable, "-m", "mfawatch", "--db", db_url, "--config", str(config), "history"]
    run = subprocess.run(
        [*cmd, f"{MIRROR}/a2.html?utm_source=x#top", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["article"]["url"] == f"{PUBLIC}/a2.html"


def load_config_http() -> Any:
    from crawler.config import HttpSettings

    return HttpSettings()
