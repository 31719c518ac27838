"""Everything the command line prints goes through here, and so through the one sanitizer.

Errors, URLs, reasons, titles and previews carry text from foreign web sites (a `Location`
header, a page title), so `echo` passes every line through `storage.safe_text.clean`: no escape
sequence (clear screen, window title, OSC 52 clipboard write), BEL or C1 control reaches the
terminal. `echo_json` keeps the data exact but writes the controls that JSON leaves raw (DEL,
C1, bidi overrides) as `\\uXXXX` escapes. Rich output (history, diff) cleans each field itself.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from storage.safe_text import clean, json_inert, one_line

__all__ = ["clean", "echo", "echo_json", "one_line"]


def no_color() -> bool:
    """Whether the user asked for no colour (`NO_COLOR`, https://no-color.org)."""
    return bool(os.environ.get("NO_COLOR"))


def color_choice() -> bool | None:
    """The `color` to hand a digest renderer: False under NO_COLOR, else None (only on a tty)."""
    return False if no_color() else None


def echo(message: object = "", *, err: bool = False) -> None:
    """Print one message (a line or several) with escapes and control characters removed."""
    click.echo(clean(str(message)), err=err)


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """`value` as UTF-8-friendly JSON with no raw control character (they become `\\uXXXX`)."""
    return json_inert(json.dumps(value, ensure_ascii=False, indent=indent, default=str))


def echo_json(value: Any, *, indent: int | None = 2) -> None:
    """Print `value` as JSON (see `to_json`)."""
    click.echo(to_json(value, indent=indent))
