"""`mfawatch status`: per source its health, last run, result, counts, last error and next run.

Where each value comes from:
- last run, result, counts, last error, health: the database (`storage.queries.source_status`),
  written by every crawl and by the daemon after each poll;
- next run: computed from the source's schedule in the config file and its last run (an interval
  source is due one `every` after its last run started, a cron source at its next fire time;
  jitter may add up to `jitter`). It is shown only while a daemon is running — for a SQLite
  database that is known from the daemon's lock file (`<dbfile>.lock` holds its PID); for
  PostgreSQL it cannot be known locally and the computed time is shown;
- a last run still marked `running` while no daemon holds the lock was interrupted (killed).

On PostgreSQL (cluster mode) the report adds the cluster: its nodes (name, host, pid, version,
tags, started, last heartbeat, jobs running; `alive`, `stopped`, or `lost` when its heartbeat is
older than `LIVE_WINDOW`), the job queue (waiting, running, failed, oldest waiting), and per
source the node that ran it last and, for a source pinned with `nodes:`, whether a live node
carries one of its tags (`served`; `false` is shown as a warning: nothing will fetch it).

If the config file is missing or invalid, status says so on stderr and shows what the database
knows.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from crawler.config import Source
from crawler.schedule import describe, next_run_after
from mfawatch.app import App
from mfawatch.exits import handle_errors
from mfawatch.lock import holder_pid, sqlite_file
from mfawatch.settings.models import Settings
from mfawatch.terminal import echo, echo_json, one_line
from storage import cluster
from storage.queries import SourceStatus, source_status

LIVE_WINDOW = timedelta(seconds=30)  # the default --stalled-after of a node


@dataclass(frozen=True)
class DaemonState:
    """Whether a daemon runs on this database: True/False, or None when it cannot be known."""

    running: bool | None
    pid: int | None = None


def daemon_state(db_url: str) -> DaemonState:
    """The daemon state of a database, from its lock file (SQLite only)."""
    db_file = sqlite_file(db_url)
    if db_file is None:
        return DaemonState(None)
    pid = holder_pid(db_file)
    return DaemonState(pid is not None, pid)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def source_report(
    key: str,
    stored: SourceStatus | None,
    configured: Source | None,
    daemon: DaemonState,
    now: datetime,
) -> dict[str, Any]:
    """One source's status as a JSON-ready dict (the shape `--format json` prints)."""
    result = stored.last_run_status if stored else None
    if result == "running" and daemon.running is False:
        result = "interrupted"
    next_run: datetime | None = None
    if configured is not None and configured.enabled and daemon.running is not False:
        started = stored.last_run_started_at if stored else None
        next_run = next_run_after(
            configured.schedule, configured.timezone, last_started=started, now=now
        )
        if next_run is None and daemon.running:
            next_run = now  # never polled yet: the daemon polls it as soon as it can
    quiet = stored is not None and stored.health == "quiet"
    last_run = None
    if stored is not None and stored.last_run_started_at is not None:
        last_run = {
            "started_at": _iso(stored.last_run_started_at),
            "finished_at": _iso(stored.last_run_finished_at),
            "result": result,
            "counts": stored.last_run_counts,
        }
    return {
        "key": key,
        "name": configured.name if configured else (stored.name if stored else None),
        "in_config": configured is not None,
        "enabled": bool(configured and configured.enabled),
        "schedule": describe(configured.schedule) if configured else None,
        "health": stored.health if stored else "ok",
        "health_since": _iso(stored.health_since) if stored else None,
        "consecutive_failures": stored.consecutive_failures if stored else 0,
        "last_run": last_run,
        "next_run": _iso(next_run),
        "articles": stored.articles if stored else 0,
        # A quiet source's stored "error" is the rhythm's reason (storage.rhythm), not an error.
        "last_error": stored.last_error if stored and not quiet else None,
        "quiet_reason": stored.last_error if stored and quiet else None,
    }


def build_report(
    settings: Settings | None, stored: list[SourceStatus], daemon: DaemonState, now: datetime
) -> list[dict[str, Any]]:
    """Every configured source (in file order), then sources known only to the database."""
    by_key = {s.source: s for s in stored}
    configured = list(settings.sources) if settings else []
    out = [source_report(s.key, by_key.get(s.key), s, daemon, now) for s in configured]
    keys = {s.key for s in configured}
    out += [source_report(k, v, None, daemon, now) for k, v in by_key.items() if k not in keys]
    return out


def node_state(node: cluster.NodeInfo, now: datetime) -> str:
    """`alive`, `stopped` (left cleanly) or `lost` (its heartbeat stopped)."""
    if node.stopped_at is not None:
        return "stopped"
    return "alive" if node.alive(now, LIVE_WINDOW) else "lost"


def cluster_report(
    session: Any, sources: list[dict[str, Any]], settings: Settings | None, now: datetime
) -> dict[str, Any] | None:
    """The cluster part of the report (None on SQLite); adds `last_node`, `node_tags` and
    `served` to each source dict."""
    stats = cluster.queue_stats(session)
    if stats is None:
        return None
    nodes = cluster.list_nodes(session)
    last = cluster.last_nodes(session)
    live_tags = {t for n in nodes if node_state(n, now) == "alive" for t in n.tags}
    configured = {s.key: s for s in settings.sources} if settings else {}
    for src in sources:
        conf = configured.get(src["key"])
        tags = list(conf.nodes) if conf else []
        src["last_node"] = last.get(src["key"])
        src["node_tags"] = tags
        src["served"] = (bool(live_tags & set(tags)) if tags else None) if src["enabled"] else None
    return {
        "nodes": [
            {
                "name": n.name,
                "host": n.host,
                "pid": n.pid,
                "version": n.version,
                "tags": list(n.tags),
                "state": node_state(n, now),
                "started_at": _iso(n.started_at),
                "last_heartbeat": _iso(n.heartbeat_at),
                "jobs_running": n.jobs_running if n.stopped_at is None else 0,
            }
            for n in nodes
        ],
        "queue": {
            "waiting": stats.waiting,
            "running": stats.running,
            "failed": stats.failed,
            "oldest_waiting": _iso(stats.oldest_waiting),
        },
    }


def _ago(when: str | None, now: datetime) -> str:
    if when is None:
        return "-"
    at = datetime.fromisoformat(when)
    seconds = int((now - at).total_seconds())
    span = _span(abs(seconds))
    stamp = at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} ({span} ago)" if seconds >= 0 else f"{stamp} (in {span})"


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render_text(report: dict[str, Any], now: datetime) -> str:
    """The report as lines for a terminal."""
    daemon = report["daemon"]
    cluster_part = report.get("cluster")
    if cluster_part is not None:
        alive = sum(n["state"] == "alive" for n in cluster_part["nodes"])
        state = f"cluster of {alive} live node(s) (PostgreSQL)"
    elif daemon["running"] is None:
        state = "unknown (not a SQLite database)"
    elif daemon["running"]:
        state = f"running (pid {daemon['pid']})"
    else:
        state = "not running"
    lines = [f"daemon: {state}", f"config: {report['config']}"]
    lines += _cluster_lines(report.get("cluster"), now)
    for src in report["sources"]:
        flags = [] if src["enabled"] else ["disabled"]
        if not src["in_config"]:
            flags = ["not in config"]
        title = f"{src['key']}" + (f" [{', '.join(flags)}]" if flags else "")
        lines.append("")
        lines.append(f"{title}  health: {src['health']}")
        if src["schedule"]:
            lines.append(f"  schedule:  {src['schedule']}")
        run = src["last_run"]
        if run:
            counts = ", ".join(f"{k} {v}" for k, v in run["counts"].items() if v) or "-"
            lines.append(f"  last run:  {_ago(run['started_at'], now)}: {run['result']}")
            lines.append(f"  counts:    {counts}")
        else:
            lines.append("  last run:  never")
        if src.get("last_node"):
            lines.append(f"  last node: {one_line(src['last_node'])}")
        if src.get("served") is False:
            tags = ", ".join(src["node_tags"])
            lines.append(f"  WARNING:   no live node carries its tag ({tags}): nothing fetches it")
        if src["next_run"]:
            due = datetime.fromisoformat(src["next_run"]) <= now
            lines.append("  next run:  " + ("due now" if due else _ago(src["next_run"], now)))
        lines.append(f"  articles:  {src['articles']}")
        if src["health"] != "ok" and src["health_since"]:
            lines.append(f"  {src['health']} since {_ago(src['health_since'], now)}")
        if src["quiet_reason"]:
            lines.append(f"  quiet:     {one_line(src['quiet_reason'])}")
        if src["last_error"]:
            lines.append(f"  last error: {one_line(src['last_error'])}")
    return "\n".join(lines)


def _cluster_lines(part: dict[str, Any] | None, now: datetime) -> list[str]:
    if part is None:
        return []
    queue = part["queue"]
    oldest = _ago(queue["oldest_waiting"], now) if queue["oldest_waiting"] else "-"
    lines = [
        f"queue: {queue['waiting']} waiting, {queue['running']} running,"
        f" {queue['failed']} failed; oldest waiting: {oldest}",
        f"nodes: {sum(n['state'] == 'alive' for n in part['nodes'])} alive",
    ]
    for n in part["nodes"]:
        tags = ", ".join(n["tags"]) or "-"
        lines.append(
            f"  {one_line(n['name'])}: {n['state']}, {one_line(n['host'])} pid {n['pid']},"
            f" version {one_line(n['version'])}, tags {one_line(tags)},"
            f" {n['jobs_running']} job(s) running, started {_ago(n['started_at'], now)},"
            f" last heartbeat {_ago(n['last_heartbeat'], now)}"
        )
    return lines


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts (one object: daemon, config, sources).",
)
@click.pass_obj
@handle_errors
def status(app: App, fmt: str) -> None:
    """Per source: health, last run and result, counts, last error, next run."""
    settings = app.optional_settings(without="with what the database knows")
    now = datetime.now(UTC)
    daemon = daemon_state(app.db_url)
    with app.db.session(readonly=True) as session:
        stored = source_status(session)
        sources = build_report(settings, stored, daemon, now)
        cluster_part = cluster_report(session, sources, settings, now)
    report = {
        "generated_at": _iso(now),
        "config": str(app.config_path),
        "daemon": {"running": daemon.running, "pid": daemon.pid},
        "cluster": cluster_part,
        "sources": sources,
    }
    if fmt == "json":
        echo_json(report)
    else:
        echo(render_text(report, now))
    sys.stdout.flush()
