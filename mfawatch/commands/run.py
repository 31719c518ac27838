"""`mfawatch run`: the daemon, until SIGTERM/SIGINT; SIGHUP (or `--watch-config`) reloads the YAML.

On a SQLite file the daemon holds the file's lock (one daemon per file). On PostgreSQL it is a
node of a cluster (`mfawatch.cluster_node`): `--name` (default host:pid) and `--tag` say who it is
and which tagged sources it may fetch; `--heartbeat` and `--stalled-after` bound how soon a dead
node's work restarts elsewhere.
"""

from __future__ import annotations

import sys

import click

from mfawatch.app import App
from mfawatch.cluster_node import NodeOptions, check_name, check_tags, default_name
from mfawatch.commands.serve import port_free
from mfawatch.daemon import DaemonOptions, run_daemon
from mfawatch.exits import EXIT_OK, EXIT_USAGE, handle_errors
from mfawatch.lock import AlreadyRunning, DaemonLock, sqlite_file
from mfawatch.terminal import echo


@click.command()
@click.option(
    "--watch-config",
    is_flag=True,
    help="Also reload the config when its file changes (checked every few seconds).",
)
@click.option(
    "--config-poll",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="How often --watch-config looks at the file.",
)
@click.option(
    "--name",
    "node_name",
    metavar="NAME",
    help="PostgreSQL only: this node's name in the cluster (default: host:pid).",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="PostgreSQL only: fetch also the sources with `nodes: [TAG]` (repeatable).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=256),
    default=8,
    show_default=True,
    help="PostgreSQL only: jobs (source polls, deliveries) this node runs at once.",
)
@click.option(
    "--heartbeat",
    type=click.FloatRange(min=0.2),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="PostgreSQL only: seconds between two heartbeats of this node.",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=1.0),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="PostgreSQL only: a node silent this long is dead and its jobs go to another node.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(min=1, max=65535),
    metavar="PORT",
    help="Also serve /metrics (Prometheus) and /healthz on this port.",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address for --metrics-port.",
)
@click.pass_obj
@handle_errors
def run(
    app: App,
    watch_config: bool,
    config_poll: float,
    node_name: str | None,
    tags: tuple[str, ...],
    jobs: int,
    heartbeat: float,
    stalled_after: float,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Poll every enabled source on its schedule until SIGTERM/SIGINT; SIGHUP reloads the config."""
    db_file = sqlite_file(app.db_url)
    settings = app.settings
    options = DaemonOptions(
        watch_config=watch_config,
        config_poll=config_poll,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )
    if metrics_port is not None:
        busy = port_free(metrics_host, metrics_port)
        if busy is not None:
            echo(f"mfawatch: run --metrics-port: {busy}; choose another port", err=True)
            sys.exit(EXIT_USAGE)
    if db_file is None and app.db_url.startswith("postgresql"):
        if stalled_after <= heartbeat:
            echo(
                f"mfawatch: run --stalled-after ({stalled_after:g} s) must be longer than"
                f" --heartbeat ({heartbeat:g} s), or live nodes would look dead",
                err=True,
            )
            sys.exit(EXIT_USAGE)
        check_tags(tags, settings.sources, str(app.config_path))
        node = NodeOptions(
            name=check_name(node_name) if node_name is not None else default_name(),
            tags=tuple(dict.fromkeys(tags)),
            jobs=jobs,
            heartbeat=heartbeat,
            stalled_after=stalled_after,
            grace=options.shutdown_grace,
        )
        app.db  # noqa: B018 - open (and migrate) the database before joining the cluster
        run_daemon(app.config_path, settings, app.db, options, node)
        sys.exit(EXIT_OK)
    if node_name or tags:
        echo(
            "mfawatch: run --name/--tag are for several nodes on one PostgreSQL database;"
            f" {app.db_url} is a single-node database (pass --db postgresql://...)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    lock = DaemonLock(db_file) if db_file is not None else None
    try:
        if lock is not None:
            lock.acquire()
    except AlreadyRunning as exc:
        echo(f"mfawatch: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        run_daemon(app.config_path, settings, app.db, options)
    finally:
        if lock is not None:
            lock.release()
    sys.exit(EXIT_OK)
