"""The retry decision (pure) and Retry-After parsing, apart from the fetcher."""

from __future__ import annotations

import errno
import logging
import socket
import ssl
from datetime import UTC, datetime

import httpx
import pytest

from crawler.errors import (
    Blocked,
    ConnectionFailed,
    HTTPStatusError,
    RobotsDisallowed,
    Timeout,
    TooLarge,
)
from crawler.fetch.client import permanent_failure
from crawler.fetch.retry import (
    RetryableAnswer,
    RetryPolicy,
    decide,
    parse_retry_after,
    run_with_retries,
    status_is_retryable,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("-3", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    """Retry-After is delta-seconds or an HTTP-date; a past date means now; junk means none."""
    assert parse_retry_after(value, NOW) == seconds


def test_decisions() -> None:
    """Timeouts, resets and retryable answers are retried; Retry-After sets the wait up to the cap."""
    e503 = HTTPStatusError("u", 503)
    assert decide(Timeout("u", "slow")).retry
    assert decide(ConnectionFailed("u", "reset")).retry
    assert decide(RetryableAnswer(e503, None)).wait is None
    assert decide(RetryableAnswer(e503, 7.0)).wait == 7.0
    too_long = decide(RetryableAnswer(e503, 500.0), cap=120)
    assert not too_long.retry and "exceeds the 120 s cap" in too_long.reason
    for exc in (TooLarge("u", "big"), RobotsDisallowed("u", "no"), Blocked("u", 403), ValueError()):
        assert not decide(exc).retry


def test_retryable_statuses() -> None:
    """408, 429 and 500/502/503/504 are worth another try; 404 and 501 are not."""
    assert [s for s in (404, 408, 429, 500, 501, 502, 503, 504) if status_is_retryable(s)] == [
        408,
        429,
        500,
        502,
        503,
        504,
    ]


async def test_run_with_retries_gives_up_with_count() -> None:
    """After the allowed tries the last error is raised, its message saying how many tries."""
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise RetryableAnswer(HTTPStatusError("http://h/x", 503), None)

    with pytest.raises(HTTPStatusError, match=r"http://h/x: HTTP 503; after 3 tries") as err:
        await run_with_retries(attempt, RetryPolicy(retries=2), url="http://h/x")
    assert calls == 3 and err.value.status == 503


async def test_run_with_retries_returns_first_success() -> None:
    """A success after failures is returned and stops the retries."""
    outcomes: list[Exception | str] = [Timeout("u", "slow"), "ok"]
    results = iter(outcomes)

    async def attempt() -> str:
        r = next(results)
        if isinstance(r, Exception):
            raise r
        return str(r)

    assert await run_with_retries(attempt, RetryPolicy(retries=5), url="u") == "ok"


async def test_non_retryable_error_passes_through_once() -> None:
    """An error that is not retryable is raised unchanged after one try."""
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise TooLarge("u", "big")

    with pytest.raises(TooLarge, match="u: big$"):
        await run_with_retries(attempt, RetryPolicy(retries=5), url="u")
    assert calls == 1


def test_permanent_failures_are_not_retried() -> None:
    """An unknown host, a TLS mismatch, a refused port, an answer that is not HTTP: no retry."""
    d = decide(
        ConnectionFailed("u", "could not connect: Name or service not known", permanent=True)
    )
    assert not d.retry and "permanent" in d.reason
    assert decide(ConnectionFailed("u", "temporary failure in name resolution")).retry


@pytest.mark.parametrize(
    ("exc", "permanent"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), True),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), False),
        (ssl.SSLCertVerificationError(1, "hostname mismatch"), True),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), True),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), False),
        (TimeoutError(), False),
    ],
)
def test_permanent_connection_failures(exc: BaseException, permanent: bool) -> None:
    """Which causes of a connection failure are permanent, also when wrapped by the HTTP client."""
    assert permanent_failure(exc) is permanent
    try:
        try:
            raise exc
        except BaseException as inner:
            raise httpx.ConnectError("could not connect") from inner
    except httpx.ConnectError as wrapped:
        assert permanent_failure(wrapped) is permanent


async def test_each_retry_is_logged_with_url_try_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every retry line names the URL, the try and the reason; so does the give-up line."""
    url = "http://ministry.example/list.html"

    async def attempt() -> None:
        raise ConnectionFailed(url, "the connection was reset")

    with caplog.at_level(logging.WARNING, logger="crawler.fetch.retry"):
        with pytest.raises(ConnectionFailed):
            await run_with_retries(attempt, RetryPolicy(retries=2), url=url)
    lines = [r.getMessage() for r in caplog.records if r.name == "crawler.fetch.retry"]
    assert len(lines) == 3, lines
    assert all(url in line and "the connection was reset" in line for line in lines)
    assert "try 1 of 3" in lines[0] and "try 2 of 3" in lines[1] and "giving up" in lines[2]
