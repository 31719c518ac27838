"""Which fetch failures are retried, and after how long: the decision, kept apart from applying it.

Retried: timeouts, temporary connection failures (a reset, a refused handshake, "temporary
failure in name resolution"), and the answers 408, 429, 500, 502, 503, 504. Not retried: a
`permanent` failure (an unknown host, a TLS name mismatch, a refused port, an answer that is not
HTTP: another try within the run would only repeat it; the next run tries again), and everything
else (a 404 or a robots refusal will not change in a second). `politeness.retries` is the number
of *extra* tries.

Waits: exponential backoff with jitter (stamina), unless the server sent `Retry-After` (seconds or
an HTTP-date), which is honoured exactly up to `RETRY_AFTER_CAP`; a longer Retry-After is not waited
out in-line: we give up now and the host slot stays paused (see hosts.py). Applying it is
`run_with_retries`, which uses `stamina.retry_context`, so `stamina.set_testing` makes test runs
skip the sleeps.

Logging: every retry is one warning line of ours naming the URL, the try, and the reason
(`retrying URL (try 1 of 4 failed): reason`), and giving up is another; stamina's own retry
instrumentation (a line without the URL) is switched off by the application's logging set-up.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import stamina

from crawler.errors import ConnectionFailed, FetchError, HTTPStatusError, Timeout

log = logging.getLogger(__name__)

# The one table of answers worth another try, and of those whose Retry-After also pauses the host.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
RETRY_AFTER_CAP = 120.0
T = TypeVar("T")


class RetryableAnswer(Exception):
    """An HTTP answer worth retrying; carries the error to raise if we give up, and Retry-After."""

    def __init__(self, error: FetchError, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to try again, and the wait: None means "use exponential backoff"."""

    retry: bool
    wait: float | None = None
    reason: str = ""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def decide(exc: BaseException, cap: float = RETRY_AFTER_CAP) -> Decision:
    """The retry decision for one failed try."""
    if isinstance(exc, RetryableAnswer):
        if exc.retry_after is None:
            return Decision(True, None, exc.error.reason)
        if exc.retry_after > cap:
            return Decision(
                False,
                None,
                f"Retry-After {exc.retry_after:.0f} s exceeds the {cap:.0f} s cap; not waiting in-line",
            )
        return Decision(
            True, exc.retry_after, f"{exc.error.reason}, Retry-After {exc.retry_after:g} s"
        )
    if isinstance(exc, FetchError) and exc.permanent:
        return Decision(False, None, f"{exc.reason} (permanent: not retried in this run)")
    if isinstance(exc, Timeout | ConnectionFailed):
        return Decision(True, None, exc.reason)
    return Decision(False, None, "not retryable")


def status_is_retryable(status: int) -> bool:
    """Whether an HTTP status is worth another try."""
    return status in RETRY_STATUSES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How retries are applied: `retries` extra tries, exponential backoff with jitter."""

    retries: int = 3
    wait_initial: float = 1.0
    wait_max: float = 30.0
    wait_jitter: float = 1.0
    retry_after_cap: float = RETRY_AFTER_CAP


async def run_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    url: str,
    on_retry_after: Callable[[float], None] | None = None,
) -> T:
    """Run `attempt` until it succeeds or the decision says stop; raise the final FetchError.

    A `RetryableAnswer` that is given up on is unwrapped into its `FetchError`; the message then
    says how many tries were made.
    """
    # Most fetches succeed at once, so the first try runs bare: entering stamina's retry context
    # cost ~0.2 M instructions a call, a tenth of a whole loopback fetch. A failure is replayed
    # as the context's first try, so the decision, waits, tries and logs are stamina's as before.
    try:
        return await attempt()
    except Exception as exc:
        first: Exception | None = exc
    tries = 0
    last_reason = ""

    attempts = policy.retries + 1

    def hook(exc: BaseException) -> bool | float:
        nonlocal last_reason
        d = decide(exc, policy.retry_after_cap)
        last_reason = d.reason
        if isinstance(exc, RetryableAnswer) and exc.retry_after is not None and on_retry_after:
            on_retry_after(exc.retry_after)
        if not d.retry:
            return False
        if tries < attempts:
            wait = "" if d.wait is None else f" in {d.wait:g} s (Retry-After)"
            log.warning(
                "retrying %s%s (try %d of %d failed): %s",
                url,
                wait,
                tries,
                attempts,
                d.reason,
                extra={"url": url},
            )
        return True if d.wait is None else d.wait

    try:
        async for retrying in stamina.retry_context(
            on=hook,
            attempts=attempts,
            timeout=None,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        ):
            with retrying:
                tries = retrying.num
                if first is not None:
                    failure, first = first, None
                    raise failure
                return await attempt()
    except RetryableAnswer as exc:
        err = exc.error
        _give_up(err, tries, last_reason)
        raise _with_tries(err, tries, last_reason) from None
    except (Timeout, ConnectionFailed) as exc:
        if tries > 1:
            _give_up(exc, tries, last_reason)
        raise _with_tries(exc, tries, "") from None
    raise AssertionError("unreachable: stamina ended without a result")  # pragma: no cover


def _give_up(err: FetchError, tries: int, reason: str) -> None:
    log.warning(
        "giving up on %s after %d tries: %s",
        err.url,
        tries,
        reason or err.reason,
        extra={"url": err.url},
    )


def _with_tries(err: FetchError, tries: int, why: str) -> FetchError:
    """The same error with the number of tries (and a refused Retry-After) in its reason."""
    parts = [err.reason]
    if tries > 1:
        parts.append(f"after {tries} tries")
    if "exceeds" in why:
        parts.append(why)
    reason = "; ".join(parts)
    if isinstance(err, HTTPStatusError):
        return type(err)(err.url, err.status, reason)
    return type(err)(err.url, reason, permanent=err.permanent)
