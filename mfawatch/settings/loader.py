"""Loading the sources YAML into `Settings`, reporting every problem with file:line:field.

Precedence of every setting, lowest first (each layer overrides the ones before it):

    1. built-in default      the field defaults declared in `crawler.config` and `.models`
    2. YAML `defaults:`      merged into each source that does not set the key itself; mappings
                             (`limits`, `politeness`, `revisit`, `schedule`) merge key by key,
                             where `schedule.every` and `schedule.cron` replace each other
    3. the source's own keys
    4. environment           `MFAWATCH_*`, see `OVERRIDES`
    5. CLI flag              passed as `cli={"user_agent": ...}` by the command line

Every problem is collected before anything is raised: a YAML syntax error, a duplicate key, a
disallowed tag, and each pydantic validation error become a `ConfigProblem(file, line, field,
message)`, and `ConfigError` carries them all. A value that came from `defaults:` or from the
environment is blamed on where it came from, not on each source that inherited it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from crawler.errors import ConfigError, ConfigProblem
from mfawatch.settings.models import Defaults, Settings
from mfawatch.settings.problems import Origin, Path_, display_path, ordered, to_problem

# Settings a user may override outside the YAML: dotted target -> environment variable.
# `user_agent` applies to every source; `http.*` to the shared client.
OVERRIDES: dict[str, str] = {
    "user_agent": "MFAWATCH_USER_AGENT",
    "http.pool_size": "MFAWATCH_HTTP_POOL_SIZE",
    "http.transport": "MFAWATCH_HTTP_TRANSPORT",
}

# `defaults:` keys whose mappings merge key by key into a source's own mapping. `schedule` merges
# too, except that `every` and `cron` count as one key (a source's `cron` drops a default `every`).
_DEEP_MERGED = frozenset({"limits", "politeness", "revisit", "headers", "cookies"})
_WHEN = ("every", "cron")
_YAML_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(_YAML_CORE + t for t in ("map", "seq", "str"))
_MAX_NODES = 50_000  # alias expansion guard ("billion laughs")
# Refused before parsing: the YAML parser is pure Python, and its time grows with the square of a
# line's length, so a huge file or one very long line keeps it busy for minutes (figures in
# docs/benchmarks.md). Real configs are a few KB.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_LINE_CHARS = 100_000
# Mappings and lists nested deeper than this are refused (the composer recurses once per level,
# and a file nested 300 deep ran out of Python's stack). A real config nests 5 deep.
MAX_DEPTH = 64


@dataclass
class _Doc:
    """A YAML file turned into plain data, with the line of every key and item."""

    file: str
    lines: dict[Path_, int] = field(default_factory=dict)
    origins: dict[Path_, Origin] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)
    nodes: int = 0
    root: Any = None  # the loaded YAML, for naming sources by key in field paths

    def problem(self, line: int | None, fld: str, message: str) -> None:
        self.problems.append(ConfigProblem(self.file, line, fld, message))


def load_config(
    path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    cli: Mapping[str, str] | None = None,
) -> Settings:
    """Read, merge and validate a config file; raise `ConfigError` listing every problem.

    Args:
        env: the environment to read `MFAWATCH_*` from (default: `os.environ`).
        cli: command-line overrides keyed like `OVERRIDES` (e.g. `{"user_agent": "..."}`).
    """
    file = str(path)
    data = read_config_bytes(path, "file not found; pass --config PATH or set MFAWATCH_CONFIG")
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    None,
                    "(file)",
                    f"larger than the {MAX_CONFIG_BYTES // 1024} KB limit for a config file; "
                    "not read (a sources file is a few KB: is this the right file?)",
                )
            ]
        )
    return parse_config(decode_config(data, file), file=file, env=env, cli=cli)


def read_config_bytes(path: str | Path, missing: str) -> bytes:
    """A YAML file's bytes, at most `MAX_CONFIG_BYTES` + 1 of them (so a larger file is told
    apart without being read whole); `ConfigError` naming the file when it is missing
    (`missing` says what to do) or unreadable."""
    file = str(path)
    try:
        with Path(path).open("rb") as fh:
            return fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(file, None, "(file)", missing)]) from None
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(file, None, "(file)", f"cannot read: {exc.strerror}")]
        ) from None


def decode_config(data: bytes, file: str) -> str:
    """A YAML file's text (UTF-8, an optional BOM); `ConfigError` at the first bad byte's line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [ConfigProblem(file, line, "(file)", "not UTF-8 text; save the file as UTF-8")]
        ) from None


def parse_config(
    text: str,
    *,
    file: str = "<string>",
    env: Mapping[str, str] | None = None,
    cli: Mapping[str, str] | None = None,
) -> Settings:
    """Validate YAML text as a config (as `load_config` does, with `file` naming it in errors)."""
    doc = _Doc(file)
    _check_size(text, doc)
    if doc.problems:
        raise ConfigError(doc.problems)
    raw = _read_yaml(text, doc)
    if raw is None:
        raise ConfigError(doc.problems)
    if "sources" not in raw:
        doc.problem(1, "sources", "required key 'sources' is missing; list the sources to watch")
    raw = _merge_defaults(raw, doc)
    _apply_overrides(raw, doc, env if env is not None else os.environ, "environment")
    _apply_overrides(raw, doc, cli or {}, "command line")
    _check_duplicate_sources(raw, doc)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(raw, context={"duplicates_checked": True})
    except ValidationError as exc:
        for err in exc.errors():
            if err["type"] == "too_short" and err.get("input"):
                continue  # pydantic's echo of items that failed; those are reported themselves
            doc.problems.append(
                to_problem(err, raw, file=doc.file, lines=doc.lines, origins=doc.origins)
            )
    if doc.problems or settings is None:
        raise ConfigError(ordered(_without_echoes(doc.problems)))
    return settings


# --- YAML to plain data ----------------------------------------------------------------------


def _check_size(text: str, doc: _Doc) -> None:
    """Refuse text over `MAX_CONFIG_BYTES` or with a line over `MAX_LINE_CHARS`, before parsing."""
    if len(text) > MAX_CONFIG_BYTES:  # characters: at least as many bytes
        doc.problem(
            None,
            "(file)",
            f"larger than the {MAX_CONFIG_BYTES // 1024} KB limit for a config file; not read",
        )
        return
    start = 0
    number = 1
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if end - start > MAX_LINE_CHARS:
            doc.problem(
                number,
                "(file)",
                f"line {number} is {end - start:,} characters long, over the limit of "
                f"{MAX_LINE_CHARS:,}; not read (split it)",
            )
            return
        start, number = end + 1, number + 1


def _too_deep(text: str) -> int | None:
    """The line where mappings/lists first nest deeper than `MAX_DEPTH`, or None.

    Walks the parser's events, which (unlike composing the node tree) uses no recursion.
    """
    from ruamel.yaml.events import (
        CollectionEndEvent,
        CollectionStartEvent,
    )

    depth = 0
    try:
        for event in YAML(typ="rt").parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return int(event.start_mark.line) + 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except MarkedYAMLError:
        return None
    return None


def _nested_too_deep(text: str, doc: _Doc) -> None:
    line = _too_deep(text)
    doc.problem(
        line,
        "(yaml)",
        f"mappings and lists nest more than {MAX_DEPTH} levels deep (here); "
        "a config nests a few levels at most",
    )


def _read_yaml(text: str, doc: _Doc) -> dict[str, Any] | None:
    """Plain data from YAML text, or None (with problems recorded) when it cannot be used."""
    # Round-trip mode is safe: its constructor builds only CommentedMap/CommentedSeq/scalars and
    # keeps unknown tags (even `!!python/...`) as inert data, never calling Python constructors.
    # We use it because it records the line of every key and item (`.lc`).
    loader = YAML(typ="rt")
    # Duplicates are found on the node tree below, with both lines; construction keeps the first.
    loader.allow_duplicate_keys = True
    try:
        tree = loader.compose(text)  # one parse: the node tree, then the values built from it
        if tree is None:
            doc.problem(None, "(file)", "the file is empty; it needs at least a `sources:` list")
            return None
        loaded = loader.constructor.construct_document(tree)
        doc.root = loaded
        _find_duplicate_keys(tree, (), doc)
    except MarkedYAMLError as exc:
        doc.problem(*_yaml_error(exc))
        return None
    except RecursionError:  # nested hundreds deep: the composer recurses once per level
        _nested_too_deep(text, doc)
        return None
    if not isinstance(loaded, CommentedMap):
        kind = "a list" if isinstance(loaded, CommentedSeq) else f"the value {loaded!r}"
        doc.problem(
            1,
            "(top level)",
            f"the top level must be a mapping with `sources:` (and optionally defaults, http, "
            f"alerts, digest), got {kind}",
        )
        return None
    doc.lines[()] = 1
    try:
        plain = _plain(loaded, (), doc)
    except RecursionError:  # deep nesting, or a recursive alias
        if _too_deep(text) is not None:
            _nested_too_deep(text, doc)
        else:
            doc.problem(None, "(yaml)", "the YAML nests too deeply (a recursive alias?)")
        return None
    if doc.nodes > _MAX_NODES:
        doc.problem(None, "(yaml)", f"more than {_MAX_NODES} values after expanding aliases")
        return None
    return plain if isinstance(plain, dict) else None


def _yaml_error(exc: MarkedYAMLError) -> tuple[int | None, str, str]:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    message = exc.problem or "invalid YAML"
    if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    elif exc.context:
        message += f" ({exc.context})"
    return line, "(yaml syntax)", message


def _find_duplicate_keys(node: Node, path: Path_, doc: _Doc, seen: set[int] | None = None) -> None:
    """Report every key given twice in one mapping, naming both lines."""
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias: already checked, and may be recursive
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first and key != "<<":
                doc.problem(
                    line,
                    display_path(path + (key,), doc.root),
                    f"duplicate key {key!r} (first at line {first[key]}, again at line {line}); "
                    "keep one",
                )
            first.setdefault(key, line)
            _find_duplicate_keys(value_node, path + (key,), doc, seen)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _find_duplicate_keys(item, path + (i,), doc, seen)


def _plain(value: Any, path: Path_, doc: _Doc) -> Any:
    """Convert round-trip YAML values to plain dict/list/scalars, recording lines by path."""
    doc.nodes += 1
    if doc.nodes > _MAX_NODES:
        return None
    line = doc.lines.get(path)
    tag = getattr(getattr(value, "tag", None), "value", None)
    if tag is not None and tag not in _ALLOWED_TAGS:
        shown = "!!" + tag[len(_YAML_CORE) :] if tag.startswith(_YAML_CORE) else tag
        doc.problem(
            line,
            display_path(path, doc.root),
            f"YAML tag {shown!r} is not allowed; use plain mappings, lists and scalars",
        )
    if isinstance(value, CommentedMap):
        out: dict[str, Any] = {}
        for key, item in value.items():
            k = "null" if key is None else str(key)
            pos = (value.lc.data or {}).get(key)
            doc.lines[path + (k,)] = pos[0] + 1 if pos else (line or 1)
            out[k] = _plain(item, path + (k,), doc)
        return out
    if isinstance(value, CommentedSeq):
        items = []
        for i, item in enumerate(value):
            pos = (value.lc.data or {}).get(i)
            doc.lines[path + (i,)] = pos[0] + 1 if pos else (line or 1)
            items.append(_plain(item, path + (i,), doc))
        return items
    if isinstance(value, TaggedScalar):
        return str(value.value)
    for base in (bool, int, float, str):  # ScalarInt, ScalarFloat, ScalarString ... to builtins
        if isinstance(value, base):
            return base(value)
    return value


# --- merging ---------------------------------------------------------------------------------


def _merge_defaults(raw: dict[str, Any], doc: _Doc) -> dict[str, Any]:
    """Copy `defaults:` keys into every source that lacks them (mappings key by key)."""
    defaults = raw.get("defaults")
    sources = raw.get("sources")
    if not isinstance(defaults, dict) or not isinstance(sources, list):
        return raw
    known = set(Defaults.model_fields)
    merged_sources = []
    for i, src in enumerate(sources):
        if not isinstance(src, dict):
            merged_sources.append(src)
            continue
        src = dict(src)
        for key, value in defaults.items():
            if key not in known or value is None:
                continue  # unknown defaults keys are reported when `defaults` is validated
            here: Path_ = ("sources", i, key)
            there: Path_ = ("defaults", key)
            if key not in src:
                src[key] = value
                doc.origins[here] = Origin(doc.file, there)
            elif isinstance(value, dict) and isinstance(src[key], dict):
                if key not in _DEEP_MERGED and key != "schedule":
                    continue
                own = dict(src[key])
                for sub, sub_value in value.items():
                    # `every` and `cron` exclude each other: a source giving either keeps its own.
                    taken = sub in own or (sub in _WHEN and any(w in own for w in _WHEN))
                    if not taken:
                        own[sub] = sub_value
                        doc.origins[here + (sub,)] = Origin(doc.file, there + (sub,))
                src[key] = own
        merged_sources.append(src)
    return {**raw, "sources": merged_sources}


def _apply_overrides(raw: dict[str, Any], doc: _Doc, values: Mapping[str, str], layer: str) -> None:
    """Apply env (`MFAWATCH_*`) or CLI overrides on top of the file, recording their origin."""
    for target, var in OVERRIDES.items():
        name = var if layer == "environment" else target
        if name not in values:
            continue
        value = values[name]
        label = var if layer == "environment" else "--" + target.replace(".", "-").replace("_", "-")
        origin = Origin(layer, None, label)
        if target == "user_agent":
            for i, src in enumerate(raw.get("sources") or []):
                if isinstance(src, dict):
                    src["user_agent"] = value
                    doc.origins[("sources", i, "user_agent")] = origin
        else:
            section, key = target.split(".")
            block = raw.get(section)
            block = dict(block) if isinstance(block, dict) else {}
            block[key] = value
            raw[section] = block
            doc.origins[(section, key)] = origin


def _check_duplicate_sources(raw: dict[str, Any], doc: _Doc) -> None:
    sources = raw.get("sources")
    if not isinstance(sources, list):
        return
    first: dict[str, int] = {}
    for i, src in enumerate(sources):
        key = src.get("key") if isinstance(src, dict) else None
        if not isinstance(key, str):
            continue
        line = doc.lines.get(("sources", i, "key"))
        if key in first:
            j = first[key]
            doc.problem(
                line,
                f"sources[{i}].key",
                f"duplicate source key {key!r} (first at line {doc.lines.get(('sources', j, 'key'))}, "
                f"again at line {line}); every source needs its own key",
            )
        else:
            first[key] = i


def _without_echoes(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Drop type errors about a value already reported for its disallowed YAML tag."""
    tagged = {(p.line, p.field) for p in problems if p.message.startswith("YAML tag ")}
    return [
        p for p in problems if p.message.startswith("YAML tag ") or (p.line, p.field) not in tagged
    ]
