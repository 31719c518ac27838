"""Helpers for the cluster tests: a PostgreSQL schema of the test's own, node processes, counts.

Every test gets a fresh schema in the shared test database (`tests.pg.pg_schema`: the other
xdist worker and other engineers' tests run on the same server at the same time), reached
through `search_path` in the URL; the schema is dropped at the end. Nodes are real `mfawatch run` processes (`DaemonProcess`) on that URL, with short
heartbeats so that a dead node is noticed within seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.mfawatch.daemon_support import DaemonProcess

FAST = ("--heartbeat", "0.5", "--stalled-after", "2")


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of one SQL query on the test's schema."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def count(url: str, table: str, where: str = "true") -> int:
    """Rows of a table in the test's schema (0 while the schema is not created yet)."""
    try:
        return int(query(url, f"SELECT count(*) FROM {table} WHERE {where}")[0][0])
    except sa.exc.ProgrammingError:
        return 0


def start_node(
    nodes: list[DaemonProcess], config: Path, url: str, *args: str, fast: bool = True
) -> DaemonProcess:
    """Start one node (`mfawatch run` on the PostgreSQL URL) and wait until it has started."""
    node = DaemonProcess(config, url, *((*FAST, *args) if fast else args))  # type: ignore[arg-type]
    nodes.append(node)
    return node.started()


def duplicates(url: str) -> dict[str, int]:
    """What is stored more than once: articles per URL, versions per article (the test pages never
    change, so each article has one), article raw records per article."""
    return {
        "articles": count(url, "(SELECT url FROM articles GROUP BY url HAVING count(*) > 1) d"),
        "versions": count(
            url, "(SELECT article_id FROM versions GROUP BY 1 HAVING count(*) > 1) d"
        ),
        "reverts": count(url, "reverts"),
        "raw": count(
            url,
            "(SELECT article_id FROM responses WHERE article_id IS NOT NULL"
            " GROUP BY 1 HAVING count(*) > 1) d",
        ),
    }
