"""The digest formats: `FORMATS` maps a name to a `render(report) -> str` function.

text  terminal text (rich; colour only on a terminal)     md    Markdown
html  one self-contained HTML file                          json  JSON, schema 1
atom  an Atom 1.0 feed

Each can also be written piece by piece (`stream`, `STREAMING`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from digest.errors import DigestError
from digest.formats import atom, html, json, markdown, text
from digest.model import Item, Report

if TYPE_CHECKING:
    from digest.report import GroupKey

Renderer = Callable[[Report], str]
Streamer = Callable[[Report, "Iterable[tuple[GroupKey, Item]]"], Iterator[str]]

# Every format can be written piece by piece from `digest.report.stream_report`; memory then
# stays flat however many items the window has.
STREAMING: dict[str, Streamer] = {
    "text": text.stream,
    "md": markdown.stream,
    "html": html.stream,
    "json": json.stream,
    "atom": atom.stream,
}

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "md": markdown.render,
    "html": html.render,
    "json": json.render,
    "atom": atom.render,
}


class UnknownFormatError(DigestError):
    """A format name that is not in `FORMATS`; the message lists the valid ones."""


def get_format(name: str) -> Renderer:
    """The render function for `name`, or UnknownFormatError listing the valid names."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(
            f"unknown digest format {name!r} (valid: {', '.join(FORMATS)})"
        ) from None


def stream(
    head: Report,
    items: Iterable[tuple[GroupKey, Item]],
    fmt: str = "text",
    *,
    color: bool | None = None,
) -> Iterator[str]:
    """Render a streamed report (`digest.report.stream_report`) in `fmt` (one of `STREAMING`),
    piece by piece; `color` applies to `text` only (None: only on a tty)."""
    if fmt == "text":
        return text.stream(head, items, color=color)
    if fmt not in STREAMING:
        raise UnknownFormatError(
            f"digest format {fmt!r} cannot be streamed (streamed: {', '.join(STREAMING)})"
        )
    return STREAMING[fmt](head, items)


def render(report: Report, fmt: str = "text", *, color: bool | None = None) -> str:
    """Render `report` in format `fmt`; `color` applies to `text` only (None: only on a tty)."""
    renderer = get_format(fmt)
    if fmt == "text":
        return text.render(report, color=color)
    return renderer(report)
