"""A source's proxy: its URL as configured (credentials as `${NAME}`), made usable and shown safely.

`proxy:` takes an http, https or socks5 URL (crawler.config checks its form). Credentials never
sit in the file: the user and password parts are `${NAME}` references, read from the environment
when the fetcher first needs the proxy (`expand`). Everything shown (`display`, error reasons
through `redact`) carries the references or `***`, never a value.

The address rule (addresses.py) behind a proxy: the proxy resolves and connects, so only the
URL's host is judged (from its text); the proxy's own address is the operator's choice and may be
anything, loopback included. The browser (browser.py) is given the same proxy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from crawler.config import ENV_REF


class ProxyCredentialsMissing(ValueError):
    """A `${NAME}` of a proxy URL is not set in the environment."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """A proxy ready for use: `url` with credentials filled in (secret), and what may be shown."""

    url: str
    display: str
    scheme: str
    server: str  # scheme://host:port, without credentials
    username: str | None
    password: str | None

    def redact(self, text: str) -> str:
        """`text` with the credentials (as given and percent-encoded) replaced by `***`."""
        for secret in (self.password, self.username):
            if secret:
                text = text.replace(quote(secret, safe=""), "***").replace(secret, "***")
        return text


def enable_socks() -> None:
    """Make httpx's SOCKS support real (crawler.fetch defers socksio's import; see there), with
    the pool of crawler.fetch.socks, which closes the proxy connection of a failed handshake."""
    import httpcore

    from crawler.fetch.socks import SOCKSProxy

    httpcore.AsyncSOCKSProxy = SOCKSProxy  # type: ignore[misc]


def display(template: str) -> str:
    """The proxy URL as configured, which holds `${NAME}` references, never values."""
    return template


def expand(template: str, env: Mapping[str, str] | None = None) -> Proxy:
    """The proxy of `template`, its `${NAME}` credentials read from `env` (default: os.environ).

    Raises `ProxyCredentialsMissing` naming the variable that is not set (never a value).
    """
    environ = os.environ if env is None else env
    parts = urlsplit(template)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    server = f"{parts.scheme.lower()}://{host}:{parts.port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    values: list[str] = []
    for ref in userinfo.split(":", 1) if userinfo else ():
        m = ENV_REF.match(ref)
        name = m.group(1) if m else ""
        value = environ.get(name)
        if value is None:
            raise ProxyCredentialsMissing(
                f"the proxy {template} needs the environment variable {name}, which is not set"
            )
        values.append(value)
    username = values[0] if values else None
    password = values[1] if len(values) > 1 else None
    netloc = f"{host}:{parts.port}"
    if username is not None:
        auth = quote(username, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        netloc = f"{auth}@{netloc}"
    url = urlunsplit((parts.scheme.lower(), netloc, "", "", ""))
    return Proxy(url, display(template), parts.scheme.lower(), server, username, password)
