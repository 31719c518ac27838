"""Log lines about requests name URL and reason, in text and JSON; JSON time is ISO 8601 with a zone."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime

import pytest
import stamina
import stamina.instrumentation

from crawler.config import HttpSettings, Source
from crawler.errors import FetchError
from crawler.fetch import Fetcher, HostSlots
from mfawatch.logs import setup_logging
from tests.site import Site


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger and stamina's hooks back as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    with stamina.set_testing(True, attempts=3):
        yield
    root.handlers[:] = handlers
    root.setLevel(level)
    stamina.instrumentation.set_on_retry_hooks(None)


def fetch_failing(site: Site) -> str:
    """Fetch a URL that answers 503 until the tries run out; its URL."""
    url = site.url("/status/503")
    source = Source.model_validate(
        {
            "key": "logs",
            "name": "Logs",
            "country": "CN",
            "listings": [{"url": site.url("/list.html")}],
            "list": {"item": "li"},
            "politeness": {"retries": 2, "respect_robots": False},
        }
    )

    async def go() -> None:
        slots = HostSlots(penalty_base=0.0, randomize=False)
        async with Fetcher(HttpSettings(), slots=slots) as fetcher:
            with pytest.raises(FetchError):
                await fetcher.fetch(url, source)

    asyncio.run(go())
    return url


def test_text_retry_lines_name_url_and_reason(
    site: Site, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    """Each retry is a line of ours with URL, try and reason; stamina's URL-less line is gone."""
    setup_logging("text")
    url = fetch_failing(site)
    lines = capsys.readouterr().err.splitlines()
    assert not any("stamina" in line for line in lines), lines
    retries = [line for line in lines if "retrying" in line or "giving up" in line]
    assert len(retries) == 3, lines
    for line in retries:
        assert url in line and "HTTP 503" in line
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 WARNING ", line), line


def test_json_lines_carry_url_and_an_iso_time_with_zone(
    site: Site, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    """JSON lines: `time` is ISO 8601 with its zone; request lines carry the URL."""
    setup_logging("json")
    url = fetch_failing(site)
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(records) == 3, records
    for record in records:
        when = datetime.fromisoformat(record["time"])
        assert when.tzinfo is not None and when.utcoffset() is not None
        assert record["url"] == url and url in record["message"]
        assert "HTTP 503" in record["message"]
