"""Issue 16 hole 3: text from a hostile site never drives the terminal.

A `Location` header and a page carry ESC[2J (clear screen), OSC 0 (window title), OSC 52
(clipboard write), BEL and 8-bit C1 controls (tests/site.py `/escape-redirect`, `/escape-page`).
What `crawl --once`, `status`, `sources check --url`, `history` and the text log lines print must
hold none of them: everything goes through the one sanitizer, `storage.safe_text.clean`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.mfawatch.test_cli_crawl import mfawatch
from tests.site import TERMINAL_ESCAPES, Site

# ESC, BEL, and the C1 controls (CSI 0x9b, OSC 0x9d, ST 0x9c ...) as characters.
_TERMINAL_CONTROLS = re.compile("[\x07\x1b\x7f-\x9f]")


def _config(tmp_path: Path, site: Site) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text(
        "sources:\n"
        "  - key: redirector\n"
        "    name: Escaping redirect\n"
        "    country: CN\n"
        "    timezone: Asia/Shanghai\n"
        "    politeness: {respect_robots: false, retries: 0}\n"
        f"    listings: [{{url: '{site.url('/escape-redirect')}'}}]\n"
        "    list: {item: li, link: a}\n"
        "  - key: escpage\n"
        "    name: Escaping page\n"
        "    country: CN\n"
        "    timezone: Asia/Shanghai\n"
        "    politeness: {respect_robots: false, retries: 0}\n"
        f"    listings: [{{url: '{site.url('/escape-page?list=1')}'}}]\n"
        "    list: {item: li, link: a}\n"
        "    article: {title: h1, body: div.content, date: p.date}\n"
    )
    return path


def _assert_inert(run: subprocess.CompletedProcess[str]) -> None:
    for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        found = _TERMINAL_CONTROLS.findall(text)
        assert not found, f"{name} carries terminal controls {found!r}:\n{text!r}"


def test_the_fixture_really_sends_escapes(site: Site) -> None:
    """The hostile routes carry the escapes raw (so the tests below test something)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    conn.request("GET", "/escape-page")
    assert TERMINAL_ESCAPES in conn.getresponse().read().decode()
    conn.request("GET", "/escape-redirect")
    redirect = conn.getresponse()
    redirect.read()
    assert "\x1b]52;" in (redirect.getheader("Location") or "")  # latin-1 decoded as sent
    conn.close()


def test_crawl_status_and_history_print_no_escapes(tmp_path: Path, site: Site) -> None:
    """crawl's errors and text log lines, status's stored error, history's title: all inert."""
    db = tmp_path / "db.sqlite3"
    config = _config(tmp_path, site)
    crawl = mfawatch("crawl", "--once", db=db, config=config)
    assert crawl.returncode == 1, crawl.stderr
    assert "redirector" in crawl.stderr and "escape-redirect" in crawl.stderr
    assert "WARNING" in crawl.stderr  # the text log line about the failed listing
    _assert_inert(crawl)

    status = mfawatch("status", db=db, config=config)
    assert status.returncode == 0 and "last error: listing" in status.stdout
    _assert_inert(status)
    as_json = mfawatch("status", "--format", "json", db=db, config=config)
    _assert_inert(as_json)

    history = mfawatch("history", site.url("/escape-page"), db=db, config=config)
    assert history.returncode == 0 and "Evil title" in history.stdout
    _assert_inert(history)
    _assert_inert(mfawatch("history", "1", "--format", "json", db=db, config=config))
    for fmt in ("text", "json", "md"):
        digest = mfawatch("digest", "--since", "1d", "--format", fmt, db=db, config=config)
        assert digest.returncode == 0 and "Evil" in digest.stdout, digest.stderr
        _assert_inert(digest)


@pytest.mark.parametrize("listing", [False, True], ids=["url", "listing"])
def test_sources_check_preview_prints_no_escapes(tmp_path: Path, site: Site, listing: bool) -> None:
    """`sources check KEY [--url]` shows the hostile title and body without their escapes."""
    args = ["sources", "check", "escpage"]
    if not listing:
        args += ["--url", site.url("/escape-page")]
    run = mfawatch(*args, db=tmp_path / "db.sqlite3", config=_config(tmp_path, site))
    assert "Evil title" in run.stdout and "First paragraph." in run.stdout, run.stdout
    _assert_inert(run)


def test_a_warning_prints_once(tmp_path: Path, site: Site) -> None:
    """An article page previewed with --url names the listing selector that matched nothing once."""
    run = mfawatch(
        "sources",
        "check",
        "escpage",
        "--url",
        site.url("/escape-page"),
        db=tmp_path / "db.sqlite3",
        config=_config(tmp_path, site),
    )
    warnings = [line for line in run.stdout.splitlines() if "warning:" in line]
    assert warnings == ["  warning: selector list.item='li' matched nothing"], run.stdout


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_carry_no_escapes(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log line whose message and attached URL carry escapes is inert in both formats."""
    import io
    import logging

    from mfawatch.logs import setup_logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    try:
        setup_logging(fmt)
        logging.getLogger("crawler.test").warning(
            "listing failed: %s", f"title{TERMINAL_ESCAPES}", extra={"url": f"/x{TERMINAL_ESCAPES}"}
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = out.getvalue()
    assert "listing failed: title" in line and "/x" in line
    assert not _TERMINAL_CONTROLS.findall(line), repr(line)


def test_no_color_is_read_at_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR is read by mfawatch, which hands the digest `color=False` and the diff markers."""
    from mfawatch.terminal import color_choice, no_color

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert (no_color(), color_choice()) == (False, None)
    monkeypatch.setenv("NO_COLOR", "1")
    assert (no_color(), color_choice()) == (True, False)
