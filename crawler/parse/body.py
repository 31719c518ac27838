"""A content node to body text (paragraphs) and sanitized body HTML.

Paragraph breaks come from block elements (`<p>`, `<div>`, headings, list items, table rows…) and
`<br>`; whitespace inside a paragraph collapses to one space (U+3000 indents and NBSP included);
empty and image-only paragraphs disappear from the text, and so do paragraphs that are only a
tool-bar label (`Print`, `打印本页`).

The HTML keeps only the `ALLOWED_TAGS` whitelist, with no attributes except `href` on links and
`src` on images, both made absolute (http, https and, for links, mailto only). Everything in
`chrome.DROP_TAGS` is removed with its content; other unknown tags are unwrapped; empty blocks go.

Speed: the DOM work (dropping scripts and chrome boxes, unwrapping `<span>`/`<font>`) is done by
lexbor; the rest is regular-expression passes over lexbor's own serialization of the node, which
is well-formed (attributes always `name="value"`, `<`, `>`, `&` and `"` escaped), so a tag pattern
is exact and one pass (`_Rewrite`) can rewrite every tag; HTML where it is not (raw text such
as `<xmp>` keeps its `<`) takes four passes that are exact on any input. A Python walk over the
nodes was much slower. Tag-name alternations are factored by first letter (`_alternation`), passes
that cannot match are skipped on a one-character test, and whitespace is collapsed without
splitting every paragraph into words.
"""

from __future__ import annotations

import html as htmllib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from crawler.parse.chrome import (
    CHROME_CSS,
    CHROME_SELECTORS,
    DROP_TAGS,
    MAX_PHRASE_CHARS,
    is_chrome_phrase,
)
from crawler.parse.links import Resolver
from crawler.parse.select import outermost
from crawler.parse.text import join_paragraphs, strip_invisible

BLOCK_TAGS: frozenset[str] = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "address",
        "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "blockquote",
        "pre", "table", "thead", "tbody", "tfoot", "tr", "caption", "figure", "figcaption",
        "center", "hr", "br", "details", "summary", "body", "html",
    }
)  # fmt: skip
CELL_TAGS: frozenset[str] = frozenset({"td", "th"})
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "div", "br", "hr", "b", "strong", "i", "em", "u", "s", "sub", "sup", "small",
        "a", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "code",
        "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
        "caption", "img", "figure", "figcaption",
    }
)  # fmt: skip
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_IMG_SCHEMES = frozenset({"http", "https"})

# Patterns over lexbor's serialization. It escapes `<`, `>` and `&` in text and in attribute values
# and writes tag names in lower case, so `<[^>]*>` is exactly one tag; comments go first.
_COMMENT = re.compile(r"<!--.*?-->|<![^>]*>", re.DOTALL)


def _alternation(names: Iterable[str]) -> str:
    """A regex alternation of exactly `names`, factored by first character (a trie).

    Python's engine tries the branches of `a|b|c` one by one at every `<`; the trie form tries a
    few first letters instead of every name.
    """
    groups: dict[str, list[str]] = {}
    for name in sorted(names):
        groups.setdefault(name[0], []).append(name[1:])
    branches = []
    for first, rests in groups.items():
        if len(rests) == 1:
            branches.append(re.escape(first + rests[0]))
            continue
        tails = [rest for rest in rests if rest]
        optional = "?" if len(tails) < len(rests) else ""
        branches.append(f"{re.escape(first)}(?:{_alternation(tails)}){optional}")
    return "|".join(branches)


# A run of block tags and the whitespace between them: one paragraph break (the empty and
# blank parts a split at each tag would give are dropped anyway), half the parts to look at.
_BLOCK_TAG = rf"</?(?:{_alternation(BLOCK_TAGS)})(?=[\s/>])[^>]*>"
_BLOCK_TAGS = re.compile(rf"{_BLOCK_TAG}(?:\s*{_BLOCK_TAG})*\s*")  # starts with `<`: a fast scan
_CELL_TAG = re.compile(rf"</?(?:{_alternation(CELL_TAGS)})(?=[\s/>])[^>]*>")
_ANY_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
# Block elements outside the whitelist become <div>, so paragraph breaks survive sanitizing.
_OTHER_BLOCK = re.compile(rf"<(/?)(?:{_alternation(BLOCK_TAGS - ALLOWED_TAGS)})(?=[\s/>])[^>]*>")
_FOREIGN_TAG = re.compile(rf"</?(?!(?:{_alternation(ALLOWED_TAGS)})[\s/>])[a-zA-Z][^>]*>")
_ATTRIBUTED = re.compile(rf"<({_alternation(ALLOWED_TAGS - {'a', 'img'})})\s[^>]*>")
_LINK_OR_IMG = re.compile(r"<(a|img)(\s[^>]*)?>")
_ATTR = re.compile(r'\s([^\s=/>]+)="([^"]*)"')
_OTHER_BLOCKS = BLOCK_TAGS - ALLOWED_TAGS
# A tag that is not already a bare whitelisted one (`<p>`, `</p>`, `<a>`…): (slash, name, rest).
_REWRITE_TAG = re.compile(
    rf"<(?!/?(?:{_alternation(ALLOWED_TAGS - {'img'})})>|/img>)(/?)([a-zA-Z][^\s/>]*)([^>]*)>"
)
_BREAK = "\x00"  # paragraph mark in the text pass; lexbor turns NUL in input into U+FFFD
# Every ASCII whitespace but the space, and the two others bodies are full of (NBSP, U+3000).
_COMMON_SPACES = "\n\t\r\x0b\x0c\x1c\x1d\x1e\x1f\xa0\u3000"
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Blocks that vanish when they hold only whitespace and <br>.
_EMPTIABLE = _alternation(
    {
        "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "thead",
        "tbody", "tfoot", "tr", "td", "th", "figure", "figcaption", "caption",
    }
    | _HEADINGS
)  # fmt: skip
_EMPTY_BLOCK = re.compile(rf"<({_EMPTIABLE})>(?:\s|&nbsp;|<br>)*</\1>")
# Innermost text blocks, for dropping the ones that hold only a tool-bar label.
_TEXT_BLOCK = _alternation({"p", "div", "li", "td", "th", "dt", "dd", "center"} | _HEADINGS)
_INNER_BLOCK = re.compile(
    rf"<({_TEXT_BLOCK})>((?:(?!<(?:{_TEXT_BLOCK})>).)*?)</\1>",
    re.DOTALL,
)
_UNWRAP = ("span", "font")
# A chrome selector that is one element type with classes or ids (`div.tool`) can only match
# where that type occurs; others (`#relnews_list`) can match anywhere.
_TYPED = re.compile(r"([a-zA-Z][\w-]*)(?:[.#][\w-]+)*")
_CHROME_TYPES: tuple[tuple[str, str | None], ...] = tuple(
    (sel, m.group(1).lower() if (m := _TYPED.fullmatch(sel)) else None) for sel in CHROME_SELECTORS
)


@lru_cache(maxsize=256)
def _junk_css(present: frozenset[str]) -> str:
    """The junk selectors (`DROP_TAGS`, `CHROME_SELECTORS`) that can match among `present` types.

    Lexbor walks the tree once per selector of a list, so the full list of 40 costs a microsecond
    per element; a body holds a handful of element types, so most selectors need no walk at all.
    """
    drop = [tag for tag in sorted(DROP_TAGS) if tag in present]
    return ", ".join(drop + [sel for sel, tag in _CHROME_TYPES if tag is None or tag in present])


@dataclass(frozen=True, slots=True)
class Body:
    """What a content node yields: its paragraphs and its sanitized HTML."""

    paragraphs: tuple[str, ...]
    html: str

    @property
    def text(self) -> str:
        """Paragraphs separated by a blank line."""
        return join_paragraphs(list(self.paragraphs))


def remove_chrome(node: LexborNode) -> None:
    """Remove the built-in chrome boxes (`chrome.CHROME_SELECTORS`) found under `node`."""
    for junk in outermost(list(node.css(CHROME_CSS))):
        junk.decompose()


def _split_paragraphs(html: str) -> list[str]:
    if "!" in html:  # every comment and declaration starts with `<!`
        html = _COMMENT.sub("", html)
    parts = _BLOCK_TAGS.split(html)
    # Each paragraph is " ".join(part.split()) of its part, computed without splitting every word:
    # the common whitespace becomes spaces (whitespace is inert under NFC and invisible-character
    # removal, so this changes nothing below), then a part is only stripped unless it still holds
    # a run of spaces or, outside ASCII, a character str.isprintable() rejects (other whitespace,
    # the invisible characters, controls), which takes the full path.
    if "&" in html or _BREAK in html or any("<" in part for part in parts):
        # Inline tags and entities: removed and decoded over the whole text, as a tag or an
        # entity cut by a block boundary would be (and a NUL in the input breaks a paragraph).
        text = _BREAK.join(parts)
        if "<" in text:
            text = _ANY_TAG.sub("", _CELL_TAG.sub(" ", text))
        text = htmllib.unescape(text)
        for space in _COMMON_SPACES:
            if space in text:
                text = text.replace(space, " ")
        parts = text.split(_BREAK)
    else:  # the parts are text already
        for space in _COMMON_SPACES:
            if space in html:
                parts = [part.replace(space, " ") for part in parts]
    paragraphs = []
    for part in parts:
        if part.isascii():
            part = " ".join(part.split()) if "  " in part else part.strip()
        elif part.isprintable():
            part = unicodedata.normalize("NFC", part)
            part = " ".join(part.split()) if "  " in part else part.strip()
        else:
            part = " ".join(unicodedata.normalize("NFC", strip_invisible(part)).split())
        if part:
            paragraphs.append(part)
    return paragraphs


def _drop_chrome_blocks(html: str) -> str:
    """Remove innermost blocks of sanitized HTML whose whole text is a tool-bar label."""

    def block(m: re.Match[str]) -> str:
        text = " ".join(htmllib.unescape(_ANY_TAG.sub("", m.group(2))).split())
        return "" if is_chrome_phrase(text) else m.group(0)

    return _INNER_BLOCK.sub(block, html)


def _absolute(value: str | None, base: Resolver, schemes: frozenset[str]) -> str | None:
    if not value:
        return None
    try:
        url = base.resolve(htmllib.unescape(value).strip())
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in schemes else None


def _link_or_img(name: str, attrs_text: str, resolver: Resolver) -> str:
    """`<a>` with its absolute href only, `<img>` with its absolute src only (no src: dropped)."""
    attrs = dict(_ATTR.findall(attrs_text))
    if name == "a":
        href = _absolute(attrs.get("href"), resolver, _LINK_SCHEMES)
        return f'<a href="{htmllib.escape(href)}">' if href else "<a>"
    src = _absolute(attrs.get("src"), resolver, _IMG_SCHEMES)
    return f'<img src="{htmllib.escape(src)}">' if src else ""


class _Rewrite:
    """One tag of `_REWRITE_TAG` as the four passes of `_rewrite_in_passes` would leave it.

    That holds when every `<` opens a tag that closes before the next `<` (then each pass acts on
    each tag alone), as in lexbor's serialization, which escapes `<` in text and attributes. Raw
    text (`<xmp>`) and broken tag names (`<b<i>`) can hold a bare `<`: a tag with a `<` inside,
    or a removed tag right after a `<` (the passes would join the two), sets `irregular`, and the
    caller runs the passes instead.
    """

    __slots__ = ("irregular", "resolver")

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.irregular = False

    def __call__(self, m: re.Match[str]) -> str:
        slash, name, rest = m.group(1, 2, 3)
        if "<" in name or "<" in rest:
            self.irregular = True
        if name in _OTHER_BLOCKS:
            return "</div>" if slash else "<div>"
        if name not in ALLOWED_TAGS:
            if m.start() and m.string[m.start() - 1] == "<":
                self.irregular = True
            return ""
        if slash or (rest and not rest[0].isspace()):  # `</p >`, `<br/>`: kept as they are
            return m.group(0)
        if name == "a" or name == "img":
            return _link_or_img(name, rest, self.resolver)
        return f"<{name}>" if rest else m.group(0)


# Block elements outside the whitelist become `<div>`, other unknown tags go, whitelisted tags
# lose their attributes except a link's href and an image's src: four passes, each exact on any
# input. Callables, not templates: Python 3.11 expands an `r"<\1>"` template in Python.
def _rewrite_in_passes(html: str, resolver: Resolver) -> str:
    out = _FOREIGN_TAG.sub("", _OTHER_BLOCK.sub(lambda m: f"<{m.group(1)}div>", html))
    out = _ATTRIBUTED.sub(lambda m: f"<{m.group(1)}>", out)
    return _LINK_OR_IMG.sub(lambda m: _link_or_img(m.group(1), m.group(2) or "", resolver), out)


def sanitize(html: str, base_url: str) -> str:
    """Serialized (lexbor) HTML reduced to the whitelist, with absolute `href`/`src` only."""
    resolver = Resolver(base_url)
    if "!" in html:  # every comment and declaration starts with `<!`
        html = _COMMENT.sub("", html)
    rewrite = _Rewrite(resolver)
    out = _REWRITE_TAG.sub(rewrite, html)
    if rewrite.irregular:
        out = _rewrite_in_passes(html, resolver)
    for _ in range(4):  # nested empty blocks vanish from the inside out
        out, removed = _EMPTY_BLOCK.subn("", out)
        if not removed:
            break
    return out.strip()


def extract_body(nodes: list[LexborNode], base_url: str) -> Body:
    """Paragraphs and sanitized HTML of `nodes` (in order), scripts and chrome boxes removed first.

    The nodes are modified (their chrome is removed from the tree).
    """
    parts = []
    for node in outermost(nodes):
        # Element types under the node (itself included), lower-cased: a type selector can only
        # match an element whose name lower-cases to it.
        present = frozenset({element.tag.lower() for element in node.css("*") if element.tag})
        junk_css = _junk_css(present)
        if junk_css:
            for junk in outermost(list(node.css(junk_css))):
                junk.decompose()
        # The commonest wrappers, unwrapped by lexbor, leave far less for the regexes below.
        unwrap = [tag for tag in _UNWRAP if tag in present]
        if unwrap:
            node.unwrap_tags(unwrap)
        # A whole <body> (feed content, generic output) contributes its content, not itself.
        parts.append((node.inner_html if node.tag == "body" else node.html) or "")
    cleaned = sanitize("\n".join(parts), base_url)
    # The text is read from the sanitized HTML: same text and breaks, a fraction of the bytes.
    found = _split_paragraphs(cleaned)
    kept = tuple(p for p in found if len(p) > MAX_PHRASE_CHARS or not is_chrome_phrase(p))
    if len(kept) != len(found):
        cleaned = _drop_chrome_blocks(cleaned)
    return Body(kept, cleaned)
