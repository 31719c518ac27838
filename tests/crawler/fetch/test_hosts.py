"""Per-host slots: concurrency bound (counted on the server), delays, pauses, penalties."""

from __future__ import annotations

import asyncio
import time

import pytest

from crawler.config import HttpSettings
from crawler.errors import FetchError
from crawler.fetch import Fetcher, HostSlots
from crawler.fetch.hosts import slot_key
from tests.crawler.fetch.conftest import MakeSource, quiet_slots
from tests.site import Site


async def test_concurrency_per_host_bounds_parallel_requests(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """With concurrency_per_host 2, the server never sees more than 2 requests at once, and sees 2."""
    src = make_source(politeness={"concurrency_per_host": 2, "respect_robots": False})
    await asyncio.gather(*(fetcher.fetch(site.url(f"/delay/0.2?i={i}"), src) for i in range(6)))
    assert len(site.requests_to("/delay/0.2")) == 6
    assert site.peak_in_flight == 2


async def test_default_pool_allows_four_per_host(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """The default per-host limit of 4 is reached and not exceeded."""
    src = make_source(politeness={"respect_robots": False})
    await asyncio.gather(*(fetcher.fetch(site.url(f"/delay/0.2?i={i}"), src) for i in range(10)))
    assert site.peak_in_flight == 4


async def test_slow_host_does_not_block_another(site: Site, make_source: MakeSource) -> None:
    """While a one-slot host is busy with a slow request, another host is served at once."""
    with Site() as other:
        async with Fetcher(HttpSettings(), slots=quiet_slots()) as f:
            pol = {"concurrency_per_host": 1, "respect_robots": False}
            done: list[str] = []

            async def get(url: str, tag: str) -> None:
                await f.fetch(url, make_source(politeness=pol))
                done.append(tag)

            slow = asyncio.create_task(get(site.url("/delay/1"), "slow"))
            queued = asyncio.create_task(get(site.url("/etag"), "same-host"))
            await asyncio.sleep(0.1)
            await get(other.url("/etag"), "other-host")
            await asyncio.gather(slow, queued)
    assert done == ["other-host", "slow", "same-host"]


async def test_min_delay_spaces_request_starts(site: Site, make_source: MakeSource) -> None:
    """politeness.min_delay separates the starts of consecutive requests to one host."""
    async with Fetcher(HttpSettings(), slots=quiet_slots()) as f:
        src = make_source(politeness={"min_delay": "0.4s", "respect_robots": False})
        await f.fetch(site.url("/empty"), src)  # warm up: the first connection is slower
        await asyncio.gather(*(f.fetch(site.url(f"/etag?i={i}"), src) for i in range(3)))
    starts = sorted(r.started for r in site.requests_to("/etag"))
    assert len(starts) == 3
    assert all(b - a >= 0.25 for a, b in zip(starts, starts[1:], strict=False))


async def test_pause_beyond_max_wait_refuses_at_once() -> None:
    """A host paused longer than max_wait refuses new requests with a reason instead of hanging."""
    slots = HostSlots(max_wait=10)
    slots.pause("http://h.example/a", 3600)
    with pytest.raises(FetchError, match="asked us to wait"):
        async with slots.acquire("http://h.example/b"):
            pass


async def test_short_pause_is_waited() -> None:
    """A short pause delays the next request start on that host only."""
    slots = HostSlots(randomize=False)
    slots.pause("http://a.example/", 0.2)
    t0 = time.monotonic()
    async with slots.acquire("http://b.example/"):
        other = time.monotonic() - t0
    async with slots.acquire("http://a.example/"):
        paused = time.monotonic() - t0
    assert other < paused and paused >= 0.18


def test_penalty_grows_and_clears() -> None:
    """Failures double the host penalty up to the cap; one success clears it."""
    slots = HostSlots(penalty_base=0.5, penalty_cap=1.5)
    url = "http://h.example/"
    penalties = []
    for _ in range(4):
        slots.failed(url)
        penalties.append(slots.slot(url).penalty)
    assert penalties == [0.5, 1.0, 1.5, 1.5]
    slots.succeeded(url)
    assert slots.slot(url).penalty == 0.0 and slots.slot(url).failures == 0


def test_crawl_delay_is_capped() -> None:
    """An absurd Crawl-delay is capped."""
    slots = HostSlots(crawl_delay_cap=5)
    slots.set_crawl_delay("http://h.example/", 86400)
    assert slots.slot("http://h.example/").interval() == 5


def test_slot_key() -> None:
    """Slots are per host, with the port only when it is not the scheme's default."""
    assert slot_key("https://WWW.Example.org:443/x") == "www.example.org"
    assert slot_key("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
