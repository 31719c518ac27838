"""Loading the YAML config: good files, precedence of defaults/env/CLI, and every bad kind.

Each `tests/fixtures/configs/bad-*.yaml` states the problems it must produce in `# expect:`
header lines (`# expect: LINE FIELD | message fragment`, `-` for no line); one parametrized test
checks that exactly those problems are reported, with file, line and field.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from crawler.config import (
    ArticleSelectors,
    BrowserSettings,
    HttpSettings,
    Limits,
    Listing,
    ListSelectors,
    Paginate,
    ParseSettings,
    Politeness,
    RevisitPlan,
    Schedule,
    Source,
)
from crawler.errors import ConfigError, ConfigProblem
from mfawatch.settings.loader import load_config, parse_config
from mfawatch.settings.models import Alert, Defaults, DigestSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
SHIPPED = ROOT / "config" / "sources.yaml"
EXPECT = re.compile(r"^# expect: (?P<line>\d+|-) (?P<field>.+?) \| (?P<message>.+)$")
BAD_FILES = sorted(CONFIGS.glob("bad-*.yaml"))
# Files that cannot carry a header (an empty file is empty).
NO_HEADER: dict[str, list[tuple[int | None, str, str]]] = {
    "bad-empty.yaml": [(None, "(file)", "the file is empty")]
}

MINIMAL = """\
sources:
  - key: cn-mfa-en
    name: China
    country: CN
    listings: [{url: "https://www.fmprc.gov.cn/mfa_eng/default.shtml"}]
    list: {item: "div.newsLst_mod ul li"}
"""


def _expectations(path: Path) -> list[tuple[int | None, str, str]]:
    if path.name in NO_HEADER:
        return NO_HEADER[path.name]
    found = []
    for line in path.read_bytes().decode("latin-1").splitlines():
        m = EXPECT.match(line)
        if m:
            where = None if m["line"] == "-" else int(m["line"])
            found.append((where, m["field"], m["message"]))
    return found


def _problems(path: Path | str, **kwargs: object) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={}, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


# --- good configs ---------------------------------------------------------------------------


def test_shipped_config_loads_with_both_china_sources_enabled() -> None:
    """config/sources.yaml validates, and the China MFA sources run with the real-page selectors."""
    settings = load_config(SHIPPED, env={})
    en, zh = settings.source("cn-mfa-en"), settings.source("cn-mfa-zh")
    assert en.enabled and zh.enabled
    assert str(en.listings[0].url).endswith("/2511_665403/default.shtml")
    assert en.listings[0].section == "Regular Press Conference"
    assert en.listings[0].paginate is not None
    assert (en.listings[0].paginate.template, en.listings[0].paginate.max_pages) == (
        "default_{n}.shtml",
        13,
    )
    assert en.list is not None and en.list.item == "div.newsLst_mod ul li"
    assert en.article is not None and en.article.title == "h2.title"
    assert "div.tool" in en.article.remove
    assert zh.list is not None and zh.list.date == "text()"
    assert zh.article is not None and zh.article.body == "#News_Body_Txt_A"
    assert zh.listings[0].section == "发言人表态"
    assert en.zone.key == zh.zone.key == "Asia/Shanghai"


def test_shipped_config_has_every_preset_of_issue_6() -> None:
    """Every ministry the sources issue names has a preset, and disabled presets are kept."""
    settings = load_config(SHIPPED, env={})
    keys = {s.key for s in settings.sources}
    assert keys >= {
        "cn-mfa-en",
        "cn-mfa-zh",
        "us-state-press",
        "uk-fcdo",
        "ru-mid-en",
        "ru-mid-ru",
        "jp-mofa-en",
        "in-mea",
        "de-aa",
        "fr-meae",
    }
    enabled = {s.key for s in settings.enabled_sources()}
    assert {"cn-mfa-en", "cn-mfa-zh"} <= enabled
    assert "jp-mofa-en" not in enabled  # mofa.go.jp answers 403 to scripts (sites.md §6)
    assert settings.source("ru-mid-ru").timezone == "Europe/Moscow"
    assert settings.source("us-state-press").type == "feed"


def test_blocked_presets_have_their_fetch_mode_and_remaining_obstacle() -> None:
    """mid.ru (F5 script challenge) fetches through `challenge`, mofa.go.jp and mea.gov.in
    (client checks) through `browser`; each stays disabled with a comment naming the remaining
    obstacle, its remedy, and the `sources check` command that tells whether it works."""
    settings = load_config(SHIPPED, env={})
    modes = {
        k: settings.source(k).fetch for k in ("ru-mid-en", "ru-mid-ru", "jp-mofa-en", "in-mea")
    }
    assert modes == {
        "ru-mid-en": "challenge",
        "ru-mid-ru": "challenge",
        "jp-mofa-en": "browser",
        "in-mea": "browser",
    }
    text = SHIPPED.read_text(encoding="utf-8")
    for key in modes:
        assert not settings.source(key).enabled
        block = text[: text.index(f"  - key: {key}\n")].rsplit("\n\n", 1)[-1]
        assert "remaining obstacle" in block or "same obstacle" in block, key
        assert "proxy" in block and f"sources check {key} --url" in block, key


def test_shipped_presets_each_cite_sites_md() -> None:
    """Each preset in config/sources.yaml is preceded by a comment naming its sites.md section."""
    text = SHIPPED.read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=  - key: )", text)[1:]
    for block in blocks:
        key = re.search(r"key: (\S+)", block)
        assert key is not None
        previous = text[: text.index(block)].rsplit("\n\n", 1)[-1]
        assert "sites.md §" in previous, f"preset {key[1]} has no sites.md citation"


def test_example_config_loads_and_shows_every_key() -> None:
    """config/example.yaml is valid and names every key of every config model, so it cannot drift."""
    path = ROOT / "config" / "example.yaml"
    settings = load_config(path, env={})
    assert settings.alerts and settings.digest is not None
    text = path.read_text(encoding="utf-8")
    models = [
        Settings,
        Defaults,
        HttpSettings,
        BrowserSettings,
        ParseSettings,
        Source,
        Schedule,
        Listing,
        Paginate,
        ListSelectors,
        ArticleSelectors,
        Limits,
        Politeness,
        RevisitPlan,
        Alert,
        DigestSettings,
    ]
    for model in models:
        for name in model.model_fields:
            assert re.search(rf"\b{name}:", text), f"{model.__name__}.{name} is not in example.yaml"


def test_readme_yaml_examples_load() -> None:
    """Every YAML block in README.md that configures sources is a valid config."""
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md not written yet")
    blocks = re.findall(r"```ya?ml\n(.*?)```", readme.read_text(encoding="utf-8"), re.DOTALL)
    blocks = [b for b in blocks if re.search(r"^sources:", b, re.MULTILINE)]
    if not blocks:
        pytest.skip("README.md has no YAML sources example yet")
    for i, block in enumerate(blocks):
        settings = parse_config(block, file=f"README.md block {i + 1}", env={})
        assert settings.sources


def test_minimal_config_gets_built_in_defaults() -> None:
    """A source that sets only the required keys gets the documented built-in defaults."""
    settings = load_config(CONFIGS / "good-minimal.yaml", env={})
    (src,) = settings.sources
    assert isinstance(src, Source)
    assert src.enabled and src.type == "html" and src.timezone == "UTC"
    assert src.schedule.every == timedelta(minutes=15)
    assert src.politeness.concurrency_per_host == 4
    assert src.limits.max_redirects == 5
    assert src.list is not None and src.list.link == "a"
    assert settings.http.pool_size == 8 and settings.alerts == () and settings.digest is None


def test_full_config_merges_defaults_key_by_key() -> None:
    """`defaults:` fills what a source leaves out, mapping by mapping, and a source's own keys win."""
    settings = load_config(CONFIGS / "good-full.yaml", env={})
    en, us = settings.source("cn-mfa-en"), settings.source("us-state-press")
    # schedule: a source's cron replaces the default `every`, but the default jitter stays
    assert en.schedule.cron == "*/10 * * * *" and en.schedule.every is None
    assert en.schedule.jitter == timedelta(minutes=2)
    assert us.schedule.every == timedelta(hours=1)
    # politeness: min_delay is the source's own, concurrency comes from defaults
    assert en.politeness.min_delay == timedelta(seconds=2)
    assert en.politeness.concurrency_per_host == 2
    assert us.politeness.min_delay == timedelta(seconds=1)
    # limits: per-key merge, built-in defaults for what neither sets
    assert us.limits.max_redirects == 2 and us.limits.timeout == timedelta(seconds=20)
    assert us.limits.connect_timeout == timedelta(seconds=10)
    assert en.revisit.after == (timedelta(hours=1), timedelta(days=1))
    assert en.timezone == "Asia/Shanghai" and us.timezone == "America/New_York"
    assert en.user_agent.startswith("mfawatch-tests/") and us.user_agent == "source-agent/1.0"
    assert settings.http.transport == "aiohttp" and settings.http.pool_size == 4


def test_alerts_and_digest_sections_are_validated_models() -> None:
    """`alerts:` and `digest:` load into typed models with their keywords, regexes and channels."""
    settings = load_config(CONFIGS / "good-full.yaml", env={})
    taiwan, sanctions = settings.alerts
    assert taiwan.keywords == ("Taiwan", "台湾")
    assert taiwan.channels == ("mailto://analyst@example.org",)
    assert sanctions.regex == (r"\bsanction(s|ed)?\b",)
    assert settings.digest is not None
    assert settings.digest.cron == "0 7 * * *" and settings.digest.send_empty is True


def test_disabled_sources_are_kept_but_not_enabled() -> None:
    """`enabled: false` keeps the source (validated, listed) but leaves it out of enabled_sources()."""
    settings = load_config(CONFIGS / "good-full.yaml", env={})
    assert [s.key for s in settings.sources] == ["cn-mfa-en", "us-state-press"]
    assert [s.key for s in settings.enabled_sources()] == ["cn-mfa-en"]
    assert settings.source("us-state-press").enabled is False


def test_precedence_builtin_defaults_source_env_cli() -> None:
    """User-Agent comes from built-in < defaults < source < MFAWATCH_USER_AGENT < CLI, in that order."""
    two = MINIMAL + MINIMAL.split("sources:\n")[1].replace("cn-mfa-en", "cn-mfa-zh").replace(
        "    name: China\n", '    name: China\n    user_agent: "own/1"\n'
    )
    builtin = parse_config(two, env={})
    assert builtin.sources[0].user_agent == Source.model_fields["user_agent"].default
    assert builtin.sources[1].user_agent == "own/1"
    with_defaults = parse_config('defaults: {user_agent: "dflt/1"}\n' + two, env={})
    assert [s.user_agent for s in with_defaults.sources] == ["dflt/1", "own/1"]
    env = {"MFAWATCH_USER_AGENT": "env/1"}
    with_env = parse_config('defaults: {user_agent: "dflt/1"}\n' + two, env=env)
    assert [s.user_agent for s in with_env.sources] == ["env/1", "env/1"]
    with_cli = parse_config(two, env=env, cli={"user_agent": "cli/1"})
    assert [s.user_agent for s in with_cli.sources] == ["cli/1", "cli/1"]


def test_env_overrides_http_settings() -> None:
    """MFAWATCH_HTTP_POOL_SIZE and MFAWATCH_HTTP_TRANSPORT override the file's `http:` section."""
    env = {"MFAWATCH_HTTP_POOL_SIZE": "3", "MFAWATCH_HTTP_TRANSPORT": "aiohttp"}
    settings = parse_config("http: {pool_size: 16}\n" + MINIMAL, env=env)
    assert settings.http.pool_size == 3 and settings.http.transport == "aiohttp"


def test_env_defaults_to_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit `env`, the process environment's MFAWATCH_* variables apply."""
    monkeypatch.setenv("MFAWATCH_USER_AGENT", "from-os-environ/1")
    assert parse_config(MINIMAL).sources[0].user_agent == "from-os-environ/1"


def test_bad_env_value_is_blamed_on_the_variable() -> None:
    """An invalid environment override names the variable, not a line of the file."""
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL, file="x.yaml", env={"MFAWATCH_HTTP_POOL_SIZE": "many"})
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (
        "environment",
        None,
        "MFAWATCH_HTTP_POOL_SIZE",
    )
    assert "many" in problem.message


def test_bad_cli_value_is_blamed_on_the_flag() -> None:
    """An invalid command-line override names the flag."""
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL, env={}, cli={"http.transport": "curl"})
    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == ("command line", "--http-transport")
    assert "'httpx' or 'aiohttp'" in problem.message


def test_attribute_selectors_and_item_text_are_accepted() -> None:
    """`css@attr` selectors and the listing-date pseudo-selector `text()` pass validation."""
    text = MINIMAL.replace(
        '{item: "div.newsLst_mod ul li"}',
        '{item: "li", link: "a@href", date: "text()"}\n'
        '    article: {date: "meta[name=PubDate]@content"}',
    )
    src = parse_config(text, env={}).sources[0]
    assert src.list is not None and src.list.date == "text()"
    assert src.article is not None and src.article.date == "meta[name=PubDate]@content"


def test_item_text_is_only_a_listing_date() -> None:
    """`text()` is rejected where it means nothing, e.g. as the listing item selector."""
    text = MINIMAL.replace('{item: "div.newsLst_mod ul li"}', '{item: "text()"}')
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="t.yaml", env={})
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (6, "sources[cn-mfa-en].list.item")


def test_empty_alert_keyword_is_rejected() -> None:
    """An empty watchlist keyword (which would match everything) is a config problem."""
    with pytest.raises(ConfigError) as caught:
        parse_config('sources: []\nalerts: [{name: x, keywords: ["", a]}]\n', file="a.yaml", env={})
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (2, "alerts[0].keywords")


def test_settings_built_in_code_reject_duplicate_keys() -> None:
    """Settings built directly (not from YAML) still refuse two sources with one key."""
    src = parse_config(MINIMAL, env={}).sources[0]
    with pytest.raises(ValueError, match="duplicate source key 'cn-mfa-en'"):
        Settings(sources=(src, src))


# --- bad configs ----------------------------------------------------------------------------


def test_there_are_at_least_ten_kinds_of_bad_config() -> None:
    """The bad-config corpus covers at least ten kinds, each with stated expectations."""
    assert len(BAD_FILES) >= 10
    for path in BAD_FILES:
        assert _expectations(path), f"{path.name} has no '# expect:' header"


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_bad_config_reports_exactly_its_problems(path: Path, tmp_path: Path) -> None:
    """A bad config raises ConfigError listing exactly the expected problems with file:line:field."""
    marker = tmp_path / "pwned"
    data = path.read_bytes().replace(b"{marker}", str(marker).encode())
    copy = tmp_path / path.name
    copy.write_bytes(data)
    problems = _problems(copy)
    expected = _expectations(path)
    got = [(p.line, p.field, p.message) for p in problems]
    assert len(problems) == len(expected), got
    for line, fld, fragment in expected:
        assert any(p.line == line and p.field == fld and fragment in p.message for p in problems), (
            f"expected {line} {fld} | {fragment}; got {got}"
        )
    for p in problems:
        assert p.file == str(copy)
        shown = f"{copy}:{p.line}: {p.field}: " if p.line else f"{copy}: {p.field}: "
        assert str(p).startswith(shown)
    assert not marker.exists()  # the `!!python/object/apply` tag never ran


def test_all_problems_are_reported_at_once() -> None:
    """A file with three unrelated problems lists all three in one ConfigError message."""
    path = CONFIGS / "bad-three-problems.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith("invalid configuration (3 problem(s)):")
    assert f"{path}:9: sources[cn-mfa-en].timezone: unknown time zone 'Mars/Olympus'" in message
    assert f"{path}:11: sources[cn-mfa-en].listings[0].url:" in message
    assert f"{path}:15: sources[cn-mfa-zh].country:" in message


def test_missing_file_is_a_config_error() -> None:
    """A path that does not exist gives one problem naming the file and how to point elsewhere."""
    (problem,) = _problems(CONFIGS / "does-not-exist.yaml")
    assert problem.file.endswith("does-not-exist.yaml") and problem.line is None
    assert "file not found" in problem.message and "MFAWATCH_CONFIG" in problem.message


def test_directory_instead_of_file_is_a_config_error() -> None:
    """A directory given as the config path is reported, not raised as an OSError."""
    (problem,) = _problems(CONFIGS)
    assert problem.field == "(file)" and "cannot read" in problem.message


def test_missing_sources_key_is_reported() -> None:
    """A mapping without `sources:` says that key is required."""
    with pytest.raises(ConfigError) as caught:
        parse_config("http: {pool_size: 2}\n", file="t.yaml", env={})
    (problem,) = caught.value.problems
    assert (problem.line, problem.field) == (1, "sources")
    assert "required key 'sources' is missing" in problem.message


def test_alias_bomb_is_refused() -> None:
    """A YAML alias bomb ("billion laughs") is refused instead of expanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(ConfigError) as caught:
        parse_config("\n".join(lines) + "\n", env={})
    assert any("after expanding aliases" in p.message for p in caught.value.problems)


# -- hostile config files (issue 16, holes 4 and 5) ----------------------------------------------


def test_config_file_over_the_size_limit_is_refused_unparsed(tmp_path: Path) -> None:
    """A file over MAX_CONFIG_BYTES (here: comments only) is refused before parsing, naming it."""
    from mfawatch.settings.loader import MAX_CONFIG_BYTES

    path = tmp_path / "huge.yaml"
    path.write_text(("# " + "x" * 78 + "\n") * (MAX_CONFIG_BYTES // 80 + 10) + "sources: []\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    (problem,) = caught.value.problems
    assert problem.file == str(path) and "1024 KB limit" in problem.message


def test_a_very_long_line_is_refused_unparsed() -> None:
    """One line over MAX_LINE_CHARS (parse time grows with its square) is refused with its number."""
    text = "sources: []\n# " + "x" * 200_000 + "\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="long.yaml", env={})
    (problem,) = caught.value.problems
    assert problem.line == 2 and "200,002 characters" in problem.message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("sources: " + "[" * 300 + "]" * 300 + "\n", 1),
        ("sources:\n" + "".join("  " * i + "- a:\n" for i in range(300)), 33),
    ],
    ids=["flow", "block"],
)
def test_yaml_nested_hundreds_deep_is_a_config_error_with_its_line(text: str, line: int) -> None:
    """Nesting 300 deep (a RecursionError in the YAML composer before) names file and line."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="deep.yaml", env={})
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == ("deep.yaml", line)
    assert "nest more than 64 levels" in problem.message


def test_network_settings_merge_from_defaults(tmp_path: Path) -> None:
    """`defaults:` headers and cookies merge name by name into a source's own; proxy,
    accept_language and fetch are inherited unless the source sets them."""
    path = tmp_path / "sources.yaml"
    path.write_text(
        "defaults:\n"
        "  headers: {Referer: 'https://example.org/', X-A: a}\n"
        "  cookies: {consent: 'yes'}\n"
        "  proxy: 'http://${P_USER}:${P_PASS}@127.0.0.1:3128'\n"
        "  accept_language: en\n"
        "  fetch: challenge\n" + MINIMAL + "    headers: {X-A: own}\n    fetch: browser\n"
    )
    source = load_config(path, env={}).source("cn-mfa-en")
    assert dict(source.headers) == {"Referer": "https://example.org/", "X-A": "own"}
    assert source.cookies == (("consent", "yes"),)
    assert source.proxy == "http://${P_USER}:${P_PASS}@127.0.0.1:3128"
    assert (source.accept_language, source.fetch) == ("en", "browser")
