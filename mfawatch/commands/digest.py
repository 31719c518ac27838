"""`mfawatch digest`: what is new, changed, removed since my last review (`serve` is in serve.py)."""

from __future__ import annotations

import sys
from typing import Any

import click

from digest.alerts import AlertRule, AlertRuleError, rules_from
from digest.formats import FORMATS, STREAMING, render, stream
from digest.report import ReportFilterError, build_report, stream_report
from digest.window import (
    DEFAULT_CURSOR,
    CursorNameError,
    SinceError,
    check_name,
    parse_until,
    resolve_since,
    set_cursor,
)
from mfawatch.app import App
from mfawatch.exits import handle_errors
from mfawatch.filters import check_filters, known_sources
from mfawatch.terminal import color_choice, echo

KINDS = ("new", "changed", "removed", "restored", "returned", "moved")


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
@click.option(
    "--silent",
    is_flag=True,
    help="Only silent edits: text changed while the page's date and update markers did not.",
)
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
    silent: bool = False,
) -> None:
    name = check_name(name)
    rules = alert_rules(app)
    window: dict[str, Any] = {
        "sources": sources or None,
        "countries": countries or None,
        "kinds": kinds or None,
        "query": query,
        "silent": silent,
        "alerts": rules,
        "cursor": name,
    }
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
        window["until"] = end
        if fmt in STREAMING:  # written as read: memory stays flat however big the window
            streamed = stream_report(session, since=start, **window)
            report = streamed.head
            last = ""
            for piece in stream(report, streamed.items, fmt, color=color_choice()):
                if piece:
                    sys.stdout.write(piece)
                    last = piece
            if not last.endswith("\n"):
                sys.stdout.write("\n")
        else:
            report = build_report(session, since=start, **window)
    if fmt not in STREAMING:
        text = render(report, fmt, color=color_choice())
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if mark_reviewed:
        with app.db.session() as session:
            set_cursor(session, report.until, name)
        echo(
            f"review cursor {name!r} moved to {report.until.isoformat(timespec='seconds')}",
            err=True,
        )
