"""A content node to body text (paragraphs) and sanitized body HTML.

Paragraph breaks come from block elements (`<p>`, `<div>`, headings, list items, table rows…) and
`<br>`; whitespace inside a paragraph collapses to one space (U+3000 indents and NBSP included);
empty and image-only paragraphs disappear from the text, and so do paragraphs that are only a
tool-bar label (`Print`, `打印本页`).

The HTML keeps only the `ALLOWED_TAGS` whitelist, with no attributes except `href` on links and
`src` on images, both made absolute (http, https and, for links, mailto only). Everything in
`chrome.DROP_TAGS` is removed with its content; other unknown tags are unwrapped; empty blocks go.

Speed: the DOM work (dropping scripts and chrome boxes) is done by lexbor; the rest is a few
regular-expression passes over lexbor's own serialization of the node, which is well-formed
(attributes always `name="value"`, `<`, `>`, `&` and `"` escaped), so a tag pattern is exact.
A Python walk over the nodes was 10x slower.
"""

from __future__ import annotations

import html as htmllib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from crawler.parse.chrome import CHROME_CSS, DROP_TAGS, is_chrome_phrase
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
VOID_TAGS: frozenset[str] = frozenset({"br", "hr", "img"})
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_IMG_SCHEMES = frozenset({"http", "https"})

# Patterns over lexbor's serialization. It escapes `<`, `>` and `&` in text and in attribute values
# and writes tag names in lower case, so `<[^>]*>` is exactly one tag; comments go first.
_COMMENT = re.compile(r"<!--.*?-->|<![^>]*>", re.DOTALL)


def _tags(names: frozenset[str]) -> str:
    return "|".join(sorted(names, key=len, reverse=True))


_BLOCK_TAG = re.compile(rf"</?(?:{_tags(BLOCK_TAGS)})(?=[\s/>])[^>]*>")
_CELL_TAG = re.compile(rf"</?(?:{_tags(CELL_TAGS)})(?=[\s/>])[^>]*>")
_ANY_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
# Block elements outside the whitelist become <div>, so paragraph breaks survive sanitizing.
_OTHER_BLOCK = re.compile(rf"<(/?)(?:{_tags(BLOCK_TAGS - ALLOWED_TAGS)})(?=[\s/>])[^>]*>")
_FOREIGN_TAG = re.compile(rf"</?(?!(?:{_tags(ALLOWED_TAGS)})[\s/>])[a-zA-Z][^>]*>")
_ATTRIBUTED = re.compile(rf"<({_tags(ALLOWED_TAGS - {'a', 'img'})})\s[^>]*>")
_LINK_OR_IMG = re.compile(r"<(a|img)(\s[^>]*)?>")
_ATTR = re.compile(r'\s([^\s=/>]+)="([^"]*)"')
_BREAK = "\x00"  # paragraph mark in the text pass; lexbor turns NUL in input into U+FFFD
_EMPTY_BLOCK = re.compile(
    r"<(p|div|li|ul|ol|dl|dt|dd|blockquote|pre|h[1-6]|table|thead|tbody|tfoot|tr|td|th|figure|figcaption|caption)>"
    r"(?:\s|&nbsp;|<br>)*</\1>"
)
_INNER_BLOCK = re.compile(
    r"<(p|div|li|td|th|dt|dd|h[1-6]|center)>((?:(?!<(?:p|div|li|td|th|dt|dd|h[1-6]|center)>).)*?)</\1>",
    re.DOTALL,
)
_JUNK_CSS = ", ".join(sorted(DROP_TAGS)) + ", " + CHROME_CSS
_UNWRAP = ("span", "font")


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
    text = _BREAK.join(_BLOCK_TAG.split(_COMMENT.sub("", html)))
    text = htmllib.unescape(_ANY_TAG.sub("", _CELL_TAG.sub(" ", text)))
    if not text.isascii():
        text = unicodedata.normalize("NFC", strip_invisible(text))
    # str.split() knows every Unicode space (NBSP, U+3000…) and is far faster than a regex here.
    return [p for p in (" ".join(part.split()) for part in text.split(_BREAK)) if p]


def paragraphs_of(html: str) -> tuple[str, ...]:
    """The paragraphs of serialized (lexbor) HTML, whitespace-normalized, chrome labels dropped."""
    return tuple(p for p in _split_paragraphs(html) if not is_chrome_phrase(p))


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


def sanitize(html: str, base_url: str) -> str:
    """Serialized (lexbor) HTML reduced to the whitelist, with absolute `href`/`src` only."""
    resolver = Resolver(base_url)

    def link_or_img(m: re.Match[str]) -> str:
        attrs = dict(_ATTR.findall(m.group(2) or ""))
        if m.group(1) == "a":
            href = _absolute(attrs.get("href"), resolver, _LINK_SCHEMES)
            return f'<a href="{htmllib.escape(href)}">' if href else "<a>"
        src = _absolute(attrs.get("src"), resolver, _IMG_SCHEMES)
        return f'<img src="{htmllib.escape(src)}">' if src else ""

    out = _FOREIGN_TAG.sub("", _OTHER_BLOCK.sub(r"<\1div>", _COMMENT.sub("", html)))
    out = _LINK_OR_IMG.sub(link_or_img, _ATTRIBUTED.sub(r"<\1>", out))
    for _ in range(4):  # nested empty blocks vanish from the inside out
        shorter = _EMPTY_BLOCK.sub("", out)
        if shorter == out:
            break
        out = shorter
    return out.strip()


def extract_body(nodes: list[LexborNode], base_url: str) -> Body:
    """Paragraphs and sanitized HTML of `nodes` (in order), scripts and chrome boxes removed first.

    The nodes are modified (their chrome is removed from the tree).
    """
    parts = []
    for node in outermost(nodes):
        for junk in outermost(list(node.css(_JUNK_CSS))):  # one traversal for both tables
            junk.decompose()
        # The commonest wrappers, unwrapped by lexbor, leave far less for the regexes below.
        node.unwrap_tags(list(_UNWRAP))
        # A whole <body> (feed content, generic output) contributes its content, not itself.
        parts.append((node.inner_html if node.tag == "body" else node.html) or "")
    cleaned = sanitize("\n".join(parts), base_url)
    # The text is read from the sanitized HTML: same text and breaks, a fraction of the bytes.
    found = _split_paragraphs(cleaned)
    kept = tuple(p for p in found if not is_chrome_phrase(p))
    if len(kept) != len(found):
        cleaned = _drop_chrome_blocks(cleaned)
    return Body(kept, cleaned)
