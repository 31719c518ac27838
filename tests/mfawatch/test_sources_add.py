"""`mfawatch sources add URL` as a user runs it (a subprocess) against the loopback site: a
listing and a feed are told apart, previewed, and appended to a commented YAML that keeps every
comment and line, and that the config loader then reads with the new source."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mfawatch.settings.loader import load_config
from tests.site import Site

CONFIG = """\
# My ministries. Keep this comment!
defaults:
  user_agent: "mfawatch-tests/0.1 (+https://example.org/contact)"   # inline comment survives
  politeness: {respect_robots: false}

sources:
  # the first source, with a comment above it
  - key: cn-mfa-en
    name: China MFA (English)
    country: CN
    listings:
      - url: https://www.fmprc.gov.cn/mfa_eng/xwfw_665399/s2510_665401/2511_665403/default.shtml
    list: {item: "div.newsLst_mod ul li"}   # hand-written selectors

# watchlists come after the sources
alerts:
  - {name: taiwan, keywords: [Taiwan]}   # no channels: mark only
"""


def add(config: Path, *args: str, answer: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    cmd = [sys.executable, "-m", "mfawatch", "--config", str(config), "sources", "add", *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, env=env, input=answer or ""
    )


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(CONFIG)
    return path


def _kept_in_order(old: str, new: str) -> bool:
    lines = iter(new.splitlines())
    return all(any(line == got for got in lines) for line in old.splitlines())


def test_a_listing_becomes_an_html_source_with_guessed_selectors(
    tmp_path: Path, site: Site
) -> None:
    """A listing page gets `list:` selectors from its repeated links, no `article:` selectors;
    the preview shows its items and first article; the file keeps every comment and line."""
    config = _config(tmp_path)
    url = site.url("/sites/two-sources/en/default.shtml")
    run = add(config, url, "--country", "CN", "--yes")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "proposed source (HTML listing)" in run.stdout
    assert "listing items: 4" in run.stdout and "first article:" in run.stdout
    assert "added source '127-0-0-1'" in run.stdout
    text = config.read_text()
    assert _kept_in_order(CONFIG, text), text
    assert text.index("key: 127-0-0-1") < text.index("# watchlists come after the sources")
    source = load_config(config).source("127-0-0-1")
    assert source.type == "html" and source.article is None and source.country == "CN"
    assert source.list is not None and source.list.item == "div.newsLst_mod ul li"
    assert str(source.listings[0].url) == url
    assert source.user_agent.startswith("mfawatch-tests")  # the file's defaults apply

    again = add(config, url, "--country", "CN", "--yes")  # a second one gets a new key
    assert again.returncode == 0 and "added source '127-0-0-1-2'" in again.stdout
    assert [s.key for s in load_config(config).sources] == ["cn-mfa-en", "127-0-0-1", "127-0-0-1-2"]


def test_a_feed_becomes_a_feed_source_after_confirmation(tmp_path: Path, site: Site) -> None:
    """An RSS document becomes `type: feed`, named after the feed, appended when confirmed."""
    config = _config(tmp_path)
    url = site.url("/real-pages/us-feed-1.xml")
    run = add(config, url, "--country", "US", "--key", "us-state", answer="y\n")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "proposed source (feed)" in run.stdout and "listing items: 10" in run.stdout
    assert "Append source 'us-state'" in run.stdout
    source = load_config(config).source("us-state")
    assert source.type == "feed" and source.list is None
    assert "Department of State" in source.name
    assert _kept_in_order(CONFIG, config.read_text())


def test_declining_or_failing_leaves_the_file_unchanged(tmp_path: Path, site: Site) -> None:
    """Answering no, a taken --key, an unknown country or a page without a list change nothing."""
    config = _config(tmp_path)
    url = site.url("/sites/two-sources/en/default.shtml")
    declined = add(config, url, "--country", "CN", answer="n\n")
    assert declined.returncode == 0 and "unchanged" in declined.stderr
    taken = add(config, url, "--country", "CN", "--key", "cn-mfa-en", "--yes")
    assert taken.returncode == 2 and "already has a source 'cn-mfa-en'" in taken.stderr
    no_country = add(config, url, "--yes")
    assert no_country.returncode == 2 and "--country" in no_country.stderr
    no_list = add(config, site.url("/empty"), "--country", "CN", "--yes")
    assert no_list.returncode == 1 and "no repeated list of links" in no_list.stderr
    assert "Traceback" not in declined.stderr + taken.stderr + no_list.stderr
    assert config.read_text() == CONFIG


def test_the_shipped_example_keeps_every_line(tmp_path: Path, site: Site) -> None:
    """Adding to config/example.yaml (every key, many comments, flow and block styles) changes
    no line of it: the new source's lines are the only difference."""
    original = (Path(__file__).parents[2] / "config" / "example.yaml").read_text()
    config = tmp_path / "example.yaml"
    config.write_text(original)
    run = add(config, site.url("/real-pages/us-feed-1.xml"), "--country", "US", "--yes")
    assert run.returncode == 0, run.stdout + run.stderr
    new = config.read_text()
    old_lines, new_lines = original.splitlines(), new.splitlines()
    assert _kept_in_order(original, new)
    assert len(new_lines) - len(old_lines) == 7  # the comment line and the six of the source
    assert load_config(config).source("127-0-0-1").type == "feed"


def test_a_chinese_listing_without_a_lang_attribute_gets_language_zh(
    tmp_path: Path, site: Site
) -> None:
    """China's Chinese listing declares no language; its text is Han, so the source is `zh`
    (which dates in its listing are read as), not the default `en`."""
    config = _config(tmp_path)
    run = add(
        config,
        site.url("/real-pages/china-zh-listing-1.html"),
        "--key",
        "zh",
        "--country",
        "CN",
        "--yes",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert load_config(config).source("zh").language == "zh"
