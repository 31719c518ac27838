"""Fetching pages politely: the shared client, per-host slots, robots.txt and retries.

The pipeline uses `Fetcher` and `Validators`; the other modules are its policies, each testable
alone: hosts.py (per-host slot), robots.py, retry.py (which answers are retried, and when: the
decision apart from its application), reading.py (size limits and bounded decompression),
addresses.py (which address classes a source may reach), pinning.py (connecting only to those,
on the resolved address) and transport.py (the aiohttp transport). Bytes become text in
`crawler.parse.charset`; what counts as a bot wall is `crawler.parse.soft_errors`'s table.
"""

from __future__ import annotations

from crawler.fetch.client import Fetcher, Validators
from crawler.fetch.hosts import HostSlots
from crawler.fetch.robots import RobotsCache

__all__ = ["Fetcher", "HostSlots", "RobotsCache", "Validators"]
