"""httpx's transport API over aiohttp: httpx-aiohttp's transport with a lighter request path.

`http.transport: aiohttp` (the default) keeps httpx's client and models and sends through
aiohttp, whose connection pool costs far less CPU per request than httpx's own. httpx-aiohttp's
transport spends about as much again around each aiohttp call as the call itself; this subclass
of it changes only that path, and keeps its set-up (connector, TLS context, proxies, limits),
its error mapping and its closing:

- one `aiohttp.ClientTimeout` per distinct timeout, not one per request;
- the headers handed over as plain (name, value) pairs, not as an `httpx.Headers` that aiohttp
  reads back through its decoding accessors;
- the body streamed in the pieces aiohttp has (`iter_any`), not re-cut into 16 KB reads, each
  through an exception-mapping context manager.

Kept because the library's per-request path costs the event loop, the crawl's busiest core, a
measurable share of its work per page (docs/benchmarks.md).

Its direct transport resolves through `PinnedResolver`, so it connects only to addresses the
client's `AddressPolicy` allows (see pinning.py); proxy transports connect to the proxy.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from httpx_aiohttp import HttpxAiohttpClient
from httpx_aiohttp.transport import AiohttpTransport, map_aiohttp_exceptions

from crawler.fetch.addresses import ANY, AddressPolicy
from crawler.fetch.pinning import Refused, allowed_addresses


class PinnedResolver(AbstractResolver):
    """aiohttp's default resolver, answering only the addresses `policy` allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The allowed addresses of `host`; `Refused` when there is none."""
        results = await self._inner.resolve(host, port, family)
        keep, refusal = allowed_addresses(self.policy, host, (r["host"] for r in results))
        if not keep:
            raise Refused(refusal or f"{host} resolves to no address")
        return [r for r in results if r["host"] in keep]

    async def close(self) -> None:
        """Release the wrapped resolver."""
        await self._inner.close()


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    """httpx-aiohttp's exception mapping, plus what it lets through.

    `ClientResponseError` (an answer aiohttp cannot parse as HTTP: another protocol, a header line
    over 8 KB, too many headers) becomes `httpx.RemoteProtocolError`, the aiohttp error as cause.
    """
    try:
        with map_aiohttp_exceptions():
            yield
    except aiohttp.ClientError as exc:
        raise httpx.RemoteProtocolError(str(exc)) from exc


class _Body(httpx.AsyncByteStream):
    """A response body as aiohttp receives it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        with _mapped():
            await self._response.__aexit__(None, None, None)


class LeanAiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport with the per-request work cut (see the module docstring)."""

    def __init__(self, *args: Any, policy: AddressPolicy = ANY, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def get_client(self) -> aiohttp.ClientSession:
        """The library's session, with the pinned resolver on a direct transport's connector."""
        if self.proxy is not None or self.uds or self.policy.unrestricted or self.client:
            return super().get_client()
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            local_addr=(self.local_address, 0) if self.local_address else None,
            resolver=PinnedResolver(self.policy),
            limit=self.limits.max_connections or 0,  # 0: no limit, as httpx's None
        )
        return aiohttp.ClientSession(connector=connector)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` through the shared aiohttp session; the body is read by the caller."""
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        try:
            has_body = bool(request.content)
        except httpx.RequestNotRead:  # a streamed body
            has_body = True
        if has_body:  # our GETs have none; anything else takes the library's own path
            return await super().handle_async_request(request)
        timeout = request.extensions.get("timeout", {})
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        client_timeout = self._timeouts.get(key)
        if client_timeout is None:
            client_timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                sock_connect=key[0], sock_read=key[1], connect=key[2]
            )
        proxy = self.proxy
        with _mapped():
            response = await self.client.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=client_timeout,
                server_hostname=request.extensions.get("sni_hostname"),
                proxy=str(proxy.url) if proxy else None,
                proxy_auth=aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
                proxy_headers=proxy.headers if proxy else None,
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=extensions,
        )


class LeanAiohttpClient(HttpxAiohttpClient):
    """An `httpx.AsyncClient` whose transports (direct and for each proxy) are the lean one.

    httpx builds them through these two hooks, with its own settings as keywords (verify, cert,
    trust_env, http1, http2, limits), which the transport takes as httpx-aiohttp's does. The
    direct transport connects only where `policy` allows.
    """

    def __init__(self, *, policy: AddressPolicy = ANY, **kwargs: Any) -> None:
        self._policy = policy
        super().__init__(**kwargs)

    def _init_transport(  # type: ignore[override]
        self, transport: httpx.AsyncBaseTransport | None = None, **settings: Any
    ) -> httpx.AsyncBaseTransport:
        if transport is not None:
            return transport
        return LeanAiohttpTransport(policy=self._policy, **settings)

    def _init_proxy_transport(  # type: ignore[override]
        self, proxy: httpx.Proxy, **settings: Any
    ) -> httpx.AsyncBaseTransport:
        return LeanAiohttpTransport(proxy=proxy, **settings)
