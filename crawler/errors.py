"""The exception tree of mfawatch. Every message names what went wrong, where, and the fix.

    MfawatchError                   the root (`storage.errors`, where the whole tree is drawn)
    └── CrawlerError                what the crawler raises
        ├── ConfigError             a YAML file is invalid; carries every problem (file:line field)
        ├── FetchError              a URL could not be fetched (url, reason)
        │   ├── RobotsDisallowed    robots.txt forbids the URL
        │   ├── TooLarge            body or decompressed body over the limit
        │   ├── HTTPStatusError     a 4xx/5xx answer (status); `Blocked` for walls
        │   │   └── Blocked         403/412/429/521 challenge or bot wall
        │   ├── Timeout             connect/read/total time exceeded
        │   ├── RedirectError       too many redirects, a loop, or a redirect to a private address
        │   ├── AddressRefused      a source's fetch would reach an address class it may not
        │   ├── ConnectionFailed    refused, reset, DNS, TLS, an answer that is not HTTP
        │   └── PathUnavailable     the source's proxy or browser does not work (`blocked`)
        ├── ParseError              a page could not be turned into items or an article (url)
        │   ├── SelectorMatchedNothing  a configured selector matched nothing (selector, field)
        │   └── SoftErrorPage       an HTTP-200 error page or bot challenge (reason); `blocked` flag

The root lives in `storage.errors`, the lowest package, so storage's and the digest's errors
share it. The CLI turns both into messages and exit codes; nothing below the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.errors import MfawatchError as MfawatchError  # the root, re-exported


class CrawlerError(MfawatchError):
    """Base of every error the crawler raises on purpose (not storage's: see `storage.errors`)."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a config file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class ConfigError(CrawlerError):
    """A config file is invalid; `problems` lists all of them."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem(s)):\n{lines}")


class FetchError(CrawlerError):
    """A URL could not be fetched.

    `permanent` marks a failure that another try within the same run would only repeat (an
    unknown host, a TLS name mismatch, a refused port, an answer that is not HTTP); the retry
    policy never retries those.
    """

    kind = "down"  # status classification: down | blocked

    def __init__(self, url: str, reason: str, *, permanent: bool = False) -> None:
        self.url = url
        self.reason = reason
        self.permanent = permanent
        super().__init__(f"{url}: {reason}")


class RobotsDisallowed(FetchError):
    """robots.txt forbids fetching the URL."""


class TooLarge(FetchError):
    """The response was larger than the configured limit."""


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, url: str, status: int, reason: str | None = None) -> None:
        self.status = status
        super().__init__(url, reason or f"HTTP {status}")


class Blocked(HTTPStatusError):
    """A bot wall or block (403/412/521 challenge, or 429 that never ends).

    `challenge` is set when the answer carried a bot challenge's markers (a browser may clear it).
    """

    kind = "blocked"
    challenge = False


class Timeout(FetchError):
    """The request took longer than allowed."""


class RedirectError(FetchError):
    """Too many redirects, a loop, or a redirect to a forbidden address."""


class AddressRefused(FetchError):
    """The URL's host is (or resolves to) an address class the source may not reach.

    A source on a public host never reaches loopback, private, link-local or unspecified
    addresses (see crawler/fetch/addresses.py).
    """


class ConnectionFailed(FetchError):
    """The connection could not be made or was cut."""


class PathUnavailable(FetchError):
    """The network path a source is configured with does not work: its proxy refuses or fails,
    its proxy credentials are missing, the browser it needs cannot start. The source is
    `blocked` (health) with this reason; other sources are unaffected."""

    kind = "blocked"


class ParseError(CrawlerError):
    """A page could not be parsed."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class SelectorMatchedNothing(ParseError):
    """A configured selector matched nothing on the page."""

    def __init__(self, url: str, field: str, selector: str) -> None:
        self.field = field
        self.selector = selector
        super().__init__(url, f"selector {field}={selector!r} matched nothing")


class SoftErrorPage(ParseError):
    """An error page or bot challenge served as if it were content."""

    def __init__(self, url: str, reason: str, *, blocked: bool = False) -> None:
        self.blocked = blocked
        super().__init__(url, reason)

    @property
    def kind(self) -> str:
        return "blocked" if self.blocked else "missing"
