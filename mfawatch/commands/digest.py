"""`mfawatch digest` (what is new, changed, removed since my last review) and `mfawatch serve`."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
from typing import Any

import click

from digest.alerts import AlertRule, AlertRuleError, rules_from
from digest.cursors import DEFAULT_CURSOR, CursorNameError, check_name, resolve_since, set_cursor
from digest.formats import FORMATS, render
from digest.report import ReportFilterError, build_report
from digest.since import SinceError, parse_until
from mfawatch.app import App
from mfawatch.cli import EXIT_USAGE, handle_errors
from mfawatch.filters import check_filters, known_sources
from mfawatch.terminal import echo

KINDS = ("new", "changed", "removed", "restored")


def alert_rules(app: App) -> tuple[AlertRule, ...]:
    """The watchlist rules of the config file; none (said on stderr) when it cannot be read."""
    settings = app.optional_settings(without="without watchlist alerts")
    return rules_from(settings.alerts) if settings is not None else ()


@click.command("digest")
@click.option(
    "--since", metavar="24h|2d|ISO", help="Window start [default: my review cursor, else 24h ago]."
)
@click.option(
    "--until",
    metavar="24h|2d|ISO",
    help="Window end, in --since's syntax (a date is its midnight UTC) [default: now].",
)
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True
)
@click.option(
    "--mark-reviewed", is_flag=True, help="Move my review cursor to now after showing the digest."
)
@click.option(
    "--as",
    "name",
    default=DEFAULT_CURSOR,
    show_default=True,
    metavar="NAME",
    help="Whose review cursor.",
)
@click.option(
    "--source", "sources", multiple=True, metavar="KEY", help="Only this source (repeatable)."
)
@click.option(
    "--country", "countries", multiple=True, metavar="CC", help="Only this country (repeatable)."
)
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Only this kind (repeatable)."
)
@click.option("--query", metavar="TEXT", help="Only items whose title or body contains TEXT.")
@click.pass_obj
@handle_errors
def digest_command(app: App, **options: Any) -> None:
    """New, changed, removed and restored releases since my last review, by country and source."""
    try:
        _digest(app, **options)
    except (CursorNameError, SinceError, ReportFilterError, AlertRuleError) as exc:
        raise click.UsageError(str(exc)) from None


def _digest(
    app: App,
    *,
    since: str | None,
    until: str | None,
    fmt: str,
    mark_reviewed: bool,
    name: str,
    sources: tuple[str, ...],
    countries: tuple[str, ...],
    kinds: tuple[str, ...],
    query: str | None,
) -> None:
    name = check_name(name)
    rules = alert_rules(app)
    with app.db.session(readonly=True) as session:
        check_filters(
            known_sources(app.optional_settings(without="without it"), session),
            sources=sources,
            countries=countries,
        )
        start = resolve_since(session, since, cursor=name)
        end = parse_until(until) if until else None
        if end is not None and end <= start:
            raise click.BadParameter(
                f"{until!r} ({end:%Y-%m-%d %H:%M} UTC) is not after the window start "
                f"({start:%Y-%m-%d %H:%M} UTC)",
                param_hint="'--until'",
            )
        report = build_report(
            session,
            since=start,
            until=end,
            sources=sources or None,
            countries=countries or None,
            kinds=kinds or None,
            query=query,
            alerts=rules,
            cursor=name,
        )
    text = render(report, fmt)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if mark_reviewed:
        with app.db.session() as session:
            set_cursor(session, report.until, name)
        echo(
            f"review cursor {name!r} moved to {report.until.isoformat(timespec='seconds')}",
            err=True,
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (in use, no such address, not allowed), or None.

    It binds and listens as uvicorn will (with SO_REUSEADDR) and closes the socket at once, so a busy port
    is said before "review UI on ..." and before the web app is built.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        return f"cannot resolve the address ({exc})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)  # Linux may accept the bind and refuse only here
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "the port is already in use by another program; pick another --port"
            return f"{exc.strerror or exc} (pick another --host or --port)"
    return None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.pass_obj
@handle_errors
def serve(app: App, host: str, port: int) -> None:
    """The review web UI. Any --host other than loopback requires MFAWATCH_TOKEN."""
    import uvicorn

    from digest.web import create_app

    token = os.environ.get("MFAWATCH_TOKEN") or None
    if not _is_loopback(host) and not token:
        echo(
            f"mfawatch: serving on {host} exposes the review UI beyond this machine; "
            "set MFAWATCH_TOKEN to a secret first (every request must then carry it)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    problem = port_problem(host, port)
    if problem is not None:
        echo(f"mfawatch: cannot serve the review UI on {host}:{port}: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    web = create_app(app.db, token=token, alerts=alert_rules(app))
    echo(f"mfawatch: review UI on http://{host}:{port}/", err=True)
    uvicorn.run(web, host=host, port=port, log_config=None, access_log=False)
