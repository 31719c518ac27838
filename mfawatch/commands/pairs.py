"""`mfawatch pairs`: readout pairs (two ministries' readouts of one event) and language twins,
and their review: confirm, reject, pair by hand, recompute.

A decision is stored with the pair and sticks: recomputation (`pairs backfill`) never proposes a
rejected pair again nor drops a confirmed one. `backfill` reads every stored article again with
the current officials table (after editing it, or for articles stored before pairing existed);
a crawl pairs what it stores by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from digest.pairs import json_list, markdown_lines, text_lines
from digest.window import SinceError, parse_since
from mfawatch.app import App
from mfawatch.exits import handle_errors
from mfawatch.terminal import echo, echo_json
from storage.readouts import store
from storage.readouts.officials import Officials
from storage.readouts.store import PairStatus, Relation

if TYPE_CHECKING:  # imported by the commands that run it (start-up cost)
    from storage.readouts.update import PairingResult

PAIR_ID = click.IntRange(1, 2**63 - 1)


@click.group(invoke_without_command=True)
@click.option(
    "--since",
    metavar="24h|2d|ISO",
    default="7d",
    show_default=True,
    help="Pairs found since then (same syntax as digest --since).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "json"]),
    default="text",
    show_default=True,
    help="Plain text, Markdown, or JSON (a list of pairs).",
)
@click.option(
    "--relation",
    type=click.Choice([r.value for r in Relation]),
    help="Only readout pairs or only language twins (default: both).",
)
@click.option("--rejected", is_flag=True, help="Also list the pairs a person rejected.")
@click.pass_context
@handle_errors
def pairs(ctx: click.Context, since: str, fmt: str, relation: str | None, rejected: bool) -> None:
    """Both sides of one event: readout pairs across ministries and language twins; review them."""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    try:
        start = parse_since(since)
    except SinceError as exc:
        raise click.UsageError(str(exc)) from None
    statuses = tuple(PairStatus) if rejected else (PairStatus.FOUND, PairStatus.CONFIRMED)
    with app.db.session(readonly=True) as session:
        found = store.list_pairs(
            session,
            Relation(relation) if relation else None,
            since=start,
            statuses=statuses,
        )
    if fmt == "json":
        echo_json(json_list(found))
        return
    lines = markdown_lines(found) if fmt == "md" else text_lines(found)
    heading = f"{len(found)} pair(s) found since {start:%Y-%m-%d %H:%M} UTC"
    echo("\n".join([f"## {heading}" if fmt == "md" else heading, "", *lines]).rstrip())


def _decide(app: App, pair_id: int, status: PairStatus) -> None:
    with app.db.session() as session:
        store.decide(session, pair_id, status, datetime.now(UTC))
    echo(f"pair {pair_id}: {status.value}")


@pairs.command()
@click.argument("pair_id", type=PAIR_ID, metavar="ID")
@click.pass_obj
@handle_errors
def confirm(app: App, pair_id: int) -> None:
    """Confirm pair ID: it stays, whatever the rule finds later."""
    _decide(app, pair_id, PairStatus.CONFIRMED)


@pairs.command()
@click.argument("pair_id", type=PAIR_ID, metavar="ID")
@click.pass_obj
@handle_errors
def reject(app: App, pair_id: int) -> None:
    """Reject pair ID: it is not shown, and never proposed again."""
    _decide(app, pair_id, PairStatus.REJECTED)


@pairs.command()
@click.argument("first", type=PAIR_ID, metavar="ARTICLE")
@click.argument("second", type=PAIR_ID, metavar="ARTICLE")
@click.option("--twin", is_flag=True, help="The two are one release in two languages.")
@click.pass_obj
@handle_errors
def add(app: App, first: int, second: int, twin: bool) -> None:
    """Pair two articles (by id) the rule did not pair; the pair is confirmed."""
    relation = Relation.TWIN if twin else Relation.READOUT
    with app.db.session() as session:
        pair_id = store.pair_by_hand(session, relation, first, second, datetime.now(UTC))
    echo(f"pair {pair_id}: {relation.value} of articles {first} and {second}, confirmed")


@pairs.command()
@click.pass_obj
@handle_errors
def update(app: App) -> None:
    """Pair every stored article not paired yet (a crawl pairs at most 500 after it)."""
    from storage.readouts.update import pair_new

    _run_pairing(app, pair_new)


def _officials(app: App) -> Officials:
    officials = app.officials(app.settings)
    if officials is None:
        raise click.UsageError(
            f"no officials table beside {app.config_path}: create officials.yaml there "
            "(see config/officials.yaml) or set `officials:` in the config"
        )
    return officials


@pairs.command()
@click.pass_obj
@handle_errors
def backfill(app: App) -> None:
    """Pair every stored article again with the current officials table (decisions kept)."""
    from storage.readouts.update import recompute

    _run_pairing(app, recompute)


def _run_pairing(app: App, run: Callable[..., PairingResult]) -> None:
    """Run a pairing pass (`pair_new` or `recompute`) over the database and say what it found."""
    settings = app.settings
    result = run(app.db, _officials(app), datetime.now(UTC), twins=settings.twins())
    echo(
        f"{result.articles} article(s) read, {result.readouts} readout(s), "
        f"{result.pairs} pair(s) found, {result.twins} twin pair(s) found"
    )
