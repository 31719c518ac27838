"""Fixtures for the fetch tests: fast retries, a source factory and a fetcher per transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import stamina

from crawler.config import HttpSettings, Source
from crawler.fetch import Fetcher, HostSlots

MakeSource = Callable[..., Source]


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    """Retries happen (up to 3 tries) but stamina skips its sleeps."""
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


def build_source(url: str = "http://127.0.0.1/", **overrides: Any) -> Source:
    """A valid html Source whose listing is `url`; keyword overrides replace top-level keys."""
    data: dict[str, Any] = {
        "key": "test",
        "name": "Test ministry",
        "country": "CN",
        "listings": [{"url": url}],
        "list": {"item": "li"},
        "user_agent": "mfawatch-test/1.0 (+https://example.org/contact)",
        "limits": {"timeout": "3s", "connect_timeout": "2s"},
    }
    data.update(overrides)
    return Source.model_validate(data)


@pytest.fixture
def make_source() -> MakeSource:
    """A factory of Sources (see `build_source`)."""
    return build_source


@pytest.fixture
def source() -> Source:
    """A default Source for 127.0.0.1 with short timeouts."""
    return build_source()


def quiet_slots() -> HostSlots:
    """Host slots without failure penalties or jitter, so tests stay fast and exact."""
    return HostSlots(penalty_base=0.0, randomize=False)


@pytest.fixture(params=["httpx", "aiohttp"])
async def fetcher(request: pytest.FixtureRequest) -> AsyncIterator[Fetcher]:
    """A Fetcher on each transport, closed after the test."""
    async with Fetcher(HttpSettings(transport=request.param), slots=quiet_slots()) as f:
        yield f
