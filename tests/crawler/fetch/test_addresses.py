"""The address rule of a source, on every fetch, and pinned on the address actually connected to."""

from __future__ import annotations

from typing import Literal

import httpcore
import httpx
import pytest

from crawler.config import HttpSettings
from crawler.errors import AddressRefused, RedirectError
from crawler.fetch import Fetcher
from crawler.fetch.addresses import AddressClass, AddressPolicy, host_class
from crawler.fetch.client import _PinnedClient
from crawler.fetch.pinning import PinnedBackend, Refused
from crawler.fetch.transport import LeanAiohttpClient, PinnedResolver
from tests.crawler.fetch.conftest import MakeSource, quiet_slots
from tests.site import Site

PUBLIC = AddressPolicy.for_hosts(("ministry.example",))
LOOPBACK_SOURCE = AddressPolicy.for_hosts(("127.0.0.1",))


@pytest.mark.parametrize(
    ("host", "cls"),
    [
        ("www.fmprc.gov.cn", AddressClass.PUBLIC),
        ("8.8.8.8", AddressClass.PUBLIC),
        ("127.0.0.1", AddressClass.LOOPBACK),
        ("127.1", AddressClass.LOOPBACK),  # legacy forms getaddrinfo maps onto 127.0.0.1
        ("2130706433", AddressClass.LOOPBACK),
        ("0x7f.0.0.1", AddressClass.LOOPBACK),
        ("[::1]", AddressClass.LOOPBACK),
        ("[::ffff:127.0.0.1]", AddressClass.LOOPBACK),
        ("localhost", AddressClass.LOOPBACK),
        ("169.254.169.254", AddressClass.LINK_LOCAL),
        ("0.0.0.0", AddressClass.UNSPECIFIED),
        ("[::]", AddressClass.UNSPECIFIED),
        ("10.0.0.5", AddressClass.PRIVATE),
        ("metadata.google.internal", AddressClass.PRIVATE),
        ("intranet", AddressClass.PRIVATE),
    ],
)
def test_host_classes(host: str, cls: AddressClass) -> None:
    """A host's class from its text: IP literals (also legacy numeric IPv4), names by suffix."""
    assert host_class(host) is cls


def test_policies() -> None:
    """A public source reaches public addresses only; a loopback source also loopback, no more."""
    assert PUBLIC.allowed == {AddressClass.PUBLIC}
    assert LOOPBACK_SOURCE.allowed == {AddressClass.PUBLIC, AddressClass.LOOPBACK}
    assert PUBLIC.refusal("www.fmprc.gov.cn") is None
    assert "loopback" in (PUBLIC.refusal("127.0.0.1") or "")
    assert LOOPBACK_SOURCE.refusal("127.0.0.1") is None
    for host in ("10.1.2.3", "169.254.169.254", "0.0.0.0", "db.internal"):
        assert LOOPBACK_SOURCE.refusal(host) is not None, host


# -- the connection layer: one resolution, only allowed addresses -----------------------------


async def test_aiohttp_resolver_answers_only_allowed_addresses() -> None:
    """The aiohttp connector's resolver refuses a name whose every address is not allowed."""
    with pytest.raises(Refused, match="localhost .*loopback"):
        await PinnedResolver(PUBLIC).resolve("localhost", 80)
    answers = await PinnedResolver(LOOPBACK_SOURCE).resolve("localhost", 80)
    assert answers and {a["host"] for a in answers} <= {"127.0.0.1", "::1"}


async def test_httpcore_backend_connects_only_to_allowed_addresses(site: Site) -> None:
    """httpx's own transport resolves once and connects to an allowed address, or refuses."""
    with pytest.raises(Refused, match="loopback"):
        await PinnedBackend(httpcore.AnyIOBackend(), PUBLIC).connect_tcp("localhost", site.port)
    stream = await PinnedBackend(httpcore.AnyIOBackend(), LOOPBACK_SOURCE).connect_tcp(
        "localhost", site.port
    )
    await stream.aclose()


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_clients_refuse_a_name_resolving_to_loopback(
    site: Site, transport: Literal["httpx", "aiohttp"]
) -> None:
    """Below the fetcher's text check, each client's connection layer itself refuses a public-only
    fetch of a name that resolves to loopback, before a byte is sent."""
    client: httpx.AsyncClient = (
        LeanAiohttpClient(policy=PUBLIC) if transport == "aiohttp" else _PinnedClient(policy=PUBLIC)
    )
    async with client:
        with pytest.raises(Refused):
            await client.get(f"http://localhost:{site.port}/internal/secret")
    assert site.requests_to("/internal/secret") == []


# -- the fetcher: every fetch of a source -----------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/internal/secret",
        "http://127.1:{port}/internal/secret",
        "http://[::ffff:127.0.0.1]:{port}/internal/secret",
        "http://localhost:{port}/internal/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{port}/internal/secret",
        "http://10.0.0.1/internal/secret",
    ],
)
@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_public_source_never_fetches_private_addresses(
    site: Site, make_source: MakeSource, transport: Literal["httpx", "aiohttp"], target: str
) -> None:
    """A source on a public host asking for a loopback/link-local/private/unspecified URL gets
    `AddressRefused` (permanent, not retried), and nothing reaches the address."""
    source = make_source("http://ministry.example/list.html")
    url = target.format(port=site.port)
    async with Fetcher(HttpSettings(transport=transport), slots=quiet_slots()) as f:
        with pytest.raises(AddressRefused) as err:
            await f.fetch(url, source)
    assert err.value.permanent and url in str(err.value)
    assert site.requests == []  # not even robots.txt


async def test_loopback_source_reaches_loopback_only(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """A source on loopback (tests, a local mirror) reaches loopback, and nothing else private."""
    source = make_source(site.url("/list.html"))
    page = await fetcher.fetch(site.url("/internal/secret"), source)
    assert page.status == 200
    for url in ("http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(AddressRefused):
            await fetcher.fetch(url, source)


async def test_loopback_source_may_not_redirect_to_private(
    fetcher: Fetcher, site: Site, make_source: MakeSource
) -> None:
    """The rule holds on every redirect hop of a loopback source too."""
    site.redirect("/go", "http://169.254.169.254/latest/meta-data/")
    source = make_source(site.url("/list.html"))
    with pytest.raises(RedirectError, match="link-local"):
        await fetcher.fetch(site.url("/go"), source)
