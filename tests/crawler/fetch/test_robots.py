"""robots.txt through the Fetcher: allow, deny, the fmprc redirect-to-error case, errors, cache."""

from __future__ import annotations

import pytest

from crawler.errors import RobotsDisallowed
from crawler.fetch import Fetcher
from crawler.fetch.robots import RobotsAnswer, interpret, robots_url
from tests.crawler.fetch.conftest import MakeSource
from tests.site import Site

RULES = "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.2\n\nUser-agent: mfawatch-test\nDisallow: /secret\n"


async def test_disallowed_path_is_refused(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """A Disallow for our user agent raises RobotsDisallowed naming the URL; nothing is requested."""
    site.add("/robots.txt", RULES, content_type="text/plain")
    src = make_source()
    with pytest.raises(RobotsDisallowed) as err:
        await fetcher.fetch(site.url("/secret/page.html"), src)
    assert site.url("/secret/page.html") in str(err.value) and "robots.txt" in str(err.value)
    assert site.requests_to("/secret/page.html") == []


async def test_allowed_path_and_cache(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """Allowed paths are fetched and robots.txt is read once for several fetches."""
    site.add("/robots.txt", RULES, content_type="text/plain")
    src = make_source()
    for _ in range(3):
        assert (await fetcher.fetch(site.url("/etag"), src)).status == 200
    assert len(site.requests_to("/robots.txt")) == 1


async def test_other_agents_rules_do_not_apply(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """Rules of a group matching our agent replace the `*` group (Protego semantics)."""
    site.add("/robots.txt", RULES, content_type="text/plain")
    page = await fetcher.fetch(site.url("/private/../etag"), make_source())
    assert page.status == 200


async def test_crawl_delay_feeds_the_host_slot(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """A Crawl-delay for our agent becomes the slot's delay and spaces out request starts."""
    site.add("/robots.txt", "User-agent: *\nCrawl-delay: 0.5\n", content_type="text/plain")
    src = make_source()
    await fetcher.fetch(site.url("/etag"), src)  # also the first connection: slower than the next
    await fetcher.fetch(site.url("/etag"), src)
    assert fetcher.slots.slot(site.url("/")).crawl_delay == 0.5
    first, second = site.requests_to("/etag")
    assert second.started - first.started >= 0.35


async def test_robots_redirect_to_html_error_page_allows_all(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """fmprc's robots.txt 302 -> /error.htm (an HTML 200 page) is read as allow-all."""
    site.redirect("/robots.txt", "/soft-404")
    page = await fetcher.fetch(site.url("/etag"), make_source())
    assert page.status == 200
    assert len(site.requests_to("/soft-404")) == 1


@pytest.mark.parametrize("status", [404, 403, 500])
async def test_robots_error_statuses_allow_all(
    fetcher: Fetcher, site: Site, make_source: MakeSource, status: int
) -> None:
    """A 4xx or 5xx robots.txt answer allows everything (5xx is logged), without retries."""
    site.add("/robots.txt", "Disallow: /", status=status, content_type="text/plain")
    assert (
        await fetcher.fetch(site.url("/etag"), make_source(politeness={"retries": 0}))
    ).status == 200


async def test_respect_robots_false_skips_robots(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """`respect_robots: false` fetches a disallowed page and never asks for robots.txt."""
    site.add("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    page = await fetcher.fetch(site.url("/etag"), make_source(politeness={"respect_robots": False}))
    assert page.status == 200
    assert site.requests_to("/robots.txt") == []


def test_interpret_table() -> None:
    """The answer table: text/plain parsed, HTML ignored, 5xx allows all with a short TTL."""
    plain = interpret(
        RobotsAnswer(200, "text/plain", "User-agent: *\nDisallow: /x", "u"), ttl=100, error_ttl=1
    )
    html = interpret(
        RobotsAnswer(200, "text/html", "<html>Disallow: /x</html>", "u"), ttl=100, error_ttl=1
    )
    down = interpret(RobotsAnswer(503, None, "", "u"), ttl=100, error_ttl=1)
    assert not plain.allows("http://h/x", "bot") and plain.allows("http://h/y", "bot")
    assert html.allows("http://h/x", "bot") and html.parser is None
    assert down.allows("http://h/x", "bot") and down.expires < plain.expires


def test_robots_url() -> None:
    """The robots URL keeps scheme, host and port and drops path and query."""
    assert robots_url("HTTPS://Example.org:8443/a/b?q=1#f") == "https://example.org:8443/robots.txt"
