"""The streamed digest (issue 16, hole 5): the same output as the built one, in pieces, with
memory that does not grow with the number of items."""

from __future__ import annotations

import importlib.util
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from digest.formats import STREAMING, render, stream
from digest.report import build_report, stream_report
from storage.engine import Database, open_db
from tests.digest.conftest import DigestDB

BENCH = Path(__file__).parents[2] / "benchmarks" / "digest_bench.py"


@pytest.mark.parametrize("fmt", sorted(STREAMING))
def test_streamed_digest_is_the_built_one(digest_db_any: DigestDB, fmt: str) -> None:
    """Every format written piece by piece reads exactly as when built whole."""
    until = digest_db_any.now + timedelta(minutes=1)
    with digest_db_any.db.session(readonly=True) as s:
        built = render(build_report(s, since=digest_db_any.since, until=until), fmt, color=False)
        streamed = stream_report(s, since=digest_db_any.since, until=until)
        pieces = list(stream(streamed.head, streamed.items, fmt, color=False))
    assert len(pieces) > 3
    assert "".join(pieces).rstrip("\n") == built.rstrip("\n")


def test_streamed_text_says_the_alert_count_at_the_end(digest_db: DigestDB, rules: Any) -> None:
    """With watchlist rules, the alert count (known only once every item was read) comes last."""
    with digest_db.db.session(readonly=True) as s:
        built = build_report(s, since=digest_db.since, alerts=rules)
        streamed = stream_report(s, since=digest_db.since, alerts=rules)
        text = "".join(stream(streamed.head, streamed.items, "text", color=False))
    alerts = len(built.alert_items)
    assert alerts > 0
    assert text.rstrip().endswith(f"{alerts} alert(s) in this digest")
    assert text.count("ALERT ") == render(built, "text", color=False).count("ALERT ")


def test_streamed_html_says_the_alert_count_at_the_end(digest_db: DigestDB, rules: Any) -> None:
    """The streamed HTML file counts the alerts after the items; the built one in its header."""
    with digest_db.db.session(readonly=True) as s:
        built = build_report(s, since=digest_db.since, alerts=rules)
        streamed = stream_report(s, since=digest_db.since, alerts=rules)
        html = "".join(stream(streamed.head, streamed.items, "html"))
    alerts = len(built.alert_items)
    assert alerts > 0
    badge = f"{alerts} alert{'s' if alerts != 1 else ''} in this digest"
    assert badge in html and html.index(badge) > html.rindex('<article class="item')
    head = render(built, "html")
    assert badge not in head and head.index(f">{alerts} alert") < head.index('<article class="item')


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """2,000 new and 400 changed items in the last day (benchmarks/digest_bench.py's generator)."""
    spec = importlib.util.spec_from_file_location("digest_bench", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    db = open_db(f"sqlite:///{tmp_path_factory.mktemp('big') / 'digest.sqlite3'}")
    bench.generate(db, 2000, 400, 1, 1)
    yield db
    db.dispose()


def _peak(work: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["json", "html", "atom"])
def test_streamed_digest_memory_does_not_grow_with_the_items(big_db: Database, fmt: str) -> None:
    """Streaming 2,400 items peaks far below building them, and as high as streaming half of them."""
    since = datetime.now(UTC) - timedelta(days=2)

    def streamed(sources: list[str] | None) -> Callable[[], None]:
        def run() -> None:
            with big_db.session(readonly=True) as s:
                st = stream_report(s, since=since, sources=sources)
                for _ in stream(st.head, st.items, fmt):
                    pass

        return run

    def built() -> None:
        with big_db.session(readonly=True) as s:
            render(build_report(s, since=since), fmt)

    half_sources = ["cn-mfa-en", "cn-mfa-zh", "ru-mid", "jp-mofa", "in-mea"]
    streamed(half_sources)()  # templates compiled and caches warm before anything is measured
    whole, half, kept = _peak(streamed(None)), _peak(streamed(half_sources)), _peak(built)
    assert whole * 2 < kept, (whole, kept)
    assert whole < 1.4 * half, (whole, half)
