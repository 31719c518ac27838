"""What counts as "PostgreSQL out of reach", and the one warning per outage."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from storage.outage import Outage, is_unreachable


def _error_of(url: str, sql: str) -> DBAPIError:
    engine = sa.create_engine(
        url, connect_args={"connect_timeout": 5} if "postgresql" in url else {}
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    except DBAPIError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError(f"{sql!r} did not fail")


def test_a_refused_connection_is_unreachable(refused_port: int) -> None:
    """Nothing listens on the port: the server is out of reach."""
    exc = _error_of(f"postgresql+psycopg://postgres@127.0.0.1:{refused_port}/test", "SELECT 1")
    assert is_unreachable(exc)


def test_errors_of_the_statement_are_not(pg_url: str, tmp_path: Path) -> None:
    """A bad statement, a constraint, or SQLite's own errors: waiting would not help."""
    assert not is_unreachable(_error_of(pg_url, "SELEC 1"))
    assert not is_unreachable(_error_of(pg_url, "SELECT 1/0"))
    assert not is_unreachable(_error_of(f"sqlite:///{tmp_path}/x.db", "SELECT * FROM nowhere"))
    assert not is_unreachable(ValueError("broken record"))


def test_one_warning_per_outage_and_one_line_when_it_ends(
    refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Many failures of one outage: one warning; its end: one line; a second outage warns again."""
    outage = Outage("postgresql://db/x", max_wait=60, who="node n1")
    exc = _error_of(f"postgresql+psycopg://postgres@127.0.0.1:{refused_port}/test", "SELECT 1")
    with caplog.at_level(logging.INFO, logger="storage.outage"):
        for _ in range(5):
            outage.lost(exc, "the writes wait")
        assert outage.active
        outage.back()
        outage.back()
        outage.lost(exc, "the writes wait")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("does not answer" in m for m in messages) == 2, messages
    [back] = [m for m in messages if "answers again" in m]
    assert "node n1 resumes" in back and "Connection refused" in messages[0]
    assert "held for up to 60 s" in messages[0]


def test_a_wait_ends_when_the_database_is_seen_back_or_the_waits_are_abandoned(
    refused_port: int,
) -> None:
    """A writer sleeping through a 30-s pause tries again as soon as the node sees the database
    back; after `abandon()` every wait ends at once, saying so."""
    outage = Outage("postgresql://db/x")
    exc = _error_of(f"postgresql+psycopg://postgres@127.0.0.1:{refused_port}/test", "SELECT 1")
    outage.lost(exc, "the writes wait")
    threading.Timer(0.3, outage.back).start()
    began = time.monotonic()
    assert outage.wait(30) is True
    assert time.monotonic() - began < 5
    outage.lost(exc, "the writes wait")
    threading.Timer(0.3, outage.abandon).start()
    began = time.monotonic()
    assert outage.wait(30) is False
    assert outage.wait(30) is False and time.monotonic() - began < 5
