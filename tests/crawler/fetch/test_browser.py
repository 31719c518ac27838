"""`fetch: browser` and `fetch: challenge` with the real Chromium on loopback (tests/site.py's
/js-only/, /js-challenge/ and /js-hang routes): rendered pages, challenges solved once per host,
a browser that hangs or crashes, and the browser that is not there."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crawler.config import HttpSettings
from crawler.errors import Blocked, ConnectionFailed, PathUnavailable, Timeout
from crawler.fetch import Fetcher
from tests.crawler.fetch.conftest import MakeSource, quiet_slots
from tests.proxy import Proxy
from tests.site import Site, js_article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    """A fetcher whose challenges must clear within 5 s."""
    settings = HttpSettings(browser={"challenge_timeout": "5s"})
    async with Fetcher(settings, slots=quiet_slots()) as f:
        yield f


async def test_a_page_rendered_by_script_only(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """The page's text is the DOM after the script ran, kept beside the bytes as received; the
    browser sends the source's User-Agent, Accept-Language and headers."""
    url = site.url("/js-only/a")
    source = make_source(
        url, fetch="browser", accept_language="fr-FR", headers={"X-Test": "browser"}
    )
    page = await fetcher.fetch(url, source)
    assert js_article("a") in page.text and page.charset_rule == "rendered"
    assert js_article("a").encode() not in page.raw.body and b"<script>" in page.raw.body
    assert page.raw.rendered == page.text.encode() and page.status == 200
    seen = site.requests_to("/js-only/a")[0]
    assert seen.header("user-agent") == source.user_agent
    assert (seen.header("accept-language"), seen.header("x-test")) == ("fr-FR", "browser")
    use = fetcher.take_browser_use("test")
    assert (use.pages, dict(use.solves)) == (1, {})


@pytest.mark.parametrize("status", [200, 403])
async def test_a_challenge_is_solved_once_then_fetching_is_plain(
    fetcher: Fetcher, site: Site, make_source: MakeSource, status: int
) -> None:
    """The first plain answer is the challenge; the browser runs it, its cookie goes to the jar,
    and the plain client gets the page; later pages of the host need no browser, until the
    cookie stops working (a new token): then it is solved again."""
    query = "?status=403" if status == 403 else ""
    source = make_source(site.url("/js-challenge/a"), fetch="challenge")
    page = await fetcher.fetch(site.url(f"/js-challenge/a{query}"), source)
    assert "The real statement a" in page.text and page.raw.rendered is None
    plain = [r for r in site.requests_to("/js-challenge/a") if r.header("user-agent")]
    assert plain[0].header("cookie") is None and plain[-1].header("cookie") == "TSjs=t1"
    assert dict(fetcher.take_browser_use("test").solves) == {"127.0.0.1": 1}

    site.clear_requests()
    page = await fetcher.fetch(site.url(f"/js-challenge/b{query}"), source)
    assert "The real statement b" in page.text
    assert len(site.requests_to("/js-challenge/b")) == 1  # one plain request, with the cookie
    assert fetcher.take_browser_use("test").solves.total() == 0

    site.challenge_token = "t2"  # the site no longer takes the cookie
    page = await fetcher.fetch(site.url(f"/js-challenge/c{query}"), source)
    assert "The real statement c" in page.text
    assert dict(fetcher.take_browser_use("test").solves) == {"127.0.0.1": 1}


async def test_a_challenge_that_never_clears_blocks_the_source(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """The script sets no cookie: after `challenge_timeout` the fetch is `Blocked`, saying why."""
    url = site.url("/js-challenge/a?never=1")
    with pytest.raises(Blocked, match="did not clear in the browser within 5 s") as err:
        await fetcher.fetch(url, make_source(url, fetch="challenge"))
    assert err.value.kind == "blocked"


async def test_no_chromium_blocks_the_browser_source_only(
    site: Site, make_source: MakeSource, tmp_path: Path
) -> None:
    """A browser that is not there: a clear, per-source `PathUnavailable`; plain sources go on."""
    missing = tmp_path / "chromium"
    settings = HttpSettings(browser={"executable": str(missing)})
    url = site.url("/js-only/a")
    async with Fetcher(settings, slots=quiet_slots()) as fetcher:
        with pytest.raises(PathUnavailable, match=f"no Chromium at {missing}") as err:
            await fetcher.fetch(url, make_source(url, fetch="browser"))
        assert err.value.kind == "blocked"
        assert (await fetcher.fetch(url, make_source(url))).status == 200
        # A challenge source needs the browser only when a challenge is answered.
        assert (await fetcher.fetch(url, make_source(url, fetch="challenge"))).status == 200
        challenged = site.url("/js-challenge/a")
        with pytest.raises(PathUnavailable, match="http.browser.executable"):
            await fetcher.fetch(challenged, make_source(challenged, fetch="challenge"))


async def test_a_hanging_page_fails_alone(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """A script that never ends: that page times out (not retried); the next page loads."""
    hang = site.url("/js-hang")
    source = make_source(hang, fetch="browser", limits={"timeout": "3s"})
    with pytest.raises(Timeout, match="did not load in the browser within 3 s"):
        await fetcher.fetch(hang, source)
    assert len(site.requests_to("/js-hang")) == 1
    page = await fetcher.fetch(site.url("/js-only/b"), source)
    assert js_article("b") in page.text


async def test_a_browser_that_crashes_is_restarted(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """The browser killed while a page loads: that page fails, the next one gets a new browser."""
    slow = site.url("/slow-headers/4")
    source = make_source(slow, fetch="browser", politeness={"retries": 0})
    await fetcher.fetch(site.url("/js-only/warm"), source)  # the browser runs
    assert fetcher.browser.launches == 1
    loading = asyncio.ensure_future(fetcher.fetch(slow, source))
    for _ in range(200):  # until the site sees the browser's request (at most 10 s)
        if site.requests_to("/slow-headers/4"):
            break
        await asyncio.sleep(0.05)
    pids = fetcher.browser.pids()
    assert pids
    os.kill(pids[0], signal.SIGKILL)  # the browser's main process, which this test started
    with pytest.raises(ConnectionFailed, match="browser"):
        await loading
    page = await fetcher.fetch(site.url("/js-only/after"), source)
    assert js_article("after") in page.text and fetcher.browser.launches == 2


async def test_a_browser_over_its_memory_ceiling_is_restarted_between_pages(
    site: Site, make_source: MakeSource
) -> None:
    """Past `memory_mb` (128 MB here, less than any Chromium with a page), the browser is
    restarted before the next page, which loads as usual."""
    settings = HttpSettings(browser={"memory_mb": 128})
    source = make_source(site.url("/js-only/a"), fetch="browser")
    async with Fetcher(settings, slots=quiet_slots()) as fetcher:
        await fetcher.fetch(site.url("/js-only/a"), source)
        assert fetcher.browser.launches == 1
        page = await fetcher.fetch(site.url("/js-only/b"), source)
        assert js_article("b") in page.text and fetcher.browser.launches == 2


async def test_the_browser_goes_through_the_proxy_and_keeps_the_address_rule(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """A public source behind a proxy: the browser loads its page through the proxy, and a
    script of that page naming 127.0.0.1 is refused (never requested)."""
    secret = site.url("/internal/secret")
    site.add(
        "/public.html",
        f"<html><body><p>public page</p><script src='{secret}'></script></body></html>",
    )
    with Proxy(hosts={"ministry.example": ("127.0.0.1", site.port)}) as proxy:
        url = f"http://ministry.example:{site.port}/public.html"
        source = make_source(url, fetch="browser", proxy=proxy.url("http"))
        page = await fetcher.fetch(url, source)
        assert "public page" in page.text
        assert url in {r.target for r in proxy.carried()}
    assert site.requests_to("/internal/secret") == []


async def test_a_socks_proxy_with_credentials_is_refused_for_the_browser(
    fetcher: Fetcher, site: Site, make_source: MakeSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chromium cannot log in to a SOCKS proxy: said plainly (the source is blocked), before any
    browser starts."""
    monkeypatch.setenv("TEST_PROXY_USER", "u")
    monkeypatch.setenv("TEST_PROXY_PASSWORD", "p")
    url = site.url("/js-only/a")
    source = make_source(
        url,
        fetch="browser",
        proxy="socks5://${TEST_PROXY_USER}:${TEST_PROXY_PASSWORD}@127.0.0.1:1080",
        politeness={"respect_robots": False},
    )
    with pytest.raises(PathUnavailable, match="no SOCKS authentication"):
        await fetcher.fetch(url, source)
    assert fetcher.browser.launches == 0 and site.requests == []


async def test_an_idle_browser_is_stopped_and_started_again_when_needed(
    site: Site, make_source: MakeSource
) -> None:
    """No page for `idle_stop`: the browser's processes end (its memory is freed); the next page
    starts a new one."""
    settings = HttpSettings(browser={"idle_stop": "1s"})
    source = make_source(site.url("/js-only/a"), fetch="browser")
    async with Fetcher(settings, slots=quiet_slots()) as fetcher:
        await fetcher.fetch(site.url("/js-only/a"), source)
        assert fetcher.browser.pids()
        for _ in range(100):  # at most 10 s for the idle stop to happen
            if not fetcher.browser.pids():
                break
            await asyncio.sleep(0.1)
        assert fetcher.browser.pids() == []
        page = await fetcher.fetch(site.url("/js-only/b"), source)
        assert js_article("b") in page.text and fetcher.browser.launches == 2
