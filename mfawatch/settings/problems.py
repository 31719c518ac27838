"""Pydantic validation errors turned into `ConfigProblem`s a person can act on.

Each error gets the line of the YAML key or item it concerns, a readable field path
(`sources[cn-mfa-en].listings[0].url`, a source named by its key when that is unique) and a
message that names the rule and the fix: unknown keys list the allowed ones (with a "did you
mean"), missing keys are named, type errors show the value given.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from crawler.errors import ConfigProblem
from mfawatch.settings.models import Settings

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Origin:
    """Where a merged-in value really came from."""

    file: str
    path: Path_ | None  # a path in the YAML file, or None for env/CLI
    label: str = ""  # shown as the field for env/CLI values


def to_problem(
    err: ErrorDetails,
    raw: dict[str, Any],
    *,
    file: str,
    lines: Mapping[Path_, int],
    origins: Mapping[Path_, Origin],
    root: type[BaseModel] = Settings,
) -> ConfigProblem:
    """One pydantic error as a problem at the line (and under the name) of its YAML value.

    A value merged in from `defaults:` or set by env/CLI is blamed on its origin.
    """
    loc = _clean_loc(err["loc"], raw)
    line, shown_loc, label = None, loc, ""
    for n in range(len(loc), -1, -1):
        origin = origins.get(loc[:n])
        if origin is not None:
            file = origin.file
            label = origin.label
            if origin.path is not None:
                shown_loc = origin.path + loc[n:]
            break
    if not label:
        for n in range(len(shown_loc), -1, -1):
            if shown_loc[:n] in lines:
                line = lines[shown_loc[:n]]
                break
    return ConfigProblem(
        file, line, label or display_path(shown_loc, raw), _message(err, loc, root)
    )


def _clean_loc(loc: tuple[str | int, ...], raw: Any) -> Path_:
    """Drop pydantic's internal loc steps (union branches, validator names) that are not keys."""
    out: list[str | int] = []
    node = raw
    for step in loc:
        if isinstance(node, dict) and isinstance(step, str) and step not in node:
            if "[" in step or "(" in step:
                continue
            out.append(step)
            node = None
            continue
        out.append(step)
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            node = None
    return tuple(out)


def display_path(path: Path_, raw: Any) -> str:
    """`sources[cn-mfa-en].listings[0].url` (a source is named by its key when that is unique)."""
    text = ""
    node = raw
    for step in path:
        if isinstance(step, int):
            key = node[step].get("key") if _indexable(node, step) else None
            siblings = node if text == "sources" and isinstance(node, list) else []
            keys = [s.get("key") for s in siblings if isinstance(s, dict)]
            if isinstance(key, str) and key and keys.count(key) == 1:
                text += f"[{key}]"
            else:
                text += f"[{step}]"
            node = node[step] if _indexable(node, step) else None
        else:
            text += f".{step}" if text else step
            node = node.get(step) if isinstance(node, dict) else None
    return text or "(top level)"


def _indexable(node: Any, i: int) -> bool:
    return isinstance(node, list) and 0 <= i < len(node) and isinstance(node[i], dict)


def _message(err: ErrorDetails, loc: Path_, root: type[BaseModel]) -> str:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1], root)
        key = str(loc[-1])
        hint = difflib.get_close_matches(key, allowed, n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        return f"unknown key {key!r} ({did}allowed: {', '.join(allowed)})"
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "url_scheme":
        return f"the URL must start with http:// or https://, got {value!r}"
    if kind.startswith("url_"):
        reason = (err.get("ctx") or {}).get("error") or msg
        return f"not a valid URL: {value!r} ({reason}); write it in full, e.g. https://host/path"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"should be a mapping of keys to values, got {_shown(value)}"
    if kind == "too_short":
        return f"needs at least {(err.get('ctx') or {}).get('min_length', 1)} item(s)"
    if kind in ("tuple_type", "list_type"):
        return f"should be a list, got {_shown(value)}"
    return f"{msg.replace('Input should be', 'should be')}, got {_shown(value)}"


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value) if isinstance(value, str) else str(value)


def _allowed_keys(loc: Path_, root: type[BaseModel]) -> list[str]:
    """The field names of the model found at `loc` inside `root` (the file's model)."""
    model: type[BaseModel] | None = root
    for step in loc:
        if model is None:
            break
        if isinstance(step, int):
            continue
        info = model.model_fields.get(step)
        model = _model_in(info.annotation) if info is not None else None
    return sorted(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `X | None`, `tuple[X, ...]` or `Annotated[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple, list, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def ordered(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Problems without repeats (inherited defaults), in file and line order."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.file in ("environment", "command line"), p.line or 0))
