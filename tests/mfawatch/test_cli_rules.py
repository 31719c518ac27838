"""Issue 15 §3 and issue 16 hole 4: the commands follow one rule each, as a user runs them.

- `history`/`diff` find an article by the URL as pasted (fragment, tracking parameters,
  upper-case scheme) and refuse an id too large for the database with exit 2;
- an unknown `--source`/`--country` is exit 2 naming the valid values, in every command;
- a command that needs the config fails with exit 2 when it is missing or invalid, the others
  say on stderr that it was not read and go on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.crawler.test_pipeline import ZH_ARTICLES, write_config
from tests.mfawatch.test_cli_crawl import mfawatch
from tests.site import Site

ARTICLE = "/sites/two-sources/en/t1001.shtml"
REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def _crawled_once(
    tmp_path_factory: pytest.TempPathFactory, _site_session: Site
) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("crawled")
    db, config = folder / "db.sqlite3", write_config(folder, _site_session)
    run = mfawatch("crawl", "--once", db=db, config=config)
    assert run.returncode == 0, run.stderr
    return db, config


@pytest.fixture
def crawled(
    tmp_path: Path, site: Site, _crawled_once: tuple[Path, Path]
) -> tuple[Path, Path, Site]:
    """A copy of a database with the two-source fixture site crawled once, and its config."""
    db, config = tmp_path / "db.sqlite3", tmp_path / "sources.yaml"
    shutil.copyfile(_crawled_once[0], db)
    shutil.copyfile(_crawled_once[1], config)
    return db, config, site


def test_history_and_diff_canonicalize_a_pasted_url(crawled: tuple[Path, Path, Site]) -> None:
    """A fragment, tracking parameters and an upper-case scheme/host find the same article."""
    db, config, site = crawled
    url = site.url(ARTICLE)
    upper = url.replace("http://127.0.0.1", "HTTP://127.0.0.1")
    for pasted in (url + "#para-2", url + "?utm_source=x&utm_medium=mail", upper):
        run = mfawatch("history", pasted, db=db, config=config)
        assert run.returncode == 0, (pasted, run.stderr)
        assert url in run.stdout
        diff = mfawatch("diff", pasted, db=db, config=config)
        assert diff.returncode == 0, (pasted, diff.stderr)
        assert "nothing to compare" in diff.stdout


@pytest.mark.parametrize("command", ["history", "diff"])
def test_an_id_too_large_is_a_usage_error(tmp_path: Path, command: str) -> None:
    """`history 99999999999999999999` is exit 2 with a message, not an OverflowError."""
    run = mfawatch(command, "99999999999999999999", db=tmp_path / "db.sqlite3")
    assert run.returncode == 2, run.stderr
    assert "too large to be an article id" in run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr


def run_in(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`mfawatch ARGS` run from `cwd` with no MFAWATCH_* variable (plus `env`)."""
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    clean_env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "mfawatch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**clean_env, **(env or {})},
    )


@pytest.mark.parametrize(
    "args",
    [
        ("digest", "--source", "nope"),
        ("digest", "--country", "ZZ"),
        ("export", "--source", "nope"),
        ("export", "--format", "warc", "--source", "nope"),
        ("crawl", "--once", "--source", "nope"),
        ("sources", "check", "nope"),
    ],
    ids=lambda a: " ".join(a),
)
def test_an_unknown_source_or_country_is_exit_2_naming_the_valid_ones(
    crawled: tuple[Path, Path, Site], args: tuple[str, ...]
) -> None:
    """The same rule in every command: exit 2, the valid keys (or countries) named."""
    db, config, _ = crawled
    run = mfawatch(*args, db=db, config=config)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stdout == ""
    assert ("fixture-en" in run.stderr and "fixture-zh" in run.stderr) or "CN" in run.stderr
    assert "Traceback" not in run.stderr


def test_known_filters_still_work(crawled: tuple[Path, Path, Site]) -> None:
    """A source known to the database (even once the config forgot it) and a lower-case country pass."""
    db, config, _ = crawled
    run = mfawatch(
        "digest", "--since", "1d", "--source", "fixture-zh", "--country", "cn", db=db, config=config
    )
    assert run.returncode == 0, run.stderr
    config.write_text(config.read_text().split("  - key: fixture-zh")[0])
    run = mfawatch("export", "--source", "fixture-zh", db=db, config=config)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\n") == ZH_ARTICLES


@pytest.mark.parametrize("broken", ["missing", "invalid"])
@pytest.mark.parametrize(
    ("args", "needs_config"),
    [
        (("crawl", "--once"), True),
        (("sources", "check"), True),
        (("digest", "--since", "1d"), False),
        (("status",), False),
        (("export", "--source", "fixture-en"), False),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, tuple) else str(a),
)
def test_one_rule_for_a_missing_or_invalid_config(
    crawled: tuple[Path, Path, Site], broken: str, args: tuple[str, ...], needs_config: bool
) -> None:
    """Commands that need the config exit 2; the others say on stderr it was not read, and go on."""
    db, config, _ = crawled
    if broken == "missing":
        config.unlink()
    else:
        config.write_text("sources: [\n")
    run = mfawatch(*args, db=db, config=config)
    assert "Traceback" not in run.stderr
    assert str(config) in run.stderr
    if needs_config:
        assert run.returncode == 2, run.stderr
    else:
        assert run.returncode == 0, run.stderr
        assert "config not read" in run.stderr


def test_the_user_config_directory_is_looked_in(tmp_path: Path) -> None:
    """From a folder without config/sources.yaml, the user config directory's sources.yaml is used;
    when neither exists, the error says where it looked."""
    home = tmp_path / "xdg"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"XDG_CONFIG_HOME": str(home), "MFAWATCH_DB": str(tmp_path / "db.sqlite3")}
    none = run_in(elsewhere, "sources", "check", env=env)
    assert none.returncode == 2
    assert "config/sources.yaml" in none.stderr
    assert str(home / "mfawatch" / "sources.yaml") in none.stderr
    (home / "mfawatch").mkdir(parents=True)
    (home / "mfawatch" / "sources.yaml").write_text((REPO / "config" / "sources.yaml").read_text())
    found = run_in(elsewhere, "sources", "check", env=env)
    assert found.returncode == 0, found.stderr
    assert str(home / "mfawatch" / "sources.yaml") in found.stdout


def test_serve_on_a_busy_port_says_so_with_exit_2(tmp_path: Path) -> None:
    """A port another program listens on: a plain message, exit 2, and no "review UI on" first."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = mfawatch("serve", "--port", str(port), db=tmp_path / "db.sqlite3")
    assert run.returncode == 2, run.stderr
    assert "already in use" in run.stderr and str(port) in run.stderr
    assert "review UI on http" not in run.stderr and "Traceback" not in run.stderr


def test_crawl_help_says_once_is_required() -> None:
    """`crawl --help` shows --once in the usage line and calls it required."""
    run = mfawatch("crawl", "--help", db=Path("/nonexistent/never-opened.db"))
    assert run.returncode == 0
    assert "Usage: mfawatch crawl --once [OPTIONS]" in run.stdout
    once = run.stdout.split("--once", 2)[2]
    assert once.split()[0] == "Required:"


def test_sources_check_prints_every_effective_value() -> None:
    """Every setting of a source is printed as it is in force after defaults were merged."""
    out = mfawatch(
        "sources",
        "check",
        db=Path("/nonexistent/never-opened.db"),
        config=REPO / "config" / "sources.yaml",
    )
    assert out.returncode == 0, out.stderr
    first = out.stdout.split("\ncn-mfa-zh:")[0]
    for expected in (
        "schedule: every 10m",
        "jitter 1m",
        "min_delay 1s",
        "retries 3",
        "concurrency_per_host 2",
        "respect_robots yes",
        "revisit: after [1h, 6h, 1d, 3d, 7d, 30d], then_every 30d",
        "max_bytes 10 MB",
        "max_decompressed_bytes 50 MB",
        "timeout 30s",
        "connect_timeout 10s",
        "max_redirects 5",
        "max_pages 13",
        "broken_after: 3",
        "list selectors: item 'div.newsLst_mod ul li'",
    ):
        assert expected in first, (expected, first)


@pytest.mark.parametrize("option", ["--from", "--to"])
def test_a_version_number_too_large_is_a_usage_error(tmp_path: Path, option: str) -> None:
    """`diff 1 --from 99999999999999999999` is exit 2 with a message, not an OverflowError."""
    run = mfawatch("diff", "1", option, "99999999999999999999", db=tmp_path / "db.sqlite3")
    assert run.returncode == 2, run.stderr
    assert option in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("key", "page"),
    [("cn-mfa-en", "china-error-1.html"), ("cn-mfa-zh", "uk-listing-1.html")],
)
def test_sources_check_says_each_warning_once(key: str, page: str) -> None:
    """A soft 404 seen as a listing and as an article, a body selector that both the selector
    check and the parser name: one warning line each."""
    out = mfawatch(
        "sources",
        "check",
        key,
        "--html",
        str(REPO / "tests" / "fixtures" / "real-pages" / page),
        db=Path("/nonexistent/never-opened.db"),
        config=REPO / "config" / "sources.yaml",
    )
    warnings = [line for line in out.stdout.splitlines() if line.startswith("  warning:")]
    assert warnings, out.stdout
    assert len(warnings) == len(set(warnings)), warnings
