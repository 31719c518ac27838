"""What the crawler is configured with: a source, and the shared client's and parse workers'
settings, as typed, frozen pydantic models.

These are the models the crawler's components are built from (`Source` for every step,
`HttpSettings` for the `Fetcher`, `ParseSettings` for the `ParsePool`). The whole configuration
file (`defaults:`, alerts, the digest schedule), its loading and the precedence of its layers
belong to the application: `mfawatch.settings`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """`90s`, `10m`, `6h`, `1d`, `2w` (or a number of seconds, or a timedelta) to a timedelta."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float) and not isinstance(text, bool):
        return timedelta(seconds=float(text))
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 10m, 6h, 1d)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)"
        ) from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_zone)]

# The pseudo-selector `text()` reads an item's own trailing text (fmprc's `…</a>(2020-07-03)`).
ITEM_TEXT = "text()"
_EMPTY_DOC = LexborHTMLParser("<html></html>")


# `css@attr` reads an attribute instead of the text (same rule as crawler.parse.select, which
# this module cannot import: config sits below parse in the layers).
_ATTR = re.compile(r"^(?P<css>.*?)@(?P<attr>[A-Za-z_:][-\w:.]*)$", re.DOTALL)


def _check_css(selector: str) -> str:
    # Checked with the engine the parser uses, so a selector that loads is one lexbor can run.
    m = _ATTR.match(selector.strip())
    css = m.group("css") if m and m.group("css").strip() else selector
    if not css.strip():
        raise ValueError("empty CSS selector")
    try:
        _EMPTY_DOC.css(css)
    except SelectolaxError:
        raise ValueError(
            f"not a valid CSS selector: {selector!r} (write CSS such as 'div.content p',"
            " optionally ending in @attribute)"
        ) from None
    return selector


def _check_item_css(selector: str) -> str:
    return selector if selector == ITEM_TEXT else _check_css(selector)


def _check_cron(expr: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr)
    except ValueError as exc:
        raise ValueError(
            f"invalid cron expression {expr!r}: {exc} (five fields: minute hour day month weekday)"
        ) from None
    return expr


CssSelector = Annotated[str, AfterValidator(_check_css)]
ItemSelector = Annotated[str, AfterValidator(_check_item_css)]
CronExpr = Annotated[str, AfterValidator(_check_cron)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Model):
    """When a source is polled: `{every: 10m}` or `{cron: "*/10 * * * *"}`, with jitter."""

    every: timedelta | None = None
    cron: CronExpr | None = None
    jitter: timedelta = timedelta(seconds=30)

    @field_validator("every", "jitter", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        return None if v is None else parse_duration(v)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of `every` or `cron`")
        if self.every is not None and self.every < timedelta(seconds=1):
            raise ValueError("`every` must be at least 1s")
        return self


class Paginate(_Model):
    """Pagination: a URL template (`default_{n}.shtml`, relative to the listing) or a next-link selector."""

    template: str | None = None
    first: int = Field(default=1, ge=0)
    next: CssSelector | None = None
    max_pages: int = Field(default=5, ge=1, le=10_000)

    @field_validator("template")
    @classmethod
    def _placeholder(cls, v: str | None) -> str | None:
        if v is not None and "{n}" not in v:
            raise ValueError(
                f"template {v!r} has no {{n}} for the page number, e.g. default_{{n}}.shtml"
            )
        return v

    @model_validator(mode="after")
    def _one_of(self) -> Paginate:
        if (self.template is None) == (self.next is None):
            raise ValueError("give exactly one of `template` or `next`")
        return self


# How a source's pages are fetched (crawler.fetch.browser): `plain` httpx; `browser` headless
# Chromium for every page; `challenge` httpx, with the browser solving a JavaScript challenge
# once per host when one is answered, its cookies then sent by httpx.
FetchMode = Literal["plain", "browser", "challenge"]


class Listing(_Model):
    """One listing page (or feed) of a source; `fetch` overrides the source's mode for it."""

    url: HttpUrl
    section: str | None = None
    paginate: Paginate | None = None
    fetch: FetchMode | None = None


class ListSelectors(_Model):
    """CSS selectors for items on a listing page; `link`/`title`/`date` are relative to `item`.

    `date` may be `text()` to read the item's own trailing text (e.g. `…</a>(2020-07-03)`).
    """

    item: CssSelector
    link: CssSelector = "a"
    title: CssSelector | None = None  # default: the link's text
    date: ItemSelector | None = None


class ArticleSelectors(_Model):
    """CSS selectors on an article page. A missing `body` means generic extraction."""

    title: CssSelector | None = None
    date: CssSelector | None = None
    body: CssSelector | None = None
    section: CssSelector | None = None  # breadcrumb; its last segment is the section
    remove: tuple[CssSelector, ...] = ()


class Limits(_Model):
    """Fetch limits and run bounds for one source (defaults apply when a source sets none).

    The run bounds (`run_deadline`, `max_items_per_page`, `max_new_per_run`) are explained in
    `crawler.limits`: what a run leaves undone waits for the next run.
    """

    max_bytes: int = 10 * 1024 * 1024
    max_decompressed_bytes: int = 50 * 1024 * 1024
    timeout: timedelta = timedelta(seconds=30)  # total per request
    connect_timeout: timedelta = timedelta(seconds=10)
    max_redirects: int = Field(default=5, ge=0, le=20)
    run_deadline: timedelta = timedelta(minutes=10)  # per source per run
    max_items_per_page: int = Field(default=1000, ge=1, le=1_000_000)
    max_new_per_run: int = Field(default=1000, ge=1, le=1_000_000)

    @field_validator("timeout", "connect_timeout", "run_deadline", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        return parse_duration(v)  # type: ignore[arg-type]

    @field_validator("run_deadline")
    @classmethod
    def _deadline(cls, v: timedelta) -> timedelta:
        if v < timedelta(seconds=1):
            raise ValueError("`run_deadline` must be at least 1s (e.g. 10m)")
        return v


class Politeness(_Model):
    """Per-host politeness (applies to every host a source touches)."""

    concurrency_per_host: int = Field(default=4, ge=1, le=256)
    min_delay: timedelta = timedelta(seconds=0)
    respect_robots: bool = True
    retries: int = Field(default=3, ge=0, le=10)
    allow_private_redirects: bool = False

    @field_validator("min_delay", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        return parse_duration(v)  # type: ignore[arg-type]


class RevisitPlan(_Model):
    """Decaying revisit schedule measured from an article's first sighting."""

    after: tuple[timedelta, ...] = (
        timedelta(hours=1),
        timedelta(hours=6),
        timedelta(days=1),
        timedelta(days=3),
        timedelta(days=7),
        timedelta(days=30),
    )
    then_every: timedelta = timedelta(days=30)

    @field_validator("after", mode="before")
    @classmethod
    def _durations(cls, v: object) -> object:
        if not isinstance(v, list | tuple):
            raise ValueError("`after` is a list of durations, e.g. [1h, 6h, 1d]")
        return tuple(parse_duration(x) for x in v)

    @field_validator("then_every", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        return parse_duration(v)  # type: ignore[arg-type]


_HOST = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$|^\[[0-9a-f:.]+\]$")


def _check_host(host: str) -> str:
    name = host.strip().lower().rstrip(".")
    if not _HOST.match(name):
        raise ValueError(
            f"article host {host!r} must be a host name such as www.fmprc.gov.cn or"
            " *.fmprc.gov.cn (no scheme, port or path)"
        )
    return name


ArticleHost = Annotated[str, AfterValidator(_check_host)]


def _check_plain_host(host: str) -> str:
    name = _check_host(host)
    if name.startswith("*."):
        raise ValueError(f"equivalent host {host!r} must be one host name, not a `*.` pattern")
    return name


PlainHost = Annotated[str, AfterValidator(_check_plain_host)]


def host_matches(host: str, patterns: tuple[str, ...]) -> bool:
    """Whether `host` is one of `patterns` (`*.example.org`: any subdomain of example.org)."""
    name = host.strip("[]").lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]):
                return True
        elif name == pattern.strip("[]"):
            return True
    return False


PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
# A proxy's credentials are written as `${NAME}`: read from the environment when the client is
# built, so they are in no file, no message and no log line.
ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Headers the fetcher owns (or that have their own key): a `headers:` entry may not set them.
_OWN_HEADERS = {
    "host": "the URL's host",
    "content-length": "the fetcher",
    "transfer-encoding": "the fetcher",
    "connection": "the fetcher",
    "accept-encoding": "the fetcher (it decodes what it asks for)",
    "if-none-match": "the fetcher (conditional GET)",
    "if-modified-since": "the fetcher (conditional GET)",
    "proxy-authorization": "`proxy:` (credentials from the environment)",
    "cookie": "`cookies:`",
    "user-agent": "`user_agent:`",
    "accept-language": "`accept_language:`",
}


def _check_proxy(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"proxy {url!r} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in PROXY_SCHEMES:
        raise ValueError(
            f"proxy {url!r} must start with one of {', '.join(s + '://' for s in PROXY_SCHEMES)}"
        )
    if not parts.hostname or port is None:
        raise ValueError(f"proxy {url!r} needs a host and a port, e.g. socks5://10.0.0.5:1080")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"proxy {url!r} must be scheme://[user:password@]host:port, no path")
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        for part in userinfo.split(":", 1):
            if not ENV_REF.match(part):
                raise ValueError(
                    "proxy credentials must come from the environment, not the file: write "
                    "them as ${NAME}, e.g. socks5://${RU_PROXY_USER}:${RU_PROXY_PASSWORD}@host:1080"
                )
    return url.strip()


def _check_header_value(what: str, value: str) -> str:
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        raise ValueError(f"{what} {value!r} contains a control character (a line break?)")
    if len(value) > 4096:
        raise ValueError(f"{what} is longer than 4096 characters")
    return value


def _check_headers(v: object) -> object:
    if v is None:
        return ()
    if not isinstance(v, dict):
        raise ValueError("`headers` is a mapping of header name to value, e.g. {Referer: ...}")
    pairs = []
    for name, value in v.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP header name")
        if name.lower() in _OWN_HEADERS:
            raise ValueError(f"header {name!r} is set by {_OWN_HEADERS[name.lower()]}, not here")
        if not isinstance(value, str):
            raise ValueError(f"header {name!r} needs a text value, got {value!r}")
        pairs.append((name, _check_header_value(f"header {name!r}", value)))
    return tuple(pairs)


def _check_cookies(v: object) -> object:
    if v is None:
        return ()
    if not isinstance(v, dict):
        raise ValueError("`cookies` is a mapping of cookie name to value, e.g. {consent: yes}")
    pairs = []
    for name, value in v.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise ValueError(f"cookie name {name!r} is not a valid cookie name")
        if (
            not isinstance(value, str)
            or any(c in value for c in ' ;,"\\')
            or not value.isprintable()
        ):
            raise ValueError(
                f"cookie {name!r} needs a plain text value (no spaces, ';', ',', quotes), got {value!r}"
            )
        pairs.append((name, value))
    return tuple(pairs)


ProxyUrl = Annotated[str, AfterValidator(_check_proxy)]


_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def _node_tag(v: str) -> str:
    if not _TAG.match(v):
        raise ValueError(
            f"node tag {v!r} must be 1-32 lower-case letters, digits, '-' or '_' (e.g. ru)"
        )
    return v


NodeTag = Annotated[str, AfterValidator(_node_tag)]


class Source(_Model):
    """One ministry news source, after `defaults:` were merged in."""

    key: str
    name: str = Field(min_length=1)
    country: str
    language: str = "en"
    timezone: TimeZoneName = "UTC"
    enabled: bool = True
    type: Literal["html", "feed"] = "html"
    schedule: Schedule = Schedule(every=timedelta(minutes=15))
    user_agent: str = "mfawatch/0.1 (+https://github.com/mfawatch/mfawatch)"
    # The network path (crawler.fetch.client): a proxy (http, https, socks5; credentials as
    # ${ENV}), extra request headers, cookies sent to the source's own hosts, Accept-Language.
    proxy: ProxyUrl | None = None
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    accept_language: str | None = None
    fetch: FetchMode = "plain"
    listings: tuple[Listing, ...] = Field(min_length=1)
    list: ListSelectors | None = Field(default=None, validate_default=True)
    article: ArticleSelectors | None = None
    # Hosts that serve the same articles (mirrors: www.fmprc.gov.cn and www.mfa.gov.cn): a URL
    # on any of them is the article of the same URL on the first one (`canonical_url`).
    hosts: tuple[PlainHost, ...] = ()
    # Hosts whose links on a listing or feed are this source's articles (`*.example.org` for
    # its subdomains); default: the listings' own hosts and `hosts`. Other links are skipped.
    article_hosts: tuple[ArticleHost, ...] | None = None
    limits: Limits = Limits()
    politeness: Politeness = Politeness()
    revisit: RevisitPlan = RevisitPlan()
    # Polls in a row whose listing yields nothing (selectors stop matching) before the source is
    # reported `broken`: one odd page is not a redesign.
    broken_after: int = Field(default=3, ge=1, le=1000)
    # The same ministry's releases in another language (`cn-mfa-zh` is `cn-mfa-en`'s twin): each
    # release is paired with its other-language twin (`storage.readouts.twins`). One side says it.
    twin_of: str | None = None
    # Cluster mode: the tags of the nodes that may fetch this source (`mfawatch run --tag TAG`);
    # empty: any node. A geo-restricted ministry is fetched only from a node inside the country.
    nodes: tuple[NodeTag, ...] = ()

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not _KEY.match(v):
            raise ValueError(
                f"source key {v!r} must be 1-64 lower-case letters, digits, '-' or '_' (e.g. cn-mfa-en)"
            )
        return v

    @field_validator("headers", mode="before")
    @classmethod
    def _headers(cls, v: object) -> object:
        return _check_headers(v)

    @field_validator("cookies", mode="before")
    @classmethod
    def _cookies(cls, v: object) -> object:
        return _check_cookies(v)

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("user_agent is empty")
        return _check_header_value("user_agent", v)

    @field_validator("accept_language")
    @classmethod
    def _accept_language(cls, v: str | None) -> str | None:
        return None if v is None else _check_header_value("accept_language", v)

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        if not _COUNTRY.match(v):
            raise ValueError(
                f"country {v!r} must be a two-letter upper-case ISO 3166 code, e.g. CN"
            )
        return v

    # validate_default so that a missing `list:` is reported under its own name, not the source's.
    @field_validator("list", mode="after")
    @classmethod
    def _selectors(cls, v: ListSelectors | None, info: ValidationInfo) -> ListSelectors | None:
        if v is None and info.data.get("type", "html") == "html":
            raise ValueError(
                'an html source needs `list:` selectors, e.g. {item: "ul li", link: a}'
                " (or set `type: feed` for an RSS/Atom listing)"
            )
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_article_hosts(self) -> tuple[str, ...]:
        """`article_hosts`, or by default the hosts of the source's listings and its `hosts`."""
        if self.article_hosts is not None:
            return self.article_hosts
        listed = ((listing.url.host or "").lower() for listing in self.listings)
        return tuple(dict.fromkeys([*listed, *self.hosts]))

    def fetch_mode(self, listing_url: str | None = None) -> FetchMode:
        """How a page of the source is fetched: the mode of the listing at `listing_url` when it
        sets one, else the source's."""
        if listing_url is not None:
            for listing in self.listings:
                if listing.fetch is not None and str(listing.url) == listing_url:
                    return listing.fetch
        return self.fetch

    @property
    def uses_browser(self) -> bool:
        """Whether any page of the source may need the browser."""
        return self.fetch != "plain" or any(
            listing.fetch not in (None, "plain") for listing in self.listings
        )

    @property
    def host_map(self) -> dict[str, str]:
        """Each equivalent host (`hosts`) but the first, mapped to the first."""
        return {host: self.hosts[0] for host in self.hosts[1:]}


class BrowserSettings(_Model):
    """The headless Chromium that `fetch: browser` and `fetch: challenge` sources use (one per
    process, started on first need): where it is, how many pages at once, its memory ceiling
    (past it, the browser is restarted between pages)."""

    executable: str = "/usr/bin/chromium"
    pages: int = Field(default=2, ge=1, le=16)
    memory_mb: int = Field(default=1024, ge=128, le=65536)
    # What a challenge page may take to clear before the source is `blocked`.
    challenge_timeout: timedelta = timedelta(seconds=20)
    # A browser without a page for this long is stopped (its memory freed); the next page that
    # needs one starts it again.
    idle_stop: timedelta = timedelta(minutes=5)

    @field_validator("challenge_timeout", "idle_stop", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        return parse_duration(v)  # type: ignore[arg-type]


class HttpSettings(_Model):
    """The shared HTTP client. `aiohttp` (the httpx-aiohttp transport, httpx API kept) is the
    default: aiohttp's pool costs far less CPU per page than httpx's own (docs/benchmarks.md)."""

    pool_size: int = Field(default=8, ge=1, le=256)
    transport: Literal["httpx", "aiohttp"] = "aiohttp"
    browser: BrowserSettings = BrowserSettings()


class ParseSettings(_Model):
    """Where article pages are parsed. `workers: auto` starts one worker process per core beyond
    the first (at most 4; none on one core); 0 parses in the crawler's own process."""

    workers: int | Literal["auto"] = Field(default="auto")

    @field_validator("workers", mode="before")
    @classmethod
    def _auto_or_count(cls, v: object) -> object:
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 64):
            return v
        raise ValueError(f"workers must be `auto` or a number from 0 to 64, got {v!r}")
