"""Connecting only to addresses a source may reach: the name is resolved once, and pinned.

Both transports of the client resolve a host name in one place and connect to what that gave:

- aiohttp: `PinnedResolver` (in transport.py, which owns the aiohttp side) is the connector's
  resolver; it resolves through aiohttp's default
  resolver and hands back only the addresses the policy allows, so aiohttp connects to one of
  those (aiohttp never resolves an IP literal: the client checks those from the URL's text);
- httpx's own (httpcore): `PinnedBackend` wraps the network backend; it resolves the name, keeps
  the allowed addresses, and asks the wrapped backend to connect to an address, not to the name
  (TLS still verifies and sends the name: httpcore passes it apart, as `server_hostname`).

When no address is allowed, both raise `Refused`, which is neither an `OSError` nor an HTTP
library error, so it reaches the client unchanged, before any byte was sent to that host.
Proxy transports are not wrapped: their connections go to the proxy the operator configured.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore

from crawler.fetch.addresses import AddressPolicy, parse_ip


class Refused(Exception):
    """No address of the host is one the policy allows; `reason` says which and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def allowed_addresses(
    policy: AddressPolicy, host: str, addresses: Iterable[str]
) -> tuple[list[str], str | None]:
    """The addresses `policy` allows, and the refusal of the first one it does not."""
    keep: list[str] = []
    refusal = None
    for address in addresses:
        why = policy.refusal(host, ipaddress.ip_address(address.split("%")[0]))
        if why is None:
            keep.append(address)
        elif refusal is None:
            refusal = why
    return keep, refusal


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that connects only to the allowed addresses of a host, resolved once."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, policy: AddressPolicy) -> None:
        self._inner = inner
        self.policy = policy

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve `host`, keep what the policy allows, connect to the first that answers."""
        literal = parse_ip(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                async with asyncio.timeout(timeout):
                    infos = await asyncio.get_running_loop().getaddrinfo(
                        host, port, type=socket.SOCK_STREAM
                    )
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
            except OSError as exc:
                raise httpcore.ConnectError(f"{exc.strerror or exc} ({host})") from None
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        keep, refusal = allowed_addresses(self.policy, host, addresses)
        if not keep:
            raise Refused(refusal or f"{host} resolves to no address")
        error: Exception | None = None
        for address in keep:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Unix sockets are the operator's own (`uds`): passed through."""
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        """As the wrapped backend sleeps."""
        await self._inner.sleep(seconds)
