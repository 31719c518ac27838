"""Fetching pages politely: the shared client, per-host slots, robots.txt and retries.

The pipeline uses `Fetcher` and `Validators`; the other modules are its policies, each testable
alone: hosts.py (per-host slot), robots.py, retry.py (which answers are retried, and when: the
decision apart from its application), reading.py (size limits and bounded decompression),
addresses.py (which address classes a source may reach), pinning.py (connecting only to those,
on the resolved address) and transport.py (the aiohttp transport). Bytes become text in
`crawler.parse.charset`; what counts as a bot wall is `crawler.parse.soft_errors`'s table.
"""

from __future__ import annotations

import sys

# httpx's package imports its command-line client (`httpx._main`: rich, pygments) whenever those
# happen to be installed, ~80 ms of start-up per `crawl` for a CLI we never run. Marking the module
# absent makes httpx fall back to its stub `main`; every other part of httpx is unchanged. Only
# effective when this package is imported before httpx (the crawl path; test_cli_lazy checks it).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
# httpcore imports socksio (SOCKS proxies) whenever it is installed, ~3 ms of every start-up for
# what only a source with `proxy: socks5://` uses: it is marked absent while httpcore is imported
# (httpcore then binds its stub), and `proxies.enable_socks` loads it for such a source.
_DEFER_SOCKS = "socksio" not in sys.modules and "httpcore" not in sys.modules
if _DEFER_SOCKS:
    sys.modules["socksio"] = None  # type: ignore[assignment]

from crawler.fetch.client import Fetcher, Validators  # noqa: E402 (after the lines above)
from crawler.fetch.hosts import HostSlots  # noqa: E402
from crawler.fetch.robots import RobotsCache  # noqa: E402

if _DEFER_SOCKS and sys.modules.get("socksio", 0) is None:
    del sys.modules["socksio"]

__all__ = ["Fetcher", "HostSlots", "RobotsCache", "Validators"]
