"""Issue 15 §3 and issue 16 hole 4: the commands follow one rule each, as a user runs them.

- `history`/`diff` find an article by the URL as pasted (fragment, tracking parameters,
  upper-case scheme) and refuse an id too large for the database with exit 2;
- an unknown `--source`/`--country` is exit 2 naming the valid values, in every command;
- a command that needs the config fails with exit 2 when it is missing or invalid, the others
  say on stderr that it was not read and go on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crawler.test_pipeline import write_config
from tests.mfawatch.test_cli_crawl import mfawatch
from tests.site import Site

ARTICLE = "/sites/two-sources/en/t1001.shtml"


@pytest.fixture
def crawled(tmp_path: Path, site: Site) -> tuple[Path, Path, Site]:
    """A database with the two-source fixture site crawled once."""
    db, config = tmp_path / "db.sqlite3", write_config(tmp_path, site)
    run = mfawatch("crawl", "--once", db=db, config=config)
    assert run.returncode == 0, run.stderr
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
