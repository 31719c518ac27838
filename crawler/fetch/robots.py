"""robots.txt: fetched once per origin, cached, answered through Protego.

What an answer means (RFC 9309 where it is clear, the fmprc quirk where it is not):

- 2xx `text/plain` (or no Content-Type) that is not HTML: parsed; `Disallow` and `Crawl-delay`
  for our user agent apply.
- 2xx that is HTML or another type, typically after a redirect to an error page (fmprc sends
  `/robots.txt` 302 -> `/error.htm`, a 200 HTML page): no rules, allow all.
- 4xx (and blocks such as 403): allow all.
- 5xx, timeouts, connection failures: allow all, logged as a warning, cached for `error_ttl` only.

Sources with `respect_robots: false` never reach this module. The cache is per origin
(scheme://host:port); each origin is fetched at most once at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from crawler.errors import FetchError, HTTPStatusError

if TYPE_CHECKING:
    from protego import Protego

log = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600.0
ERROR_TTL = 3600.0


@dataclass(frozen=True, slots=True)
class RobotsAnswer:
    """What the server answered for /robots.txt (after redirects)."""

    status: int
    content_type: str | None
    text: str
    final_url: str


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """The parsed rules of one origin; `parser is None` means allow all."""

    parser: Protego | None
    note: str  # why, for logs and `sources check`
    expires: float  # time.monotonic()

    def allows(self, url: str, user_agent: str) -> bool:
        """Whether `user_agent` may fetch `url`."""
        return self.parser is None or self.parser.can_fetch(url, user_agent)

    def crawl_delay(self, user_agent: str) -> float | None:
        """The Crawl-delay for `user_agent`, if the file sets one."""
        return None if self.parser is None else self.parser.crawl_delay(user_agent)


def robots_url(url: str) -> str:
    """The robots.txt URL of a URL's origin."""
    p = urlsplit(url)
    return urlunsplit((p.scheme.lower(), p.netloc.lower(), "/robots.txt", "", ""))


def interpret(answer: RobotsAnswer, *, ttl: float, error_ttl: float) -> RobotsRules:
    """Turn a robots.txt answer into rules, following the table in the module docstring."""
    now = time.monotonic()
    where = answer.final_url
    if answer.status >= 500:
        log.warning("robots.txt at %s answered HTTP %d; allowing all for now", where, answer.status)
        return RobotsRules(None, f"HTTP {answer.status}: allow all", now + error_ttl)
    if answer.status >= 400:
        return RobotsRules(None, f"HTTP {answer.status}: no robots.txt, allow all", now + ttl)
    ctype = (answer.content_type or "").split(";")[0].strip().lower()
    looks_html = answer.text.lstrip()[:1] == "<"
    if (ctype and ctype != "text/plain") or looks_html:
        log.info("robots.txt at %s is %s, not a robots file; allowing all", where, ctype or "HTML")
        return RobotsRules(
            None, f"not a robots file ({ctype or 'HTML'} at {where}): allow all", now + ttl
        )
    from protego import Protego  # only sources that respect robots.txt need it

    return RobotsRules(Protego.parse(answer.text), "parsed", now + ttl)


Loader = Callable[[str], Awaitable[RobotsAnswer]]


class RobotsCache:
    """robots.txt rules per origin; the caller passes how to fetch a robots.txt URL."""

    def __init__(self, *, ttl: float = DEFAULT_TTL, error_ttl: float = ERROR_TTL) -> None:
        self.ttl = ttl
        self.error_ttl = error_ttl
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules(self, url: str, load: Loader) -> RobotsRules:
        """The (cached) rules for the origin of `url`; `load(robots_url)` fetches on a miss."""
        key = robots_url(url)
        cached = self._rules.get(key)
        if cached is not None and cached.expires > time.monotonic():
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._rules.get(key)
            if cached is not None and cached.expires > time.monotonic():
                return cached
            rules = await self._load(key, load)
            self._rules[key] = rules
            return rules

    async def _load(self, key: str, load: Loader) -> RobotsRules:
        try:
            answer = await load(key)
        except HTTPStatusError as exc:
            return interpret(
                RobotsAnswer(exc.status, None, "", key), ttl=self.ttl, error_ttl=self.error_ttl
            )
        except FetchError as exc:
            log.warning(
                "robots.txt at %s could not be read (%s); allowing all for now", key, exc.reason
            )
            return RobotsRules(
                None, f"unreadable ({exc.reason}): allow all", time.monotonic() + self.error_ttl
            )
        return interpret(answer, ttl=self.ttl, error_ttl=self.error_ttl)

    def forget(self, url: str | None = None) -> None:
        """Drop cached rules (of one origin, or all)."""
        if url is None:
            self._rules.clear()
        else:
            self._rules.pop(robots_url(url), None)
