"""CSS selection with one extension: `selector@attr` reads an attribute instead of the text.

    time.public_timestamp@datetime   the `datetime` attribute of the first match
    meta[name=PubDate]@content       a <meta> value
    text()                           (listing dates only) the item's own text outside its children

Every configured selector goes through `select` / `select_all`, so an invalid selector becomes a
`ParseError` naming the field and the selector instead of a library traceback.
"""

from __future__ import annotations

import re
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from crawler.errors import ParseError
from crawler.parse.text import clean

OWN_TEXT = "text()"
_ATTR = re.compile(r"^(?P<css>.*?)@(?P<attr>[A-Za-z_:][-\w:.]*)$", re.DOTALL)

Root = LexborHTMLParser | LexborNode


@lru_cache(maxsize=1024)
def split_selector(selector: str) -> tuple[str, str | None]:
    """`css@attr` -> (`css`, `attr`); a plain selector -> (selector, None)."""
    m = _ATTR.match(selector.strip())
    if m and m.group("css").strip():
        return m.group("css").strip(), m.group("attr")
    return selector.strip(), None


def select_all(root: Root, selector: str, *, url: str, field: str) -> list[LexborNode]:
    """All nodes matching the CSS part of `selector` (document order)."""
    css, _ = split_selector(selector)
    try:
        return list(root.css(css))
    except SelectolaxError as exc:
        raise ParseError(url, f"invalid CSS selector {field}={selector!r}: {exc}") from None


def select(root: Root, selector: str, *, url: str, field: str) -> LexborNode | None:
    """The first node matching the CSS part of `selector`, or None."""
    css, _ = split_selector(selector)
    try:
        return root.css_first(css)
    except SelectolaxError as exc:
        raise ParseError(url, f"invalid CSS selector {field}={selector!r}: {exc}") from None


def node_value(node: LexborNode, selector: str) -> str:
    """The node's attribute named after `@` in `selector`, else its text; whitespace-normalized."""
    _, attr = split_selector(selector)
    if attr is not None:
        return clean(node.attributes.get(attr) or "")
    return clean(node.text(deep=True, separator=""))


def select_value(root: Root, selector: str, *, url: str, field: str) -> str | None:
    """The value (attribute or text) of the first match, or None when nothing matches."""
    node = select(root, selector, url=url, field=field)
    return None if node is None else node_value(node, selector)


def own_text(node: LexborNode) -> str:
    """The node's direct text children only (e.g. `(2020-07-03)` after the link in an `<li>`)."""
    return clean(
        "".join(c.text_content or "" for c in node.iter(include_text=True) if c.tag == "-text")
    )


def outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """The nodes that are not inside another of them (so nothing is taken or removed twice)."""
    if len(nodes) < 2:
        return nodes
    ids = {n.mem_id for n in nodes}
    kept = []
    for node in nodes:
        parent = node.parent
        while parent is not None and parent.mem_id not in ids:
            parent = parent.parent
        if parent is None:
            kept.append(node)
    return kept
