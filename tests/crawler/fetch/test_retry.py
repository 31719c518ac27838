"""The retry decision (pure) and Retry-After parsing, apart from the fetcher."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.errors import (
    Blocked,
    ConnectionFailed,
    HTTPStatusError,
    RobotsDisallowed,
    Timeout,
    TooLarge,
)
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
