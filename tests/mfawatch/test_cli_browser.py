"""`crawl --once`, `status` and `export --format warc` with sources fetched through the browser,
through a challenge, and through a proxy that refuses (real subprocesses, real Chromium)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.mfawatch.test_cli_crawl import mfawatch
from tests.site import Site, js_article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium"),
]

CONFIG = """\
http: {{browser: {{challenge_timeout: 10s}}}}
defaults: {{politeness: {{retries: 0}}}}
sources:
  - key: js-site
    name: A ministry rendered by scripts
    country: RU
    fetch: browser
    listings: [{{url: "{base}/js-only/l?list=2"}}]
    list: {{item: "ul.news li"}}
    article: {{title: "h1.title", body: "div.content"}}
  - key: challenged
    name: A ministry behind a JavaScript challenge
    country: RU
    fetch: challenge
    listings: [{{url: "{base}/js-challenge/l?list=2&status=403"}}]
    list: {{item: "ul.news li"}}
    article: {{title: "h1.title", body: "div.content"}}
  - key: dead-proxy
    name: A ministry behind a proxy that refuses
    country: JP
    proxy: "socks5://127.0.0.1:{dead}"
    listings: [{{url: "{base}/js-only/l?list=2"}}]
    list: {{item: "ul.news li"}}
"""


def test_browser_challenge_and_refusing_proxy_sources_in_one_crawl(
    tmp_path: Path, site: Site, refused_port: int
) -> None:
    """The rendered and the challenged sources store their articles; the one behind a refusing
    proxy fails alone, `blocked` with the reason; `status` shows how much each needed the
    browser; the WARC export carries the raw bytes and the rendered DOM of each browser page."""
    db = tmp_path / "db.sqlite3"
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG.format(base=site.base_url, dead=refused_port))
    run = mfawatch("crawl", "--once", db=db, config=config)
    assert run.returncode == 1, run.stderr
    assert "dead-proxy" in run.stderr and "did not carry the request" in run.stderr
    assert "Traceback" not in run.stderr
    assert " 4 new" in run.stdout.strip().splitlines()[-1]

    status = mfawatch("status", "--format", "json", db=db, config=config)
    rows = {row["key"]: row for row in json.loads(status.stdout)["sources"]}
    assert rows["dead-proxy"]["health"] == "blocked"
    assert "socks5://127.0.0.1" in rows["dead-proxy"]["last_error"]
    assert (rows["js-site"]["health"], rows["challenged"]["health"]) == ("ok", "ok")
    assert rows["js-site"]["last_run"]["counts"]["browser_pages"] == 3  # listing + 2 articles
    assert rows["challenged"]["last_run"]["counts"]["challenge_solves"] == 1
    text = mfawatch("status", db=db, config=config).stdout
    assert "challenge_solves 1" in text and "browser_pages 3" in text

    export = mfawatch("export", "--format", "jsonl", "--source", "js-site", db=db, config=config)
    bodies = {json.loads(line)["body_text"] for line in export.stdout.splitlines()}
    assert bodies == {js_article("l-1"), js_article("l-2")}

    cmd = [sys.executable, "-m", "mfawatch", "--db", str(db), "--config", str(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    warc = subprocess.run(
        [*cmd, "export", "--format", "warc", "--source", "js-site"],
        capture_output=True,
        timeout=120,
        env=env,
    )
    assert warc.returncode == 0, warc.stderr
    records = [
        (
            r.rec_type,
            r.rec_headers.get_header("WARC-Record-ID"),
            r.rec_headers.get_header("WARC-Refers-To"),
            r.content_stream().read(),
        )
        for r in ArchiveIterator(io.BytesIO(warc.stdout))
    ]
    responses = {rid: body for kind, rid, _, body in records if kind == "response"}
    conversions = [(ref, body) for kind, _, ref, body in records if kind == "conversion"]
    assert len(conversions) == len(responses) == 3  # the listing and two articles
    for ref, dom in conversions:
        raw = responses[ref]
        assert b"<script>" in raw and dom != raw
    assert any(js_article("l-1").encode() in dom for _, dom in conversions)
    assert not any(js_article("l-1").encode() in raw for raw in responses.values())


def test_sources_check_says_whether_a_challenge_preset_works(
    tmp_path: Path, site: Site, refused_port: int
) -> None:
    """`sources check KEY --url` ends with a verdict: works (and what the browser did), or does
    NOT work (and why), exit 1."""
    db = tmp_path / "db.sqlite3"
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG.format(base=site.base_url, dead=refused_port))
    listing = f"{site.base_url}/js-challenge/l?list=2&status=403"
    works = mfawatch("sources", "check", "challenged", "--url", listing, db=db, config=config)
    assert works.returncode == 0, works.stdout + works.stderr
    verdict = works.stdout.strip().splitlines()[-1]
    assert verdict == (
        "verdict: challenged works from here (fetch: challenge; "
        "the browser solved 1 challenge(s) of 127.0.0.1)"
    )
    never = f"{site.base_url}/js-challenge/l?never=1"
    fails = mfawatch("sources", "check", "challenged", "--url", never, db=db, config=config)
    assert fails.returncode == 1
    assert "verdict: challenged does NOT work from here (fetch: challenge)" in fails.stdout
    assert "did not clear in the browser within 10 s" in fails.stdout
    dead = mfawatch("sources", "check", "dead-proxy", "--url", listing, db=db, config=config)
    assert dead.returncode == 1 and "dead-proxy does NOT work from here" in dead.stdout
    assert "did not carry the request" in dead.stdout
