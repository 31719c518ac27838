"""Per-host slots (Scrapy `Slot` style): how many requests a host gets at once, and how often.

A slot is keyed by host name plus any non-default port, so one slow or failing host never holds
requests to another. Each slot has:

- a concurrency limit (`politeness.concurrency_per_host` of the first source that touches it);
- a minimum interval between request starts: the largest of the sources' `min_delay` and the
  robots.txt `Crawl-delay` (capped at `crawl_delay_cap`), randomized to 0.5x-1.5x;
- a penalty after failures (timeouts, resets, 429/5xx): `penalty_base * 2**(n-1)` seconds added to
  the interval after n failures in a row, up to `penalty_cap`; one success clears it;
- a pause set by `Retry-After`. A request that would wait longer than `max_wait` for a pause is
  refused at once (FetchError) instead of hanging the caller.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import SplitResult, urlsplit

from crawler.config import Politeness
from crawler.errors import FetchError

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def slot_key(url: str) -> str:
    """`host` or `host:port` (non-default port) of a URL, lower-cased."""
    parts = urlsplit(url)
    return _netloc_key(parts.scheme, parts.netloc)


@functools.lru_cache(maxsize=1024)
def _netloc_key(scheme: str, netloc: str) -> str:
    # Every fetch asks for its slot two or three times; the key depends on these two parts only.
    parts = SplitResult(scheme, netloc, "", "", "")
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(scheme.lower()):
        return host
    return f"{host}:{port}"


@dataclass
class HostSlot:
    """Politeness state of one host."""

    key: str
    concurrency: int
    min_delay: float = 0.0
    crawl_delay: float = 0.0
    randomize: bool = True
    failures: int = 0
    penalty: float = 0.0
    paused_until: float = 0.0  # time.monotonic()
    active: int = 0
    _next_start: float = 0.0
    _sem: asyncio.Semaphore = field(init=False, repr=False)
    _lock: asyncio.Lock = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sem = asyncio.Semaphore(self.concurrency)
        self._lock = asyncio.Lock()

    def interval(self) -> float:
        """Seconds between two request starts on this host (before jitter)."""
        return max(self.min_delay, self.crawl_delay) + self.penalty


class HostSlots:
    """All host slots of one fetcher."""

    def __init__(
        self,
        *,
        penalty_base: float = 0.5,
        penalty_cap: float = 60.0,
        crawl_delay_cap: float = 60.0,
        max_wait: float = 120.0,
        randomize: bool = True,
    ) -> None:
        self.penalty_base = penalty_base
        self.penalty_cap = penalty_cap
        self.crawl_delay_cap = crawl_delay_cap
        self.max_wait = max_wait
        self.randomize = randomize
        self._slots: dict[str, HostSlot] = {}

    def slot(self, url: str, politeness: Politeness | None = None) -> HostSlot:
        """The slot for a URL's host, created on first use (later sources can only slow it down)."""
        key = slot_key(url)
        s = self._slots.get(key)
        if s is None:
            p = politeness or Politeness()
            s = HostSlot(key, p.concurrency_per_host, randomize=self.randomize)
            self._slots[key] = s
        if politeness is not None:
            s.min_delay = max(s.min_delay, politeness.min_delay.total_seconds())
        return s

    def acquire(self, url: str, politeness: Politeness | None = None) -> _Hold:
        """Hold one of the host's request places, after waiting for its delay and any pause.

        Use as `async with slots.acquire(url, politeness) as slot`.
        """
        return _Hold(self, url, politeness)

    async def _enter(self, url: str, politeness: Politeness | None) -> HostSlot:
        s = self.slot(url, politeness)
        await s._sem.acquire()
        try:
            async with s._lock:
                now = time.monotonic()
                if s.paused_until - now > self.max_wait:
                    raise FetchError(
                        url,
                        f"host {s.key} asked us to wait {s.paused_until - now:.0f} s more "
                        "(Retry-After); skipped until then",
                    )
                start = max(s._next_start, s.paused_until)
                if start > now:
                    await asyncio.sleep(start - now)
                gap = s.interval()
                if gap and s.randomize:
                    gap *= random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not crypto
                s._next_start = time.monotonic() + gap
        except BaseException:
            s._sem.release()
            raise
        s.active += 1
        return s

    def set_crawl_delay(self, url: str, seconds: float | None) -> None:
        """Apply a robots.txt Crawl-delay to the URL's host (capped)."""
        if seconds is None:
            return
        s = self.slot(url)
        if seconds > self.crawl_delay_cap:
            log.warning(
                "robots.txt Crawl-delay of %s is %.0f s; using the cap of %.0f s",
                s.key,
                seconds,
                self.crawl_delay_cap,
            )
        s.crawl_delay = min(seconds, self.crawl_delay_cap)

    def pause(self, url: str, seconds: float) -> None:
        """Hold every request to the URL's host for `seconds` (a Retry-After)."""
        s = self.slot(url)
        s.paused_until = max(s.paused_until, time.monotonic() + max(0.0, seconds))

    def failed(self, url: str) -> None:
        """Record a failure of the host (timeout, reset, 429/5xx): grow its penalty."""
        s = self.slot(url)
        s.failures += 1
        s.penalty = min(self.penalty_cap, self.penalty_base * 2 ** (s.failures - 1))

    def succeeded(self, url: str) -> None:
        """Record an answer from the host: its penalty is cleared."""
        s = self.slot(url)
        s.failures = 0
        s.penalty = 0.0


class _Hold:
    """What `HostSlots.acquire` returns: a place on the host from `async with` entry to exit."""

    # A plain class rather than @asynccontextmanager: the generator machinery cost more per
    # request than the slot's own bookkeeping.

    __slots__ = ("_politeness", "_slot", "_slots", "_url")

    def __init__(self, slots: HostSlots, url: str, politeness: Politeness | None) -> None:
        self._slots = slots
        self._url = url
        self._politeness = politeness
        self._slot: HostSlot | None = None

    async def __aenter__(self) -> HostSlot:
        self._slot = await self._slots._enter(self._url, self._politeness)
        return self._slot

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        s = self._slot
        assert s is not None
        s.active -= 1
        s._sem.release()
