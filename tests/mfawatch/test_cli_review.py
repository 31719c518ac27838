"""The review commands as a user runs them: history, diff, digest, export warc, sources check."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.crawler.test_pipeline import SITE, write_config
from tests.mfawatch.test_cli_crawl import mfawatch
from tests.site import Site

REPO = Path(__file__).parents[2]
SEED = REPO / "tests" / "fixtures" / "real-pages" / "wang-yi-blinken-2021.html"
ARTICLE = "/sites/two-sources/en/t1001.shtml"


@pytest.fixture(scope="module")
def _crawled_once(
    tmp_path_factory: pytest.TempPathFactory, _site_session: Site
) -> tuple[Path, Path]:
    """A database with the two-source site crawled, then t1001 edited and rechecked: two real
    crawls, made once per module (and xdist worker) rather than once per test."""
    site = _site_session
    site.reset()
    folder = tmp_path_factory.mktemp("crawled")
    db, config = folder / "db.sqlite3", write_config(folder, site)
    assert mfawatch("crawl", "--once", db=db, config=config).returncode == 0
    original = (SITE / "en" / "t1001.shtml").read_text()
    site.add(
        ARTICLE,
        original.replace("Paragraph 1 of conference 1", "Paragraph 1 (revised) of conference 1"),
        content_type="text/html",
    )
    run = mfawatch("crawl", "--once", "--recheck", db=db, config=config)
    assert run.returncode == 0 and "1 changed" in run.stdout, run.stdout + run.stderr
    site.reset()
    return db, config


@pytest.fixture
def crawled(
    _crawled_once: tuple[Path, Path], tmp_path: Path, site: Site
) -> tuple[Path, Path, Site]:
    """A copy of that database for this test alone (tests write to it: review cursors, rechecks),
    its config, and the site (serving t1001 as first crawled)."""
    crawled_db, config = _crawled_once
    for part in crawled_db.parent.glob(crawled_db.name + "*"):  # with -wal/-shm, if any
        shutil.copy2(part, tmp_path / part.name)
    return tmp_path / crawled_db.name, config, site


def test_history_and_diff(crawled: tuple[Path, Path, Site]) -> None:
    """history lists both versions with hashes; diff shows exactly the edited words."""
    db, config, site = crawled
    url = site.url(ARTICLE)
    text = mfawatch("history", url, db=db, config=config)
    assert text.returncode == 0, text.stderr
    assert "v1" in text.stdout and "v2" in text.stdout and "changed" in text.stdout
    data = json.loads(mfawatch("history", url, "--format", "json", db=db, config=config).stdout)
    assert [v["number"] for v in data["versions"]] == [1, 2]
    assert all(len(v["content_hash"]) >= 32 for v in data["versions"])
    article_id = str(data["article"]["id"])
    diff = mfawatch("diff", article_id, "--from", "1", "--to", "2", db=db, config=config)
    assert diff.returncode == 0, diff.stderr
    assert "(revised)" in diff.stdout
    assert (
        "Paragraph 2 of conference 1" not in diff.stdout.replace("\n", " ")
        or "[-" not in diff.stdout.split("Paragraph 2")[0][-5:]
    )
    missing = mfawatch("history", "https://nowhere.example/x", db=db, config=config)
    assert missing.returncode == 1 and "no stored article" in missing.stderr


def test_digest_and_review_cursor(crawled: tuple[Path, Path, Site]) -> None:
    """The digest lists new and changed items; after --mark-reviewed the next digest is empty."""
    db, config, _ = crawled
    out = mfawatch("digest", "--since", "1d", "--format", "json", db=db, config=config)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    kinds = [item["kind"] for group in report["groups"] for item in group["items"]]
    assert kinds.count("new") == 21 and kinds.count("changed") == 1
    assert (
        mfawatch("digest", "--mark-reviewed", "--format", "md", db=db, config=config).returncode
        == 0
    )
    after = json.loads(mfawatch("digest", "--format", "json", db=db, config=config).stdout)
    assert [g for g in after["groups"] if g["items"]] == []
    other = json.loads(
        mfawatch(
            "digest", "--as", "alice", "--since", "1d", "--format", "json", db=db, config=config
        ).stdout
    )
    assert sum(len(g["items"]) for g in other["groups"]) == 22
    for fmt in ("text", "html", "atom"):
        assert (
            mfawatch("digest", "--since", "1d", "--format", fmt, db=db, config=config).returncode
            == 0
        )


def test_warc_export_reads_back_the_exact_bytes(crawled: tuple[Path, Path, Site]) -> None:
    """export --format warc gives response records whose payloads are the stored bytes."""
    db, config, site = crawled
    raw = subprocess.run(
        [
            sys.executable,
            "-m",
            "mfawatch",
            "--db",
            str(db),
            "--config",
            str(config),
            "export",
            "--format",
            "warc",
        ],
        capture_output=True,
        timeout=60,
    ).stdout
    by_url: dict[str, list[bytes]] = {}
    for r in ArchiveIterator(io.BytesIO(raw)):  # payloads must be read while iterating
        if r.rec_type == "response":
            uri = r.rec_headers.get_header("WARC-Target-URI")
            by_url.setdefault(uri, []).append(r.content_stream().read())
    # 21 first versions + 1 changed version + 6 listing pages (3 per source; 304s on the recheck)
    assert sum(len(v) for v in by_url.values()) == 22 + 6
    expected = (SITE / "en" / "t1002.shtml").read_bytes()
    assert expected in [b for bodies in by_url.values() for b in bodies]
    assert by_url[site.url("/sites/two-sources/en/default.shtml")] == [
        (SITE / "en" / "default.shtml").read_bytes()
    ]


def test_export_all_versions_and_since(crawled: tuple[Path, Path, Site]) -> None:
    """export --all-versions --since gives the versions of the window; a bad --since exits 2."""
    db, config, site = crawled
    out = mfawatch("export", "--all-versions", "--since", "1h", db=db, config=config)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 22 and {r["kind"] for r in rows} == {"new", "changed"}
    edited = [r for r in rows if r["url"] == site.url(ARTICLE)]
    assert [(r["version"], r["kind"], r["current"]) for r in edited] == [
        (1, "new", False),
        (2, "changed", True),
    ]
    future = mfawatch("export", "--since", "2999-01-01", db=db, config=config)
    assert future.returncode == 0 and future.stdout == ""
    bad = mfawatch("export", "--format", "warc", "--since", "yesterday", db=db, config=config)
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_sources_check_on_the_seed_page() -> None:
    """sources check on the seed prints its title, its dated minute with zone, and its first paragraph."""
    out = mfawatch(
        "sources",
        "check",
        "cn-mfa-en",
        "--html",
        str(SEED),
        db=Path("/nonexistent/never-opened.db"),
        config=REPO / "config" / "sources.yaml",
    )
    assert out.returncode == 0, out.stderr
    assert "Wang Yi Speaks on the Phone with US Secretary of State Blinken" in out.stdout
    assert "2021-11-13 14:12 +08:00 (minute, page)" in out.stdout
    assert "On November 13, 2021, State Councilor and Foreign Minister Wang Yi" in out.stdout
    assert "China News" in out.stdout


def test_a_return_to_v1_is_shown_by_history_diff_and_digest(
    crawled: tuple[Path, Path, Site],
) -> None:
    """The article put back to its v1 text: history says v1 is current again, diff's default range
    is the return (v2 -> v1), and the digest has a `returned` item (issue 15: all said v2)."""
    db, config, site = crawled
    site.add(ARTICLE, (SITE / "en" / "t1001.shtml").read_text(), content_type="text/html")
    run = mfawatch("crawl", "--once", "--recheck", db=db, config=config)
    assert run.returncode == 0, run.stderr
    url = site.url(ARTICLE)

    text = mfawatch("history", url, db=db, config=config)
    assert text.returncode == 0, text.stderr
    assert "current version 1: returned to v1 from v2" in text.stdout
    assert "latest version v2" in text.stdout
    data = json.loads(mfawatch("history", url, "--format", "json", db=db, config=config).stdout)
    assert data["content_version"] == 1
    assert (data["returned"]["from_number"], data["returned"]["to_number"]) == (2, 1)

    diff = mfawatch("diff", str(data["article"]["id"]), db=db, config=config)
    assert diff.returncode == 0, diff.stderr
    assert "v2 -> v1 (returned to v1)" in diff.stdout
    assert "[-(revised)-]" in diff.stdout or "(revised)" in diff.stdout.split("v1 (returned")[1]

    only = mfawatch(
        "digest", "--since", "1d", "--kind", "returned", "--format", "json", db=db, config=config
    )
    assert only.returncode == 0, only.stderr
    items = [i for g in json.loads(only.stdout)["groups"] for i in g["items"]]
    assert [(i["kind"], i["version"]) for i in items] == [("returned", 1)]
    assert (items[0]["change"]["from_version"], items[0]["change"]["to_version"]) == (2, 1)
    assert items[0]["note"] == "returned to version 1 from version 2"
    md = mfawatch("digest", "--since", "1d", "--format", "md", db=db, config=config)
    assert "**RETURNED to v1**" in md.stdout and "1 returned" in md.stdout
