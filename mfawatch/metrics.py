"""Monitoring the monitor: `/metrics` (Prometheus text format, prometheus-client) and `/healthz`.

Two kinds of figures:

- **From the database, read at each scrape** (the same in the web UI and every daemon): each
  source's health (`mfawatch_source_health{source,state}` is 1 for its state), its stored
  articles, the job queue (`mfawatch_queue_jobs{state}`: waiting, running, failed), and each
  cluster node's last heartbeat (`mfawatch_node_heartbeat_timestamp_seconds{node}`) and whether it
  is alive. A database that does not answer gives `mfawatch_database_up 0`.
- **From this process** (a daemon's `Metrics.record_crawl` after each crawl): polls by result,
  articles new / changed / removed / restored, fetch errors by kind (failed: the site is down,
  blocked, broken), and crawl durations (a histogram per source).

`/healthz` answers 200 `{"status": "ok", ...}` while the database answers (and, for a daemon,
while it runs), else 503 naming what is wrong: for a load balancer or a systemd watchdog. It needs
no token (it tells nothing about the content); `/metrics` is behind the UI's token like any page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from crawler.context import SourceResult
from storage import cluster, runs
from storage.engine import Database
from storage.queries import source_status

log = logging.getLogger("mfawatch.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LIVE_WINDOW = timedelta(seconds=30)
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, float("inf"))


class _StoreCollector(Collector):
    """Figures read from the database at each scrape."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mfawatch_database_up", "1 when the database answered this scrape")
        try:
            families = self._read()
        except Exception as exc:  # the scrape must answer even when the database does not
            log.debug("metrics: database unreadable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> list[Metric]:
        health = GaugeMetricFamily(
            "mfawatch_source_health",
            "1 for the health state a source is in",
            labels=["source", "state"],
        )
        articles = GaugeMetricFamily(
            "mfawatch_source_articles", "Articles stored per source", labels=["source"]
        )
        queue = GaugeMetricFamily(
            "mfawatch_queue_jobs", "Jobs in the cluster's queue by state", labels=["state"]
        )
        beat = GaugeMetricFamily(
            "mfawatch_node_heartbeat_timestamp_seconds",
            "Last heartbeat of each cluster node (Unix time)",
            labels=["node"],
        )
        alive = GaugeMetricFamily(
            "mfawatch_node_up", "1 when a cluster node is running and beating", labels=["node"]
        )
        now = self.clock()
        with self.db.session(readonly=True) as s:
            for src in source_status(s):
                for state in runs.HEALTH_STATES:
                    health.add_metric([src.source, state], 1 if src.health == state else 0)
                articles.add_metric([src.source], src.articles)
            stats = cluster.queue_stats(s)
            nodes = cluster.list_nodes(s) if stats is not None else []
        out: list[Metric] = [health, articles]
        if stats is not None:
            for state, n in (
                ("waiting", stats.waiting),
                ("running", stats.running),
                ("failed", stats.failed),
            ):
                queue.add_metric([state], n)
            for node in nodes:
                beat.add_metric([node.name], node.heartbeat_at.timestamp())
                alive.add_metric([node.name], 1 if node.alive(now, LIVE_WINDOW) else 0)
            out += [queue, beat, alive]
        return out


class Metrics:
    """The metrics of one process: the database's figures plus what this process crawled."""

    def __init__(
        self, db: Database, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.db = db
        self.registry = CollectorRegistry()
        self.registry.register(_StoreCollector(db, clock))
        self.polls = Counter(
            "mfawatch_polls", "Source polls finished here, by result", ["source", "result"],
            registry=self.registry,
        )  # fmt: skip
        self.articles = Counter(
            "mfawatch_articles",
            "Articles stored by this process, by kind (new, changed, removed, restored)",
            ["source", "kind"],
            registry=self.registry,
        )
        self.fetch_errors = Counter(
            "mfawatch_fetch_errors",
            "Fetch errors of this process's crawls, by kind (failed, blocked, broken)",
            ["source", "kind"],
            registry=self.registry,
        )
        self.crawl_seconds = Histogram(
            "mfawatch_crawl_duration_seconds",
            "Duration of this process's crawls",
            ["source"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )

    def record_crawl(self, result: SourceResult, seconds: float) -> None:
        """Count one finished crawl."""
        key = result.source
        self.polls.labels(key, result.status).inc()
        for kind in ("new", "changed", "removed", "restored"):
            n = getattr(result, kind)
            if n:
                self.articles.labels(key, kind).inc(n)
        if result.errors and result.status in ("failed", "blocked", "broken"):
            self.fetch_errors.labels(key, result.status).inc(len(result.errors))
        self.crawl_seconds.labels(key).observe(seconds)

    def render(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)

    def health(self, running: Callable[[], bool] | None = None) -> tuple[int, dict[str, Any]]:
        """The `/healthz` answer: (HTTP status, body)."""
        problems = []
        try:
            with self.db.session(readonly=True) as s:
                s.execute(sa.text("SELECT 1"))
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            problems.append(f"database {self.db.location} does not answer: {reason[:200]}")
        if running is not None and not running():
            problems.append("the daemon is stopping")
        body: dict[str, Any] = {
            "status": "fail" if problems else "ok",
            "database": self.db.location,
        }
        if problems:
            body["problems"] = problems
        return (503 if problems else 200), body


def monitoring_routes(
    metrics: Metrics, running: Callable[[], bool] | None = None
) -> list[BaseRoute]:
    """`/healthz` and `/metrics` as Starlette routes (the web UI and `run --metrics-port`)."""
    from starlette.concurrency import run_in_threadpool

    async def healthz(request: Request) -> Response:
        status, body = await run_in_threadpool(metrics.health, running)
        return Response(json.dumps(body) + "\n", status, media_type="application/json")

    async def scrape(request: Request) -> Response:
        return Response(await run_in_threadpool(metrics.render), media_type=CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/metrics", scrape, methods=["GET"], name="metrics"),
    ]
