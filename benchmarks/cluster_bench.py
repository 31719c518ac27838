"""Cluster mode benchmark: nodes (`mfawatch run` processes) on one PostgreSQL, on the synthetic site.

Scenarios, each into a fresh PostgreSQL schema (or SQLite file) with `parse: {workers: 0}` so
that a node is one process:
  pg1      cold crawl of every source by one node on PostgreSQL
  pg2      the same by two nodes at once (the ratio pg2/pg1 is the point: target >= 1.4x)
  sqlite1  the same by one daemon on SQLite (the ratio pg1/sqlite1: target >= 0.85x)
  overhead scheduling overhead per job through the engine: a no-op task deferred once per slot
           and run by a procrastinate worker in this process (ms of this process's CPU per job;
           PostgreSQL's own CPU is not counted)
  death    a node killed with SIGKILL mid-crawl: seconds from the kill to the start of the run
           that takes its poll over on the other node (with the given --heartbeat/--stalled-after)

A crawl is timed from the start of the node processes to the moment the last article is stored
(the database is polled every 0.2 s), so node start-up is included, as in any daemon start.
Each crawl reports the CPU seconds of its nodes (`cpu_s`), of the PostgreSQL server processes
that served them (`pg_cpu_s`: the backends named by the nodes' application_name, read from
/proc, so only for a server on this machine) and of the synthetic site's server (`site_cpu_s`):
on a 2-core machine the three share the cores.

    python benchmarks/cluster_bench.py             # 20 sources x 500 articles; death with defaults
    python benchmarks/cluster_bench.py --smoke     # 4 x 30, fast heartbeats (CI)
    python benchmarks/cluster_bench.py --crawls    # pg1, pg2 and sqlite1 only (A/B runs)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from crawl_bench import free_port, program_env  # noqa: E402
from synthetic_site import SiteServer, SiteSpec, config_yaml, generate  # noqa: E402

PG_URL = os.environ.get("MFAWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def bench_config(base_url: str, spec: SiteSpec, *, slow: bool = False) -> str:
    """The synthetic site's config: no parse workers, polled once at start (every 1h, no jitter)."""
    text = config_yaml(base_url, spec).replace("parse: {workers: 1}", "parse: {workers: 0}")
    text = re.sub(r"(\n    timezone: [^\n]+)", r"\1\n    schedule: {every: 1h, jitter: 0s}", text)
    if slow:  # one request at a time, 0.3 s apart: a crawl long enough to kill mid-way
        text = re.sub(
            r"politeness: \{concurrency_per_host: \d+,",
            "politeness: {concurrency_per_host: 1, min_delay: 0.3s,",
            text,
        )
    return text


class Schema:
    """A fresh PostgreSQL schema (dropped on exit) and its URL."""

    def __init__(self) -> None:
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(PG_URL)
        sep = "&" if "?" in PG_URL else "?"
        self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.name}"

    def __enter__(self) -> Schema:
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.name}"'))
        return self

    def __exit__(self, *exc: object) -> None:
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


def count(url: str, sql: str) -> int:
    engine = sa.create_engine(url) if "://" in url else sa.create_engine(f"sqlite:///{url}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar() or 0)
    except sa.exc.DBAPIError:
        return 0
    finally:
        engine.dispose()


def wait(predicate: object, what: str, timeout: float = 600) -> None:
    """Poll `predicate` every 0.1 s; give up (SystemExit) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"cluster_bench: timed out waiting for {what}")
        time.sleep(0.1)


APP_NAME = f"cluster-bench-{os.getpid()}"  # the nodes' application_name: their backends


def node(config: Path, db: str, *args: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "mfawatch", "--config", str(config), "--db", db, "run", *args]
    return subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=program_env(PYTHONWARNINGS="ignore", PGAPPNAME=APP_NAME),
    )


def cpu_seconds(pid: int) -> float:
    import psutil

    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:  # gone (a backend that closed), or another user's
        return 0.0
    return float(t.user + t.system)


class Backends:
    """The CPU seconds of the PostgreSQL backends serving the nodes, read on each `sample`.

    A backend that closes between two samples loses what it used since the last one (at most
    0.2 s of a crawl's pool connections, which stay open).
    """

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url) if url.startswith("postgresql") else None
        self.cpu: dict[int, float] = {}

    def sample(self) -> None:
        if self.engine is None:
            return
        with self.engine.connect() as conn:
            pids = conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"),
                {"a": APP_NAME},
            ).scalars()
            for pid in pids:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu_seconds(pid))

    def close(self) -> float:
        self.sample()
        if self.engine is not None:
            self.engine.dispose()
        return sum(self.cpu.values())


def crawl(
    config: Path, db: str, total: int, nodes: list[list[str]], site_pid: int
) -> dict[str, float]:
    """Start the nodes, wait until `total` articles are stored; wall time and the CPU of the
    nodes, of their PostgreSQL backends and of the site's server."""
    os.sync()
    backends = Backends(db)
    site0 = cpu_seconds(site_pid)
    t0 = time.perf_counter()
    procs = [node(config, db, *args) for args in nodes]
    try:
        deadline = time.monotonic() + 3600
        while count(db, "SELECT count(*) FROM articles") < total:
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a node exited early: {[p.returncode for p in procs]}")
            if time.monotonic() > deadline:
                raise SystemExit("cluster_bench: the crawl did not finish within an hour")
            backends.sample()
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        cpu = sum(cpu_seconds(p.pid) for p in procs)
        pg_cpu = backends.close()
        site_cpu = cpu_seconds(site_pid) - site0
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(20)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "pg_cpu_s": round(pg_cpu, 2),
        "site_cpu_s": round(site_cpu, 2),
        "articles_s": round(total / wall, 1),
    }


async def _overhead(url: str, jobs: int) -> dict[str, float]:
    import logging

    import procrastinate
    from procrastinate import worker

    from mfawatch.cluster_node import conninfo

    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))
    done = 0

    async def noop(timestamp: int, source: str) -> None:
        nonlocal done
        done += 1

    task = app.task(name="bench.noop")(noop)
    async with app.open_async():
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(jobs):
            job = task.configure(
                lock=f"source:s{i % 20}",
                queueing_lock=f"poll:{i}",
                task_kwargs={"timestamp": i, "source": f"s{i % 20}"},
            ).job
            await app.job_manager.defer_periodic_job(job, periodic_id=f"s{i}", defer_timestamp=i)
        c1, w1 = time.process_time(), time.perf_counter()
        w = worker.Worker(
            app, concurrency=1, wait=False, install_signal_handlers=False, delete_jobs="successful"
        )
        await w.run()
        c2, w2 = time.process_time(), time.perf_counter()
    assert done == jobs, done
    return {
        "defer_cpu_ms": round((c1 - c0) * 1000 / jobs, 3),
        "run_cpu_ms": round((c2 - c1) * 1000 / jobs, 3),
        "defer_wall_ms": round((w1 - w0) * 1000 / jobs, 3),
        "run_wall_ms": round((w2 - w1) * 1000 / jobs, 3),
    }


def overhead(jobs: int) -> dict[str, float]:
    with Schema() as schema:
        from storage.engine import open_db

        open_db(schema.url).dispose()  # the schema, the queue's tables with it
        return asyncio.run(_overhead(schema.url, jobs))


def death(config: Path, total: int, heartbeat: float, stalled: float) -> dict[str, float]:
    """Seconds from SIGKILL of the crawling node to the other node's run of the same source."""
    fast = ["--heartbeat", str(heartbeat), "--stalled-after", str(stalled)]
    with Schema() as schema:
        first = node(config, schema.url, "--name", "first", *fast)
        try:
            articles = "SELECT count(*) FROM articles"
            wait(lambda: count(schema.url, articles) >= 1, "the first node's crawl")
            second = node(config, schema.url, "--name", "second", *fast)
            joined = "SELECT count(*) FROM cluster_nodes WHERE name = 'second'"
            wait(lambda: count(schema.url, joined) >= 1, "the second node")
            first.kill()
            killed = time.time()
            first.wait(10)
            if count(schema.url, articles) >= total:
                raise SystemExit(
                    "cluster_bench: the crawl ended before the kill; use more articles"
                )
            took_over = "SELECT count(*) FROM runs WHERE node = 'second'"
            wait(lambda: count(schema.url, took_over) >= 1, "the take-over", stalled * 3 + 60)
            engine = sa.create_engine(schema.url)
            with engine.connect() as conn:
                started = conn.execute(
                    sa.text("SELECT min(started_at) FROM runs WHERE node = 'second'")
                ).scalar()
            engine.dispose()
            second.send_signal(signal.SIGTERM)
            second.wait(20)
        finally:
            for p in (first,):
                if p.poll() is None:
                    p.kill()
    return {
        "heartbeat_s": heartbeat,
        "stalled_after_s": stalled,
        "bound_s": stalled + 2 * heartbeat,
        "death_to_restart_s": round(started.timestamp() - killed, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--smoke", action="store_true", help="small sizes, fast heartbeats (CI)")
    ap.add_argument("--sources", type=int, default=20)
    ap.add_argument("--articles", type=int, default=500)
    ap.add_argument("--crawls", action="store_true", help="pg1, pg2 and sqlite1 only")
    args = ap.parse_args()
    spec = SiteSpec(4, 30) if args.smoke else SiteSpec(args.sources, args.articles)
    jobs = str(spec.sources)
    half = str((spec.sources + 1) // 2)
    results: dict[str, object] = {"sources": spec.sources, "articles": spec.total}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        generate(root, spec)
        with SiteServer(root, free_port()) as server:
            config = Path(tmp) / "bench.yaml"
            config.write_text(bench_config(server.base_url, spec), encoding="utf-8")
            assert server.proc is not None
            site = server.proc.pid
            with Schema() as schema:
                results["pg1"] = crawl(config, schema.url, spec.total, [["--jobs", jobs]], site)
            with Schema() as schema:
                two = [["--name", "a", "--jobs", half], ["--name", "b", "--jobs", half]]
                results["pg2"] = crawl(config, schema.url, spec.total, two, site)
            sqlite = str(Path(tmp) / "one.sqlite3")
            results["sqlite1"] = crawl(config, sqlite, spec.total, [[]], site)
            if not args.crawls:
                slow = Path(tmp) / "slow.yaml"
                slow_spec = SiteSpec(1, spec.articles)
                slow.write_text(
                    bench_config(server.base_url, slow_spec, slow=True), encoding="utf-8"
                )
                hb, stalled = (0.5, 2.0) if args.smoke else (10.0, 30.0)
                results["death"] = death(slow, slow_spec.total, hb, stalled)
    if not args.crawls:
        results["overhead"] = overhead(50 if args.smoke else 1000)
    pg1, pg2, lite = results["pg1"], results["pg2"], results["sqlite1"]
    assert isinstance(pg1, dict) and isinstance(pg2, dict) and isinstance(lite, dict)
    results["two_nodes_over_one"] = round(pg2["articles_s"] / pg1["articles_s"], 2)
    results["pg_over_sqlite"] = round(pg1["articles_s"] / lite["articles_s"], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
