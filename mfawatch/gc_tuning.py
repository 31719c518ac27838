"""Garbage-collector settings for the crawling process (`crawl --once` and the daemon).

A crawl allocates a few hundred thousand short-lived containers per thousand articles (requests,
header lists, parameter rows), almost none of them in reference cycles. With CPython's default
thresholds (700, 10, 10) the collector makes young passes far more often than that garbage needs,
and its full passes walk every object the libraries made at start-up; freezing those objects and
collecting young ones in larger steps saves those walks (kept for that: docs/benchmarks.md).
Garbage in cycles is still collected, only in larger steps.

No full collection precedes the freeze: at that point it finds next to nothing (a few dozen
unreachable objects among tens of thousands) and costs a walk of every object, tens of ms, a
large share of a `crawl --once` that finds nothing new; those few objects are frozen with the rest.
"""

from __future__ import annotations

import gc

# Young-generation threshold 10x CPython's default; the older generations as by default.
THRESHOLDS = (7_000, 10, 10)


def tune_for_crawling() -> None:
    """Move what is alive now (modules, config, engine) out of the collector's sight and collect
    young objects in larger steps. Call once, after start-up, before the crawl begins."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
