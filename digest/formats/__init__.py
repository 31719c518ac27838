"""The digest formats: `FORMATS` maps a name to a `render(report) -> str` function.

text  terminal text (rich; colour only on a terminal)     md    Markdown
html  one self-contained HTML file                          json  JSON, schema 1
atom  an Atom 1.0 feed
"""

from __future__ import annotations

from collections.abc import Callable

from digest.formats import atom, html, json, markdown, text
from digest.model import Report

Renderer = Callable[[Report], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "md": markdown.render,
    "html": html.render,
    "json": json.render,
    "atom": atom.render,
}


class UnknownFormatError(ValueError):
    """A format name that is not in `FORMATS`; the message lists the valid ones."""


def get_format(name: str) -> Renderer:
    """The render function for `name`, or UnknownFormatError listing the valid names."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(
            f"unknown digest format {name!r} (valid: {', '.join(FORMATS)})"
        ) from None


def render(report: Report, fmt: str = "text", *, color: bool | None = None) -> str:
    """Render `report` in format `fmt`; `color` applies to `text` only (None: only on a tty)."""
    renderer = get_format(fmt)
    if fmt == "text":
        return text.render(report, color=color)
    return renderer(report)
