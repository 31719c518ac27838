"""Hostile listings over loopback, through the whole crawl: links to private addresses, to other
hosts, links no client can fetch, and article servers that do not speak HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from crawler.config import HttpSettings, Source
from crawler.context import CrawlContext, SourceResult
from crawler.fetch import Fetcher
from crawler.pipeline import crawl_sources
from mfawatch.commands.crawl import summary_line
from storage import queries
from storage.engine import Database, open_db
from tests.crawler.fetch.conftest import quiet_slots
from tests.site import Site

PUBLIC = "http://ministry.example"


def article(title: str) -> str:
    """An article page the source's selectors read."""
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<div class='content'><p>{title}: the ministry's statement, in full.</p></div>"
        "</body></html>"
    )


def listing(*hrefs: str) -> str:
    """A listing page with one item per href."""
    items = "".join(f"<li><a href='{h}'>Item {i}</a></li>" for i, h in enumerate(hrefs))
    return f"<html><body><ul>{items}</ul></body></html>"


def make_source(base: str, **overrides: Any) -> Source:
    """An html source whose listing is `base`/list.html, with article selectors."""
    data: dict[str, Any] = {
        "key": "hostile",
        "name": "Hostile ministry",
        "country": "CN",
        "listings": [{"url": f"{base}/list.html"}],
        "list": {"item": "li", "link": "a"},
        "article": {"title": "h1", "body": "div.content"},
        "limits": {"timeout": "5s", "connect_timeout": "2s"},
        "politeness": {"retries": 1},
    }
    data.update(overrides)
    return Source.model_validate(data)


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    """A migrated SQLite database."""
    database = open_db(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def as_proxy(site: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    """The site answering for made-up public host names (it is the HTTP proxy of every request)."""
    monkeypatch.setenv("HTTP_PROXY", site.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    return site


def crawl(db: Database, source: Source, transport: str = "aiohttp") -> SourceResult:
    """One crawl of `source`."""

    async def go() -> list[SourceResult]:
        http = HttpSettings(transport=transport)  # type: ignore[arg-type]
        async with Fetcher(http, slots=quiet_slots()) as fetcher:
            return await crawl_sources(CrawlContext(db=db, fetcher=fetcher), [source])

    return asyncio.run(go())[0]


def stored_urls(db: Database) -> set[str]:
    with db.session() as s:
        return {a.url for a in queries.iter_articles(s)}


def last_counts(db: Database) -> dict[str, Any]:
    with db.session() as s:
        return queries.source_status(s)[0].last_run_counts


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_public_listing_never_reaches_loopback_and_skips_offsite_links(
    as_proxy: Site, db: Database, transport: str
) -> None:
    """A public source whose listing links to 127.0.0.1:PORT/internal/secret, to another public
    host and to unusable URLs: only its own article is fetched and stored; the rest is skipped
    and counted, and the secret is never requested."""
    site = as_proxy
    secret = site.url("/internal/secret")
    site.add("/list.html", listing("/a1.html", secret, "http://news.other.example/a2.html"))
    site.add("/a1.html", article("Own article"))
    site.add("/a2.html", article("Someone else's article"))
    result = crawl(db, make_source(PUBLIC), transport)
    assert result.ok, result.errors
    assert (result.new, result.offsite, result.bad_links) == (1, 2, 0)
    assert site.requests_to("/internal/secret") == []
    assert site.requests_to("/a2.html") == []
    assert stored_urls(db) == {f"{PUBLIC}/a1.html"}
    assert last_counts(db)["offsite"] == 2
    assert "2 link(s) skipped (2 off-site)" in summary_line([result])


def test_article_hosts_naming_a_loopback_address_still_never_reach_it(
    as_proxy: Site, db: Database
) -> None:
    """Even when `article_hosts` admits 127.0.0.1, the fetch layer refuses the address for a public
    source: that one article fails, the others are stored, the secret is never requested."""
    site = as_proxy
    secret = site.url("/internal/secret")
    site.add("/list.html", listing("/a1.html", secret))
    site.add("/a1.html", article("Own article"))
    source = make_source(PUBLIC, article_hosts=["ministry.example", "127.0.0.1"])
    result = crawl(db, source)
    assert result.new == 1
    assert len(result.errors) == 1 and secret in result.errors[0]
    assert "loopback" in result.errors[0] and "\n" not in result.errors[0]
    assert site.requests_to("/internal/secret") == []
    assert stored_urls(db) == {f"{PUBLIC}/a1.html"}


def test_article_hosts_admit_other_hosts(as_proxy: Site, db: Database) -> None:
    """A host listed in `article_hosts` (`*.` for subdomains) is the source's own."""
    site = as_proxy
    site.add("/list.html", listing("/a1.html", "http://news.other.example/a2.html"))
    site.add("/a1.html", article("Own article"))
    site.add("/a2.html", article("Mirror article"))
    source = make_source(PUBLIC, article_hosts=["ministry.example", "*.other.example"])
    result = crawl(db, source)
    assert (result.new, result.offsite) == (2, 0), result.errors


def test_unusable_links_are_skipped_one_by_one(site: Site, db: Database) -> None:
    """`http://h:99999/`, `http://[::1/` and `//[::1/` skip that link (counted), not the listing."""
    site.add("/list.html", listing("/a1.html", "http://h:99999/", "http://[::1/", "//[::1/x"))
    site.add("/a1.html", article("Own article"))
    result = crawl(db, make_source(site.base_url))
    assert result.ok, result.errors
    assert (result.new, result.bad_links) == (1, 3)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_articles_that_are_not_http_fail_alone(site: Site, db: Database, transport: str) -> None:
    """An SSH banner, a 200 KB header and 20,000 headers as article answers: each is one FetchError
    naming its URL on one line; the listing and the good article are kept."""
    bad = ["/ssh-banner", "/huge-header?kb=200", "/many-headers"]
    site.add("/list.html", listing("/a1.html", *bad))
    site.add("/a1.html", article("Own article"))
    result = crawl(db, make_source(site.base_url), transport)
    assert result.new == 1
    assert len(result.errors) == len(bad)
    for error in result.errors:
        assert "internal error" not in error and "ClientResponseError" not in error
        assert "\n" not in error
    for path in bad:
        assert sum(site.url(path) in e for e in result.errors) == 1, (path, result.errors)
    assert stored_urls(db) == {site.url("/a1.html")}


def test_offsite_next_page_is_not_followed(as_proxy: Site, db: Database) -> None:
    """A `paginate.next` link to another host ends the pagination; that page is never read."""
    site = as_proxy
    site.add(
        "/list.html",
        listing("/a1.html") + "<a class='next' href='http://evil.example/list2.html'>next</a>",
    )
    site.add("/a1.html", article("Own article"))
    source = make_source(
        PUBLIC, listings=[{"url": f"{PUBLIC}/list.html", "paginate": {"next": "a.next"}}]
    )
    result = crawl(db, source)
    assert (result.new, result.listings) == (1, 1), result.errors
    assert site.requests_to("/list2.html") == []


@pytest.mark.parametrize("host", ["http://x.example/", "x.example:8080", "x.example/path", ""])
def test_article_hosts_are_host_names(host: str) -> None:
    """`article_hosts` takes host names (or `*.` patterns), and says so otherwise."""
    with pytest.raises(ValueError, match="article host"):
        make_source(PUBLIC, article_hosts=[host])
