"""Address classes of hosts, for refusing redirects from a public site into a private network.

The rule (applied by the client to every redirect): when the URL we were asked to fetch names a
*public* host, a redirect whose target is loopback, private, link-local or otherwise non-global is
refused, unless the source sets `politeness.allow_private_redirects: true`.

- The requested URL's class is decided from the URL alone, without DNS: an IP literal by its
  address, `localhost` / `*.localhost` as loopback, `*.local`, `*.internal`, `*.lan`,
  `*.home.arpa` as private, any other name as public. The operator wrote that URL; a loopback or
  LAN source may redirect within its own network.
- The redirect target's class is from the URL, and for a name that looks public also from what it
  resolves to (every address must be global). A name that does not resolve keeps its name class;
  the request will then fail to connect anyway.

Known limit: the target is resolved once here and again by the HTTP client (no DNS pinning).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from enum import StrEnum

RESOLVE_TIMEOUT = 2.0
_PRIVATE_SUFFIXES = (".local", ".internal", ".lan", ".home.arpa", ".intranet")


class AddressClass(StrEnum):
    """Where an address lives."""

    PUBLIC = "public"
    PRIVATE = "private"
    LOOPBACK = "loopback"
    LINK_LOCAL = "link-local"


def ip_class(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> AddressClass:
    """The class of one IP address (IPv4-mapped IPv6 is judged as its IPv4 address)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return AddressClass.LOOPBACK
    if ip.is_link_local:
        return AddressClass.LINK_LOCAL
    if ip.is_global:
        return AddressClass.PUBLIC
    return AddressClass.PRIVATE  # RFC 1918, ULA, CGNAT, unspecified, reserved...


def host_class(host: str) -> AddressClass:
    """The class of a URL host judged from its text alone (no DNS)."""
    name = host.strip("[]").rstrip(".").lower()
    try:
        return ip_class(ipaddress.ip_address(name))
    except ValueError:
        pass
    if name == "localhost" or name.endswith(".localhost"):
        return AddressClass.LOOPBACK
    if "." not in name or name.endswith(_PRIVATE_SUFFIXES):
        return AddressClass.PRIVATE
    return AddressClass.PUBLIC


async def resolved_class(host: str, port: int | None = None) -> AddressClass:
    """The least public class among what `host` resolves to (its name class if it does not)."""
    by_name = host_class(host)
    if by_name is not AddressClass.PUBLIC:
        return by_name
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
        return ip_class(ip)
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        return by_name
    classes = {ip_class(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos}
    for worst in (AddressClass.LOOPBACK, AddressClass.LINK_LOCAL, AddressClass.PRIVATE):
        if worst in classes:
            return worst
    return AddressClass.PUBLIC
