"""The batch writer: many records per transaction, one failure never costs the others."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage import http_validators
from storage.engine import Database, open_db
from storage.schema import ValidatorRow
from storage.writer import BatchWriter


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
