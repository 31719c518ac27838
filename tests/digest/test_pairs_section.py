"""The digest's "Both sides' readouts" section, in every format, streamed or not: the pair found
in the window is shown with both sides, page text escaped; a rejected pair is not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from digest.formats import render, stream
from digest.report import build_report, stream_report
from mfawatch.settings.officials import load_officials
from storage.engine import Database, open_db
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse
from storage.readouts import store
from storage.readouts.store import PairStatus, list_pairs
from storage.readouts.update import pair_new
from storage.sources import SourceInfo, sync_sources
from storage.versions import record_fetch

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def paired(tmp_path: Path) -> Iterator[Database]:
    """Two ministries' readouts of one call (one with a hostile title), paired an hour ago."""
    db = open_db(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with db.session() as s:
        sync_sources(
            s,
            [
                SourceInfo("cn-mfa-en", "China", "CN", "en", "Asia/Shanghai"),
                SourceInfo("us-state-press", "State", "US", "en", "America/New_York"),
            ],
        )
    call = datetime(2021, 11, 13, 1, 45, tzinfo=UTC)
    for source, title in (
        ("cn-mfa-en", "Wang Yi Speaks on the Phone with US Secretary of State Blinken " + HOSTILE),
        ("us-state-press", "Secretary Blinken’s Call with PRC Foreign Minister Wang Yi"),
    ):
        url = f"https://{source}.example/call"
        article = Article(
            source,
            url,
            title,
            title,
            date=ArticleDate(call.date(), DatePrecision.MINUTE, DateSource.PAGE, call),
        )
        raw = RawResponse(url, url, 200, (), b"<html></html>", NOW)
        with db.session() as s:
            record_fetch(s, article, raw, now=NOW - timedelta(hours=2), next_check_at=NOW)
    pair_new(db, load_officials(ROOT / "config" / "officials.yaml"), NOW - timedelta(hours=1))
    yield db
    db.dispose()


@pytest.mark.parametrize("fmt", ["text", "md", "html", "json", "atom"])
def test_every_format_shows_both_sides(paired: Database, fmt: str) -> None:
    """Built or streamed, each format has the section with both titles; HTML, Markdown and Atom
    escape the page's markup."""
    since = NOW - timedelta(days=1)
    with paired.session(readonly=True) as s:
        built = render(build_report(s, since=since, until=NOW), fmt, color=False)
        if fmt == "json":
            data = json.loads(built)
            [pair] = data["pairs"]
            assert {side["source"] for side in pair["sides"]} == {"cn-mfa-en", "us-state-press"}
        else:
            assert "Secretary Blinken’s Call with PRC Foreign Minister Wang Yi" in built
        if fmt in ("html", "md", "atom"):
            assert HOSTILE not in built
        if fmt == "atom":
            ElementTree.fromstring(built.encode())
        if fmt in ("text", "md", "html"):
            assert "Both sides' readouts" in built or "Both sides&#39; readouts" in built
        if fmt != "html" and fmt != "atom":
            streamed = stream_report(s, since=since, until=NOW)
            assert "".join(stream(streamed.head, streamed.items, fmt, color=False)) == built


def test_a_rejected_pair_leaves_the_digest(paired: Database) -> None:
    """Once a person rejects the pair, the section is gone."""
    with paired.session() as s:
        [pair] = list_pairs(s)
        store.decide(s, pair.id, PairStatus.REJECTED, NOW)
    with paired.session(readonly=True) as s:
        assert build_report(s, since=NOW - timedelta(days=1)).pairs == ()
