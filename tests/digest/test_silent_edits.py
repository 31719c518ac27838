"""Silent edits where the user looks: the digest in every format, its per-source counts,
`digest --silent`, alerts with `silent_only`, the web UI and `history`.

The history is written through the real storage API: one silent edit, one announced edit and one
edit of an undated page in one source, a silent edit in another, and a new article.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from selectolax.lexbor import LexborHTMLParser

from digest.alerts import AlertRule
from digest.formats import render
from digest.report import build_report
from digest.web import create_app
from mfawatch.cli import cli
from storage.engine import Database, open_db
from storage.model import Article, ArticleDate, DatePrecision, DateSource
from storage.sources import SourceInfo, sync_sources
from storage.versions import record_fetch
from tests.digest.conftest import _raw

BODY = "The minister held talks.\n\nBoth sides agreed to keep in close contact."
EDITED = BODY.replace("close contact", "close and regular contact")
DAY = ArticleDate(date(2026, 11, 20), DatePrecision.DAY, DateSource.PAGE)
LISTED = ArticleDate(date(2026, 11, 20), DatePrecision.DAY, DateSource.LISTING)
MOD = (("modified", "2026-11-20T10:00:00+08:00"),)
LATER = (("modified", "2026-11-21T09:00:00+08:00"),)
# url -> (source, first version, edit)
HISTORY = {
    "silent": ("cn", {"date": DAY, "markers": MOD}, {"date": DAY, "markers": MOD}),
    "announced": ("cn", {"date": DAY, "markers": MOD}, {"date": DAY, "markers": LATER}),
    "unknown": ("cn", {"date": LISTED}, {"date": LISTED}),
    "silent_uk": ("uk", {"date": DAY}, {"date": DAY}),
}


@dataclass(frozen=True)
class Fixture:
    db: Database
    url: str  # its database URL
    now: datetime

    def url_of(self, name: str) -> str:
        return f"https://mfa.example/{name}.html"


def _article(source: str, url: str, body: str, **kw: object) -> Article:
    return Article(source, url, f"Talks ({url.rsplit('/', 1)[1]})", body, "", **kw)  # type: ignore[arg-type]


@pytest.fixture
def fx(tmp_path: Path) -> Iterator[Fixture]:
    db_url = f"sqlite:///{tmp_path / 'silent.sqlite3'}"
    db = open_db(db_url)
    now = datetime.now(UTC).replace(microsecond=0)
    old, seen, nxt = now - timedelta(days=10), now - timedelta(hours=2), now + timedelta(days=1)
    with db.session() as s:
        sync_sources(
            s,
            [
                SourceInfo("cn", "China MFA", "CN", "en", "Asia/Shanghai"),
                SourceInfo("uk", "UK FCDO", "GB", "en", "Europe/London"),
            ],
        )
    fixture = Fixture(db, db_url, now)
    with db.session() as s:
        for name, (source, first, edit) in HISTORY.items():
            url = fixture.url_of(name)
            a = _article(source, url, BODY, **first)
            record_fetch(s, a, _raw(url, old), now=old, next_check_at=nxt)
            b = _article(source, url, EDITED, **edit)
            record_fetch(s, b, _raw(url, seen), now=seen, next_check_at=nxt)
        url = fixture.url_of("new")
        record_fetch(
            s, _article("uk", url, BODY, date=DAY), _raw(url, seen), now=seen, next_check_at=nxt
        )
    yield fixture
    db.dispose()


def _report(fx: Fixture, **kw: object):  # type: ignore[no-untyped-def]
    with fx.db.session(readonly=True) as s:
        return build_report(s, since=fx.now - timedelta(days=1), until=fx.now, **kw)  # type: ignore[arg-type]


def test_each_item_carries_its_edit_kind_and_sources_count_silent_edits(fx: Fixture) -> None:
    report = _report(fx)
    edits = {i.url.rsplit("/", 1)[1]: (i.kind.value, i.edit, i.badge) for i in report.items}
    assert edits == {
        "silent.html": ("changed", "silent", "silent edit"),
        "announced.html": ("changed", "announced", ""),
        "unknown.html": ("changed", "unknown", ""),
        "silent_uk.html": ("changed", "silent", "silent edit"),
        "new.html": ("new", None, ""),
    }
    assert report.silent == {"cn": 1, "uk": 1}
    announced = next(i for i in report.items if i.edit == "announced")
    assert announced.edit_note == (
        "announced edit: modified 2026-11-20T10:00:00+08:00 → 2026-11-21T09:00:00+08:00"
    )


@pytest.mark.parametrize("fmt", ["text", "md", "html", "json", "atom"])
def test_every_format_shows_the_badge_and_the_counts(fx: Fixture, fmt: str) -> None:
    out = render(_report(fx), fmt)
    if fmt == "json":
        data = json.loads(out)
        assert data["silent"] == {"cn": 1, "uk": 1}
        edits = sorted(
            (i["url"].rsplit("/", 1)[1], i["edit"] and i["edit"]["kind"])
            for g in data["groups"]
            for i in g["items"]
        )
        assert edits == [
            ("announced.html", "announced"),
            ("new.html", None),
            ("silent.html", "silent"),
            ("silent_uk.html", "silent"),
            ("unknown.html", "unknown"),
        ]
        return
    assert out.count("silent edit") >= 2
    if fmt == "atom":
        entries = LexborHTMLParser(out.replace("<title", "<xtitle").replace("</title", "</xtitle"))
        badged = [t.text() for t in entries.css("entry xtitle") if "[silent edit]" in t.text()]
        assert len(badged) == 2
        assert out.count('term="edit:silent"') == 2
    elif fmt == "html":
        tree = LexborHTMLParser(out)
        assert len(tree.css("article.item .silentbadge")) == 2
        counts = tree.css_first(".counts").text()
        assert "2 silent edits" in counts
        headings = [h.text() for h in tree.css("h3")]
        assert any("cn" in h and "1 silent edit" in h for h in headings)
    else:
        assert "2 silent edit(s)" in out  # the head
        assert "(1 silent edit(s))" in out  # each source's heading


def test_digest_silent_selects_only_silent_edits(fx: Fixture, tmp_path: Path) -> None:
    """`digest --silent` lists the silent edits and nothing else."""
    config = tmp_path / "c.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(config),
            "--db",
            fx.url,
            "digest",
            "--since",
            "2d",
            "--silent",
            "--format",
            "json",
        ],
        env={},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    urls = sorted(i["url"] for g in data["groups"] for i in g["items"])
    assert urls == [fx.url_of("silent"), fx.url_of("silent_uk")]
    assert data["filters"] == {"edit": "silent"} and data["counts"]["changed"] == 2


def test_an_alert_can_select_silent_edits(fx: Fixture) -> None:
    """`silent_only` alone fires on every silent edit; with keywords, on silent edits that match."""
    rules = (
        AlertRule("silent", silent_only=True),
        AlertRule("regular", keywords=("regular",), silent_only=True),
        AlertRule("any-regular", keywords=("regular",)),
    )
    fired = {
        i.url.rsplit("/", 1)[1]: sorted(h.rule for h in i.alerts)
        for i in _report(fx, alerts=rules).items
    }
    assert fired == {
        "silent.html": ["any-regular", "regular", "silent"],
        "silent_uk.html": ["any-regular", "regular", "silent"],
        "announced.html": ["any-regular"],
        "unknown.html": ["any-regular"],
        "new.html": [],
    }


async def test_the_web_ui_shows_and_filters_silent_edits(fx: Fixture) -> None:
    app = create_app(fx.db, token=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as c:
        page = LexborHTMLParser((await c.get("/", params={"since": "2d"})).text)
        assert len(page.css("article.item .silentbadge")) == 2
        only = LexborHTMLParser((await c.get("/", params={"since": "2d", "silent": "1"})).text)
        titles = [n.text() for n in only.css("article.item .title")]
        assert len(titles) == 2 and all("silent" in t for t in titles)
        assert "checked" in only.css_first("input[name=silent]").attributes
        # The article page marks the version that was a silent edit.
        href = only.css_first("article.item a.title").attributes["href"]
        article = LexborHTMLParser((await c.get(str(href))).text)
        badges = article.css("table.versions .silentbadge")
        assert len(badges) == 1
        assert "did not change" in str(badges[0].attributes["title"])


def test_history_marks_the_silent_edit(fx: Fixture, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    args = ["--config", str(config), "--db", fx.url, "history"]
    result = CliRunner().invoke(cli, [*args, fx.url_of("silent")], env={})
    assert result.exit_code == 0, result.output
    assert "[silent edit]" in result.stdout
    assert "silent edit: the page's date and markers did not change" in result.stdout
    result = CliRunner().invoke(cli, [*args, fx.url_of("announced"), "--format", "json"], env={})
    versions = json.loads(result.stdout)["versions"]
    assert [v["edit_kind"] for v in versions] == [None, "announced"]
    assert versions[1]["edit_evidence"]["changed"] == ["modified"]
