"""`mfawatch serve`: the review web UI, wired to this installation.

This is the composition root of the UI: it gives `digest.web` the URL canonicalizer of the
crawler (so a pasted URL finds its article), the background crawls behind the "check now"
buttons, the host names to answer, and the token.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
from typing import TYPE_CHECKING

import click

from crawler.errors import ConfigError
from mfawatch.app import App
from mfawatch.exits import EXIT_USAGE, handle_errors
from mfawatch.terminal import echo

if TYPE_CHECKING:
    from starlette.applications import Starlette

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def served_hosts(host: str, extra: tuple[str, ...]) -> tuple[str, ...]:
    """The host names the UI answers besides loopback: the bound host (for a wildcard address,
    this machine's names) and the `--allow-host` names."""
    names = [host.strip("[]")] if host not in WILDCARD_HOSTS else []
    if host in WILDCARD_HOSTS:
        names += [socket.gethostname(), socket.getfqdn()]
    return tuple(dict.fromkeys(n.lower() for n in [*names, *extra] if n))


def port_free(host: str, port: int) -> str | None:
    """None when `host:port` can be bound now, else the reason."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def build_web(
    app: App, host: str, token: str | None, allow_hosts: tuple[str, ...] = ()
) -> Starlette:
    """The review UI's ASGI app for this installation (what `serve` runs)."""
    from crawler.urls import canonical_url
    from digest.web import create_app
    from mfawatch.checknow import BackgroundChecks
    from mfawatch.commands.digest import alert_rules
    from mfawatch.metrics import Metrics, monitoring_routes
    from mfawatch.pairing import read_officials

    checker = BackgroundChecks(app) if app.config_path.exists() else None
    web = create_app(
        app.db,
        token=token,
        alerts=alert_rules(app),
        hosts=served_hosts(host, allow_hosts),
        canonicalize=canonical_url,
        checker=checker,
        officials=read_officials(
            app.config_path, app.optional_settings(without="without watchlist alerts")
        ),
        extra_routes=monitoring_routes(Metrics(app.db)),
        node_tags=_node_tags(app),
    )
    web.state.checker = checker
    return web


def _node_tags(app: App) -> dict[str, tuple[str, ...]]:
    """Each configured source's `nodes:` tags (none when the config cannot be read)."""
    if not app.config_path.exists():
        return {}
    try:
        return {s.key: s.nodes for s in app.settings.sources}
    except (ConfigError, OSError):  # the status page then shows what the database knows
        return {}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests for this host name (e.g. behind a proxy); repeatable.",
)
@click.pass_obj
@handle_errors
def serve(app: App, host: str, port: int, allow_hosts: tuple[str, ...]) -> None:
    """The review web UI. Any --host other than loopback requires MFAWATCH_TOKEN."""
    import uvicorn

    token = os.environ.get("MFAWATCH_TOKEN") or None
    if not is_loopback(host) and not token:
        echo(
            f"mfawatch: serving on {host} exposes the review UI beyond this machine; "
            "set MFAWATCH_TOKEN to a secret first (every request must then carry it)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    busy = port_free(host, port)
    if busy is not None:
        echo(f"mfawatch: {busy}; choose another with --port", err=True)
        sys.exit(EXIT_USAGE)
    web = build_web(app, host, token, allow_hosts)
    shown = f"[{host}]" if ":" in host else host
    echo(f"mfawatch: review UI on http://{shown}:{port}/", err=True)
    uvicorn.run(web, host=host, port=port, log_config=None, access_log=False)
