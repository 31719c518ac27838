"""The batch writer: many records per transaction, one failure never costs the others."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from storage import http_validators
from storage.engine import Database, open_db
from storage.outage import Outage
from storage.schema import ValidatorRow
from storage.writer import BatchWriter
from tests.pg import pg_schema
from tests.tcp_proxy import TcpProxy


@pytest.fixture
def db(db_url: str):
    """A migrated database on each dialect."""
    database = open_db(db_url)
    yield database
    database.dispose()


def _count(db: Database) -> int:
    with db.session(readonly=True) as s:
        return s.execute(sa.select(sa.func.count()).select_from(ValidatorRow)).scalar_one()


def test_writes_are_batched_and_all_land(db: Database) -> None:
    """Fifty concurrent submissions land in fewer transactions than submissions, and all of them commit."""

    async def go() -> int:
        async with BatchWriter(db) as writer:
            await asyncio.gather(
                *(
                    writer.submit(
                        lambda s, i=i: http_validators.set_validators(
                            s, f"https://a.example/{i}", f'"e{i}"', None
                        )
                    )
                    for i in range(50)
                )
            )
            return writer.batches

    batches = asyncio.run(go())
    assert _count(db) == 50
    assert batches < 50


def test_a_failing_record_is_isolated(db: Database) -> None:
    """A record that raises gets its own error; the others in its batch are still committed."""

    def boom(s: Session) -> None:
        http_validators.set_validators(s, "https://a.example/bad", '"x"', None)
        raise ValueError("broken record")

    async def go() -> list[object]:
        async with BatchWriter(db) as writer:
            works = [
                writer.submit(
                    lambda s, i=i: http_validators.set_validators(
                        s, f"https://a.example/{i}", '"e"', None
                    )
                )
                for i in range(10)
            ]
            works.insert(5, writer.submit(boom))
            return await asyncio.gather(*works, return_exceptions=True)

    results = asyncio.run(go())
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and "broken record" in str(errors[0])
    assert _count(db) == 10  # the failing record's own write was rolled back with it


def test_submit_outside_context_is_an_error(db: Database) -> None:
    """Using the writer before entering it is a programming error, reported as such."""

    async def go() -> None:
        await BatchWriter(db).submit(lambda s: None)

    with pytest.raises(RuntimeError, match="outside"):
        asyncio.run(go())


def test_grouped_items_are_written_by_one_call_per_batch(db: Database) -> None:
    """Items sharing a bulk function reach it together, each caller gets its own result."""
    calls: list[int] = []

    def bulk(s: Session, urls: list[str]) -> list[str]:
        calls.append(len(urls))
        http_validators.set_many(s, [(u, '"e"', None) for u in urls])
        return [u.upper() for u in urls]

    async def go() -> list[str]:
        async with BatchWriter(db) as writer:
            return list(
                await asyncio.gather(
                    *(writer.submit_grouped(bulk, f"https://a.example/{i}") for i in range(30))
                )
            )

    results = asyncio.run(go())
    assert results == [f"HTTPS://A.EXAMPLE/{i}" for i in range(30)]
    assert sum(calls) == 30 and len(calls) < 30
    assert _count(db) == 30


def test_a_failing_grouped_item_is_isolated(db: Database) -> None:
    """When a bulk call fails, each item is retried alone: only the bad one fails."""

    def bulk(s: Session, urls: list[str]) -> list[str]:
        if any("bad" in u for u in urls):
            http_validators.set_many(s, [(u, '"e"', None) for u in urls])
            raise ValueError("bad item in the batch")
        http_validators.set_many(s, [(u, '"e"', None) for u in urls])
        return urls

    async def go() -> list[object]:
        async with BatchWriter(db) as writer:
            urls = [f"https://a.example/{i}" for i in range(8)]
            urls.insert(4, "https://a.example/bad")
            return await asyncio.gather(
                *(writer.submit_grouped(bulk, u) for u in urls), return_exceptions=True
            )

    results = asyncio.run(go())
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and "bad item" in str(errors[0])
    assert _count(db) == 8


# -- a PostgreSQL outage: the writer holds its batch and tries again until the server answers --


@pytest.fixture
def cut_db(pg_url: str) -> Iterator[tuple[Database, TcpProxy]]:
    """A migrated PostgreSQL schema reached through a proxy the test can cut."""
    with pg_schema(pg_url) as url:
        open_db(url).dispose()  # migrated directly, not through the proxy
        proxy = TcpProxy(5432).start()
        db = Database(url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"))
        try:
            yield db, proxy
        finally:
            db.dispose()
            proxy.stop()


def _set(i: int) -> Callable[[Session], None]:
    return lambda s: http_validators.set_validators(s, f"https://a.example/{i}", '"e"', None)


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_a_batch_cut_by_an_outage_waits_for_the_server_and_lands_once(
    cut_db: tuple[Database, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    """Records submitted while PostgreSQL is cut off are held, retried with a pause, and stored
    once the proxy is restored; the outage is said once, and its end once."""
    db, proxy = cut_db
    outage = Outage(db.location, max_wait=60)

    async def go() -> int:
        async with BatchWriter(db, outage=outage) as writer:
            await writer.submit(_set(0))  # a pooled connection exists: the cut breaks it
            proxy.cut()
            writes = [asyncio.ensure_future(writer.submit(_set(i))) for i in range(1, 31)]
            await asyncio.sleep(2.5)  # several retries fail meanwhile
            assert not any(w.done() for w in writes)
            assert outage.active
            proxy.restore()
            await asyncio.wait_for(asyncio.gather(*writes), 60)
            return writer.batches

    with caplog.at_level(logging.INFO, logger="storage.outage"):
        asyncio.run(go())
    assert not outage.active
    assert _count(db) == 31
    assert len(_warnings(caplog, "does not answer")) == 1, caplog.text
    assert len(_warnings(caplog, "answers again")) == 1, caplog.text


def test_the_wait_is_bounded_and_then_the_batch_fails(
    cut_db: tuple[Database, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    """Past `max_wait` the held batch fails with the database error, and says what was lost."""
    db, proxy = cut_db
    outage = Outage(db.location, max_wait=2)

    async def go() -> tuple[BaseException | None, float]:
        async with BatchWriter(db, outage=outage) as writer:
            proxy.cut()
            began = time.monotonic()
            try:
                await writer.submit(_set(1))
            except Exception as exc:
                return exc, time.monotonic() - began
            return None, time.monotonic() - began

    with caplog.at_level(logging.INFO):
        error, took = asyncio.run(go())
    assert isinstance(error, OperationalError), error
    assert 2 <= took < 15, took
    assert _warnings(caplog, "not stored: PostgreSQL at"), caplog.text


def test_abandon_ends_the_wait_at_once(cut_db: tuple[Database, TcpProxy]) -> None:
    """A node stopping during an outage gives the held batch up instead of waiting for it."""
    db, proxy = cut_db
    outage = Outage(db.location, max_wait=600)

    async def go() -> float:
        async with BatchWriter(db, outage=outage) as writer:
            proxy.cut()
            write = asyncio.ensure_future(writer.submit(_set(1)))
            await asyncio.sleep(1)
            began = time.monotonic()
            outage.abandon()
            with pytest.raises(OperationalError):
                await write
            return time.monotonic() - began

    assert asyncio.run(go()) < 8  # at most one connection attempt after the abandon


def test_without_an_outage_policy_an_unreachable_database_fails_at_once(
    cut_db: tuple[Database, TcpProxy],
) -> None:
    """`crawl --once` gives no outage: its writes fail as soon as the database is away."""
    db, proxy = cut_db

    async def go() -> float:
        async with BatchWriter(db) as writer:
            proxy.cut()
            began = time.monotonic()
            with pytest.raises(OperationalError):
                await writer.submit(_set(1))
            return time.monotonic() - began

    assert asyncio.run(go()) < 8
