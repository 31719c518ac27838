"""Per-source network paths: `proxy:` (http, socks5; credentials from the environment),
`headers:`, `cookies:`, `accept_language:`, through a real proxy on loopback that records what
passed through it (tests/proxy.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Literal

import pytest

from crawler.config import HttpSettings
from crawler.errors import AddressRefused, PathUnavailable
from crawler.fetch import Fetcher
from tests.crawler.fetch.conftest import MakeSource, quiet_slots
from tests.proxy import Proxy
from tests.site import Site

PUBLIC = "ministry.example"  # a "public" host that only the proxy knows (it maps it to the site)


@pytest.fixture
def proxy(site: Site) -> Iterator[Proxy]:
    """A proxy that resolves ministry.example to the loopback site."""
    with Proxy(hosts={PUBLIC: ("127.0.0.1", site.port)}) as p:
        yield p


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_http_proxy_carries_the_source_with_its_headers_and_cookies(
    site: Site, proxy: Proxy, make_source: MakeSource, transport: Literal["httpx", "aiohttp"]
) -> None:
    """A public source behind `proxy: http://...` is fetched through it, robots.txt included, with
    its User-Agent, Accept-Language, extra headers and cookies; the site sees them too."""
    site.add("/news.html", "<html><body><p>via proxy</p></body></html>")
    url = f"http://{PUBLIC}:{site.port}/news.html"
    source = make_source(
        url,
        proxy=proxy.url("http"),
        accept_language="ru-RU,ru;q=0.9",
        headers={"Referer": f"http://{PUBLIC}/", "X-Requested-With": "mfawatch-test"},
        cookies={"consent": "yes"},
    )
    async with Fetcher(HttpSettings(transport=transport), slots=quiet_slots()) as fetcher:
        page = await fetcher.fetch(url, source)
    assert page.status == 200 and "via proxy" in page.text
    carried = {r.target: r for r in proxy.carried()}
    assert set(carried) == {url, f"http://{PUBLIC}:{site.port}/robots.txt"}
    headers = carried[url].headers
    assert headers["user-agent"] == source.user_agent
    assert headers["accept-language"] == "ru-RU,ru;q=0.9"
    assert headers["referer"] == f"http://{PUBLIC}/"
    assert headers["x-requested-with"] == "mfawatch-test"
    assert headers["cookie"] == "consent=yes"
    seen = site.requests_to("/news.html")[0]
    assert seen.header("accept-language") == "ru-RU,ru;q=0.9" and seen.host.startswith(PUBLIC)


async def test_socks5_proxy_with_credentials_from_the_environment(
    site: Site, make_source: MakeSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`socks5h://${U}:${P}@...` reads the credentials from the environment; the proxy resolves
    the public name; the password appears in no error either."""
    monkeypatch.setenv("TEST_PROXY_USER", "watcher")
    monkeypatch.setenv("TEST_PROXY_PASSWORD", "s3cr;et@pass")
    site.add("/ru.html", "<html><body><p>Москва</p></body></html>")
    url = f"http://{PUBLIC}:{site.port}/ru.html"
    with Proxy(auth=("watcher", "s3cr;et@pass"), hosts={PUBLIC: ("127.0.0.1", site.port)}) as p:
        source = make_source(
            url,
            proxy=p.url("socks5h", "${TEST_PROXY_USER}:${TEST_PROXY_PASSWORD}"),
            politeness={"respect_robots": False},
        )
        async with Fetcher(HttpSettings(), slots=quiet_slots()) as fetcher:
            page = await fetcher.fetch(url, source)
        assert "Москва" in page.text
        assert [(r.kind, r.target, r.user) for r in p.carried()] == [
            ("socks5", f"{PUBLIC}:{site.port}", "watcher")
        ]


async def test_socks5_wrong_credentials_block_the_source_and_stay_secret(
    site: Site, make_source: MakeSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wrong credentials: the proxy refuses; the message names the proxy as configured (with its
    `${NAME}` references), never the password."""
    monkeypatch.setenv("TEST_PROXY_USER", "watcher")
    monkeypatch.setenv("TEST_PROXY_PASSWORD", "wrong-s3cret")
    url = f"http://{PUBLIC}:{site.port}/ru.html"
    with Proxy(auth=("watcher", "right"), hosts={PUBLIC: ("127.0.0.1", site.port)}) as p:
        source = make_source(
            url,
            proxy=p.url("socks5", "${TEST_PROXY_USER}:${TEST_PROXY_PASSWORD}"),
            politeness={"respect_robots": False},
        )
        async with Fetcher(HttpSettings(), slots=quiet_slots()) as fetcher:
            with pytest.raises(PathUnavailable) as err:
                await fetcher.fetch(url, source)
        assert p.carried() == [] and p.records[0].refused == "wrong credentials"
    message = str(err.value)
    assert "${TEST_PROXY_USER}" in message and "did not carry the request" in message
    assert "wrong-s3cret" not in message and err.value.kind == "blocked"


async def test_http_proxy_authentication(
    site: Site, make_source: MakeSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An http proxy's credentials go as Proxy-Authorization, to the proxy only (never the site)."""
    monkeypatch.setenv("TEST_PROXY_USER", "watcher")
    monkeypatch.setenv("TEST_PROXY_PASSWORD", "pa:ss")
    site.add("/a.html", "<html><body><p>ok</p></body></html>")
    url = site.url("/a.html")
    with Proxy(auth=("watcher", "pa:ss")) as p:
        source = make_source(
            url,
            proxy=p.url("http", "${TEST_PROXY_USER}:${TEST_PROXY_PASSWORD}"),
            politeness={"respect_robots": False},
        )
        async with Fetcher(HttpSettings(), slots=quiet_slots()) as fetcher:
            assert (await fetcher.fetch(url, source)).status == 200
        assert [(r.kind, r.user) for r in p.carried()] == [("http", "watcher")]
    assert site.requests_to("/a.html")[0].header("proxy-authorization") is None


async def test_missing_credentials_variable_is_named_and_nothing_is_sent(
    site: Site, proxy: Proxy, make_source: MakeSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `${NAME}` not set in the environment: the source is blocked with the variable's name."""
    monkeypatch.delenv("TEST_PROXY_NOT_SET", raising=False)
    url = site.url("/etag")
    source = make_source(url, proxy=proxy.url("http", "${TEST_PROXY_NOT_SET}"))
    async with Fetcher(HttpSettings(), slots=quiet_slots()) as fetcher:
        with pytest.raises(PathUnavailable, match="TEST_PROXY_NOT_SET, which is not set"):
            await fetcher.fetch(url, source)
    assert proxy.records == [] and site.requests == []


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_a_proxy_that_refuses_blocks_only_its_source(
    site: Site, make_source: MakeSource, scheme: str, refused_port: int
) -> None:
    """A proxy whose port refuses connections: `PathUnavailable` (health `blocked`), not retried;
    a source without a proxy, fetched by the same fetcher, is unaffected."""
    url = site.url("/etag")
    dead = make_source(url, proxy=f"{scheme}://127.0.0.1:{refused_port}")
    plain = make_source(url)
    async with Fetcher(HttpSettings(), slots=quiet_slots()) as fetcher:
        with pytest.raises(PathUnavailable, match="did not carry the request") as err:
            await fetcher.fetch(url, dead)
        assert err.value.permanent and err.value.kind == "blocked"
        assert (await fetcher.fetch(url, plain)).status == 200


async def test_a_proxy_that_denies_blocks_the_source(site: Site, make_source: MakeSource) -> None:
    """A SOCKS5 proxy refusing the connection by its rules: the source is blocked with why."""
    url = site.url("/etag")
    with Proxy(deny=True) as p:
        source = make_source(url, proxy=p.url("socks5"), politeness={"respect_robots": False})
        async with Fetcher(HttpSettings(), slots=quiet_slots()) as fetcher:
            with pytest.raises(PathUnavailable, match="did not carry the request"):
                await fetcher.fetch(url, source)
    assert site.requests == []


async def test_public_source_behind_a_proxy_still_may_not_name_loopback(
    site: Site, proxy: Proxy, make_source: MakeSource
) -> None:
    """Behind a proxy only the URL's host is judged (the proxy resolves): a public source's link
    to 127.0.0.1 is refused before the proxy is asked."""
    source = make_source(f"http://{PUBLIC}/news.html", proxy=proxy.url("http"))
    async with Fetcher(HttpSettings(), slots=quiet_slots()) as fetcher:
        with pytest.raises(AddressRefused, match="loopback"):
            await fetcher.fetch(site.url("/internal/secret"), source)
    assert proxy.records == [] and site.requests == []


async def test_cookies_go_to_the_source_hosts_only(site: Site, make_source: MakeSource) -> None:
    """`cookies:` are sent to the source's hosts and not elsewhere (localhost here)."""
    site.add("/c.html", "<html><body><p>c</p></body></html>")
    source = make_source(
        site.url("/c.html"), cookies={"consent": "yes"}, politeness={"respect_robots": False}
    )
    async with Fetcher(HttpSettings(), slots=quiet_slots()) as fetcher:
        await fetcher.fetch(site.url("/c.html"), source)
        await fetcher.fetch(f"http://localhost:{site.port}/c.html", source)
    sent = [r.header("cookie") for r in site.requests_to("/c.html")]
    assert sent == ["consent=yes", None]


def test_socks_support_is_loaded_only_for_a_socks_proxy() -> None:
    """A fresh process importing the fetcher does not load socksio; a SOCKS proxy's client
    makes httpcore's SOCKS support real (not its "not installed" stub), through our pool that
    closes the connection of a failed handshake (crawler.fetch.socks)."""
    code = (
        "import sys, crawler.fetch, httpcore\n"
        "assert 'socksio' not in sys.modules, 'socksio imported at start-up'\n"
        "assert httpcore.AsyncSOCKSProxy.__module__ != 'httpcore._async.socks_proxy'\n"
        "from crawler.fetch.proxies import enable_socks\n"
        "enable_socks()\n"
        "from httpcore._async.socks_proxy import AsyncSOCKSProxy\n"
        "assert issubclass(httpcore.AsyncSOCKSProxy, AsyncSOCKSProxy)\n"
        "assert httpcore.AsyncSOCKSProxy.__module__ == 'crawler.fetch.socks'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
