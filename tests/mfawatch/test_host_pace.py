"""Cluster politeness through PostgreSQL (`mfawatch.host_pace`): places shared by two nodes'
slots, and a pooled connection the server dropped replaced without a failed request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from crawler.config import Politeness
from mfawatch.cluster_node import conninfo
from mfawatch.host_pace import ClusterHostSlots
from storage.engine import Database, open_db
from tests.pg import pg_schema

URL = "https://mfa.example/news/1.html"
ONE_PLACE = Politeness(concurrency_per_host=1)


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    with pg_schema(pg_url, prefix="pace") as url:
        db = open_db(url)
        try:
            yield db
        finally:
            db.dispose()


def test_a_hosts_places_are_shared_by_the_nodes(pg_db: Database) -> None:
    """With one place per host, a second node's request waits until the first node's ends."""

    async def scenario() -> list[str]:
        order: list[str] = []
        first, second = ClusterHostSlots(conninfo(pg_db.url)), ClusterHostSlots(conninfo(pg_db.url))
        await first.open()
        await second.open()
        try:
            async with first.acquire(URL, ONE_PLACE):
                order.append("first in")
                waiting = asyncio.create_task(_hold(second, order, "second in"))
                await asyncio.sleep(0.5)
                order.append("first out")
            await asyncio.wait_for(waiting, 10)
        finally:
            await first.close()
            await second.close()
        return order

    assert asyncio.run(scenario()) == ["first in", "first out", "second in"]


async def _hold(slots: ClusterHostSlots, order: list[str], label: str) -> None:
    async with slots.acquire(URL, ONE_PLACE):
        order.append(label)


def test_pooled_connections_the_server_dropped_are_replaced_without_a_failed_request(
    pg_db: Database,
) -> None:
    """Every pooled connection killed by the server (a restart, an outage): the next requests
    still get their place, on new connections."""
    name = "mfawatch-pace-test"

    async def scenario() -> int:
        info = conninfo(pg_db.url)
        slots = ClusterHostSlots(f"{info}{'&' if '?' in info else '?'}application_name={name}")
        await slots.open()
        try:
            # Three connections in the pool, then all three killed.
            holds = [slots.acquire(f"https://h{i}.example/", ONE_PLACE) for i in range(3)]
            for hold in holds:
                await hold.__aenter__()
            for hold in holds:
                await hold.__aexit__(None, None, None)
            with pg_db.engine.begin() as conn:
                killed = conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :n"
                    ),
                    {"n": name},
                ).scalar_one()
            await asyncio.sleep(0.2)
            for i in range(4):
                async with slots.acquire(f"https://h{i}.example/", ONE_PLACE):
                    pass
        finally:
            await slots.close()
        return int(killed)

    assert asyncio.run(scenario()) == 3
