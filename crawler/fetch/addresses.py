"""Address classes of hosts, and the rule of which classes a source may reach.

The rule (`AddressPolicy`, applied by the client to every fetch a source makes: listing pages,
pagination, feeds, robots.txt, article pages and every redirect hop):

- a source may reach public addresses, plus the classes of its own listing hosts: a source on a
  public host reaches public addresses only; a source on loopback (tests, a local mirror) also
  loopback, and nothing else private; a source on a LAN host also private and loopback ones;
- link-local (169.254.0.0/16, fe80::/10: cloud metadata services) and unspecified addresses
  (0.0.0.0, ::) are never reached unless a listing itself sits there;
- `politeness.allow_private_redirects: true` lets a redirect hop reach any class.

Two checks apply it, both before a byte is sent:

1. the URL's host judged from its text alone (`host_class`, no DNS): an IP literal (also the
   legacy numeric forms `127.1`, `2130706433`, `0x7f.1` that the resolver maps onto an address)
   by its address, `localhost` / `*.localhost` as loopback, a name without a dot and `*.local`,
   `*.internal`, `*.lan`, `*.home.arpa` as private, any other name as public;
2. the address actually connected to: the connection layer (pinning.py) resolves the name once,
   keeps only the addresses the policy allows, and connects to one of those; the HTTP client
   never resolves the name a second time.

Through a proxy (`HTTP_PROXY`), the proxy resolves and connects: only check 1 applies.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from dataclasses import dataclass
from enum import StrEnum

_PRIVATE_SUFFIXES = (".local", ".internal", ".lan", ".home.arpa", ".intranet")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressClass(StrEnum):
    """Where an address lives."""

    PUBLIC = "public"
    PRIVATE = "private"
    LOOPBACK = "loopback"
    LINK_LOCAL = "link-local"
    UNSPECIFIED = "unspecified"


def ip_class(ip: IPAddress) -> AddressClass:
    """The class of one IP address (IPv4-mapped IPv6 is judged as its IPv4 address)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return AddressClass.UNSPECIFIED
    if ip.is_loopback:
        return AddressClass.LOOPBACK
    if ip.is_link_local:
        return AddressClass.LINK_LOCAL
    if ip.is_global:
        return AddressClass.PUBLIC
    return AddressClass.PRIVATE  # RFC 1918, ULA, CGNAT, reserved...


def parse_ip(host: str) -> IPAddress | None:
    """The address a URL host names literally (with legacy IPv4 forms such as `127.1`), or None."""
    name = host.strip("[]").rstrip(".").split("%")[0]
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    # inet_aton accepts what getaddrinfo would map onto an address without DNS: 127.1,
    # 2130706433, 0x7f.0.0.1, 0177.0.0.1.
    if name and all(c in "0123456789abcdefxABCDEFX." for c in name) and name[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


@functools.lru_cache(maxsize=4096)
def host_class(host: str) -> AddressClass:
    """The class of a URL host judged from its text alone (no DNS)."""
    ip = parse_ip(host)
    if ip is not None:
        return ip_class(ip)
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return AddressClass.LOOPBACK
    if "." not in name or name.endswith(_PRIVATE_SUFFIXES):
        return AddressClass.PRIVATE
    return AddressClass.PUBLIC


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """The address classes one fetch may reach; `None` means any (a permitted private redirect)."""

    allowed: frozenset[AddressClass] | None

    @classmethod
    def for_hosts(cls, hosts: tuple[str, ...]) -> AddressPolicy:
        """The policy of a source whose listings are on `hosts`: public plus their classes."""
        return _for_hosts(tuple(sorted(hosts)))

    @property
    def unrestricted(self) -> bool:
        """Whether every class is allowed (no check at all)."""
        return self.allowed is None

    def allows(self, cls: AddressClass) -> bool:
        """Whether an address of class `cls` may be reached."""
        return self.allowed is None or cls in self.allowed

    def refusal(self, host: str, ip: IPAddress | None = None) -> str | None:
        """Why `host` (resolved to `ip`, or judged by its text) may not be reached; None if it may."""
        cls = host_class(host) if ip is None else ip_class(ip)
        if self.allows(cls):
            return None
        at = "" if ip is None or str(ip) == host.strip("[]") else f" (resolves to {ip})"
        return f"{host}{at} is a {cls.value} address, which this source may not reach"

    def describe(self) -> str:
        """The allowed classes, for messages."""
        if self.allowed is None:
            return "any address"
        return ", ".join(sorted(c.value for c in self.allowed))


ANY = AddressPolicy(None)


@functools.lru_cache(maxsize=256)
def _for_hosts(hosts: tuple[str, ...]) -> AddressPolicy:
    allowed = {AddressClass.PUBLIC, *(host_class(h) for h in hosts)}
    if AddressClass.PRIVATE in allowed:  # a LAN name may well resolve to this very machine
        allowed.add(AddressClass.LOOPBACK)
    return AddressPolicy(frozenset(allowed))
