"""Fetching pages politely: the shared client, per-host slots, robots.txt, retries and charsets.

The pipeline uses `Fetcher` and `Validators`; the other modules are its policies, each testable
alone: hosts.py (per-host slot), robots.py, retry.py (decision apart from application), body.py
(size limits and bounded decompression), charset.py (bytes to text), addresses.py (which address
classes a source may reach) and pinning.py (connecting only to those, on the resolved address).
"""

from __future__ import annotations

from crawler.fetch.charset import decode, with_text
from crawler.fetch.client import Fetcher, Validators
from crawler.fetch.hosts import HostSlots
from crawler.fetch.robots import RobotsCache

__all__ = ["Fetcher", "HostSlots", "RobotsCache", "Validators", "decode", "with_text"]
