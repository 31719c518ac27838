"""`mfawatch serve` as wired by mfawatch: "check now" really crawls the source in the background,
a pasted URL is found by its canonical form, and a busy port is a clear exit 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from selectolax.lexbor import LexborHTMLParser

from crawler.config import Source
from crawler.context import SourceResult
from digest.web import create_app
from mfawatch.app import App
from mfawatch.checknow import BackgroundChecks, crawl_one
from mfawatch.commands.serve import build_web
from storage import queries
from tests.crawler.test_pipeline import EN_ARTICLES, write_config
from tests.site import Site

BASE = "http://127.0.0.1:8080"


def _csrf(html: str, action: str) -> str:
    form = LexborHTMLParser(html).css_first(f"form[action='{action}']")
    assert form is not None, action
    node = form.css_first("input[name=csrf]")
    assert node is not None
    return str(node.attributes["value"])


async def test_check_now_crawls_that_source_once_at_a_time(tmp_path: Path, site: Site) -> None:
    """The button starts a real crawl of that one source; a second press while it runs says so;
    the page then shows the result, and the articles are stored."""
    app = App(write_config(tmp_path, site), db_option=str(tmp_path / "db.sqlite3"))
    gate = threading.Event()

    def gated(a: App, source: Source) -> SourceResult:
        gate.wait(60)  # hold the crawl until the second press has been answered
        return crawl_one(a, source)

    checks = BackgroundChecks(app, crawl=gated)
    web = create_app(app.db, checker=checks)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE) as c:
        page = (await c.get("/")).text
        tree = LexborHTMLParser(page)
        assert tree.css_first("tr#check-fixture-en button") is not None
        token = _csrf(page, "/check/fixture-en")
        assert (await c.post("/check/fixture-en", data={})).status_code == 403
        r = await c.post("/check/fixture-en", data={"csrf": token})
        assert r.status_code == 303 and "check=started" in r.headers["location"]
        shown = await c.get(r.headers["location"])
        assert "crawl of fixture-en started" in shown.text
        assert "crawl running since" in shown.text
        again = await c.post("/check/fixture-en", data={"csrf": token})
        assert "check=running" in again.headers["location"]
        assert "already running" in (await c.get(again.headers["location"])).text
        assert (await c.post("/check/nope", data={"csrf": token})).status_code == 404
        gate.set()
        state = checks.wait("fixture-en", 120)
        assert state is not None and not state.running and state.ok, state
        done = await c.get("/")
        cell = LexborHTMLParser(done.text).css_first("tr#check-fixture-en td.checkstate")
        assert cell is not None and cell.text().startswith("ok at")
        assert f"{EN_ARTICLES} new" in cell.text()
    with app.db.session() as s:
        assert len(list(queries.iter_articles(s, source="fixture-en"))) == EN_ARTICLES
        assert list(queries.iter_articles(s, source="fixture-zh")) == []
    app.close()


async def test_serve_wiring_finds_a_pasted_url_and_crawls_for_real(
    tmp_path: Path, site: Site
) -> None:
    """build_web (what `serve` runs) passes the crawler's canonicalizer and a real checker."""
    app = App(write_config(tmp_path, site), db_option=str(tmp_path / "db.sqlite3"))
    web = build_web(app, "127.0.0.1", None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE) as c:
        token = _csrf((await c.get("/")).text, "/check/fixture-zh")
        r = await c.post("/check/fixture-zh", data={"csrf": token})
        assert r.status_code == 303
        state = web.state.checker.wait("fixture-zh", 120)
        assert state is not None and state.ok, state
        with app.db.session() as s:
            stored = next(iter(queries.iter_articles(s, source="fixture-zh")))
        pasted = stored.url.replace("http://", "HTTP://", 1) + "?utm_source=x#top"
        r = await c.get("/", params={"q": pasted})
        assert r.status_code == 303 and r.headers["location"] == f"/article/{stored.id}"
    app.close()


def test_serve_on_a_busy_port_exits_2(tmp_path: Path) -> None:
    """A port already taken is said plainly, exit 2, before anything is served."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
        run = subprocess.run(
            [sys.executable, "-m", "mfawatch", "--db", str(tmp_path / "db.sqlite3"),
             "--config", str(tmp_path / "none.yaml"), "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in run.stderr
    assert "review UI on" not in run.stderr and "Traceback" not in run.stderr


async def test_the_web_ui_serves_healthz_open_and_metrics_behind_the_token(
    tmp_path: Path, site: Site
) -> None:
    """`/healthz` answers without the token (a load balancer has none); `/metrics` is Prometheus
    text with the database's figures, and needs the token like any page."""
    app = App(write_config(tmp_path, site), db_option=str(tmp_path / "db.sqlite3"))
    web = build_web(app, "0.0.0.0", "s3cret")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE) as c:
        health = await c.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert (await c.get("/metrics")).status_code == 401
        scrape = await c.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "mfawatch_database_up 1.0" in scrape.text
        assert "# TYPE mfawatch_source_health gauge" in scrape.text
    app.close()


async def test_the_status_page_lists_each_source_with_its_health(
    tmp_path: Path, site: Site
) -> None:
    """`/status` shows every source the database knows, with its health and last run; on SQLite
    it says there is no cluster."""
    app = App(write_config(tmp_path, site), db_option=str(tmp_path / "db.sqlite3"))
    web = build_web(app, "127.0.0.1", None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE) as c:
        token = _csrf((await c.get("/")).text, "/check/fixture-zh")
        await c.post("/check/fixture-zh", data={"csrf": token})
        state = web.state.checker.wait("fixture-zh", 120)
        assert state is not None and state.ok, state
        page = await c.get("/status")
    assert page.status_code == 200
    rows = LexborHTMLParser(page.text).css("table.versions tr")
    cells = {
        r.css("td")[0].text(strip=True): [td.text(strip=True) for td in r.css("td")]
        for r in rows[1:]
    }
    assert cells["fixture-zh"][1] == "ok" and cells["fixture-zh"][3] == "ok"
    assert "no cluster" in page.text
    app.close()
