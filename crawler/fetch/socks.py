"""httpcore's SOCKS pool, with the proxy connection closed when the SOCKS handshake fails.

httpcore 1.0.9 opens a connection to the proxy, then negotiates (greeting, credentials, the
target): when that fails (wrong credentials, a target the proxy cannot reach) it raises and
leaves the open socket to the garbage collector, which may run much later, since the error's
traceback keeps it in a reference cycle. A daemon polling a source with a refused proxy would
hold one more socket for each poll meanwhile. Here each connection remembers the stream it
opened and closes it when its handshake has not made a connection.

Imported only by `proxies.enable_socks` (this module imports socksio through httpcore).
"""

from __future__ import annotations

from typing import Any

from httpcore import AsyncNetworkBackend, AsyncNetworkStream, Origin, Request, Response
from httpcore._async.interfaces import AsyncConnectionInterface
from httpcore._async.socks_proxy import AsyncSocks5Connection, AsyncSOCKSProxy
from httpcore._backends.auto import AutoBackend


class _Remembering(AsyncNetworkBackend):
    """A network backend that keeps the last stream it opened (one connection's backend)."""

    def __init__(self, backend: AsyncNetworkBackend) -> None:
        self._backend = backend
        self.stream: AsyncNetworkStream | None = None

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> AsyncNetworkStream:
        self.stream = await self._backend.connect_tcp(*args, **kwargs)
        return self.stream

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> AsyncNetworkStream:
        self.stream = await self._backend.connect_unix_socket(*args, **kwargs)
        return self.stream

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _Socks5Connection(AsyncSocks5Connection):
    """httpcore's SOCKS5 connection, closing its proxy stream if the handshake fails."""

    def __init__(self, *, network_backend: AsyncNetworkBackend | None, **kwargs: Any) -> None:
        self._opened = _Remembering(network_backend or AutoBackend())
        super().__init__(network_backend=self._opened, **kwargs)

    async def handle_async_request(self, request: Request) -> Response:
        try:
            return await super().handle_async_request(request)
        except BaseException:
            # No HTTP connection was made on the stream (it would own and close it): the
            # handshake failed or was cancelled, and nothing else will close the stream.
            stream, self._opened.stream = self._opened.stream, None
            if self._connection is None and stream is not None:
                await stream.aclose()  # httpcore shields it from cancellation
            raise


class SOCKSProxy(AsyncSOCKSProxy):
    """`httpcore.AsyncSOCKSProxy` whose connections close their stream on a failed handshake."""

    def create_connection(self, origin: Origin) -> AsyncConnectionInterface:
        return _Socks5Connection(
            proxy_origin=self._proxy_url.origin,
            remote_origin=origin,
            proxy_auth=self._proxy_auth,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            network_backend=self._network_backend,
        )
