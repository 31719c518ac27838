"""Guessing a source from one fetched page, for `mfawatch sources add`.

A feed is told from an HTML page by its media type or its root element. On an HTML listing,
the list is the largest group of repeated elements (siblings of one tag and class) that each hold
a link with a title-length text; its `item` selector is the element's tag and class below the
nearest ancestor with an id or a class, and its `link` the first link that carries the title.
Nothing here fetches or writes: the command does.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

MIN_ITEMS = 3  # fewer repeated links is no list
MIN_TITLE = 12  # characters of link text: menu words are shorter than headlines
_IDENT = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_-]*$")
_SKIP_LINKS = ("#", "javascript:", "mailto:", "tel:")
_CHROME = {"nav", "header", "footer", "aside"}
_VOLATILE_CLASSES = {"odd", "even", "first", "last", "active", "current", "selected", "on"}
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
_FEED_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(rss|feed|rdf:RDF)\b", re.S)


@dataclass(frozen=True)
class ListGuess:
    """The guessed `list:` selectors and how many items they match."""

    item: str
    link: str
    items: int


def is_feed(content_type: str, body: bytes) -> bool:
    """True for an RSS/Atom/RDF document (by media type, or by its root element)."""
    media = content_type.split(";")[0].strip().lower()
    if media in _FEED_TYPES:
        return True
    return bool(_FEED_ROOT.match(body[:4096]))


def feed_links(html: str, base_url: str) -> list[str]:
    """The feeds an HTML page advertises (`<link rel=alternate type=application/rss+xml>`)."""
    tree = LexborHTMLParser(html)
    out = []
    for node in tree.css("link[rel~=alternate][href]"):
        if (node.attributes.get("type") or "").lower() in _FEED_TYPES:
            out.append(urljoin(base_url, node.attributes.get("href") or ""))
    return list(dict.fromkeys(out))


def _classes(node: LexborNode) -> list[str]:
    raw = node.attributes.get("class") or ""
    return [c for c in raw.split() if _IDENT.match(c) and c.lower() not in _VOLATILE_CLASSES]


def _own_selector(node: LexborNode) -> tuple[str, bool]:
    """`tag#id` or `tag.class` (True: it is distinctive), else the bare tag (False)."""
    node_id = node.attributes.get("id") or ""
    if node_id and _IDENT.match(node_id):
        return f"{node.tag}#{node_id}", True
    classes = _classes(node)
    if classes:
        return f"{node.tag}.{classes[0]}", True
    return str(node.tag), False


def _signature(node: LexborNode) -> tuple[str, tuple[str, ...]]:
    return str(node.tag), tuple(sorted(_classes(node)))


def _repeated_ancestor(link: LexborNode) -> LexborNode | None:
    node = link.parent
    for _ in range(6):
        if node is None or node.parent is None or node.tag in ("body", "html"):
            return None
        if node.tag in _CHROME:
            return None
        sig = _signature(node)
        same = sum(1 for sib in node.parent.iter() if _signature(sib) == sig)
        if same >= MIN_ITEMS:
            return node
        node = node.parent
    return None


def _in_chrome(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in _CHROME:
            return True
        parent = parent.parent
    return False


def _item_selector(item: LexborNode) -> str:
    tag, classes = _signature(item)
    own = tag + ("." + ".".join(classes[:2]) if classes else "")
    parts = [own]
    node = item.parent
    for _ in range(4):
        if node is None or node.tag in ("body", "html"):
            break
        sel, distinctive = _own_selector(node)
        parts.insert(0, sel)
        if distinctive:
            break
        node = node.parent
    return " ".join(parts)


def _link_selector(item: LexborNode, link: LexborNode) -> str:
    first = item.css_first("a[href]")
    if first is not None and first.mem_id == link.mem_id:
        return "a"
    parent = link.parent
    if parent is not None and parent.mem_id != item.mem_id:
        candidate = f"{parent.tag} a"
        found = item.css_first(candidate)
        if found is not None and found.mem_id == link.mem_id:
            return candidate
    classes = _classes(link)
    return f"a.{classes[0]}" if classes else "a"


def guess_list(html: str) -> ListGuess | None:
    """The `list:` selectors of the page's main list of links, or None when there is none."""
    tree = LexborHTMLParser(html)
    groups: dict[str, list[tuple[LexborNode, LexborNode, str]]] = {}
    for link in tree.css("a[href]"):
        href = (link.attributes.get("href") or "").strip()
        text = " ".join(link.text(deep=True).split())
        if not href or href.lower().startswith(_SKIP_LINKS) or len(text) < MIN_TITLE:
            continue
        item = _repeated_ancestor(link)
        if item is None or _in_chrome(item):
            continue
        groups.setdefault(_item_selector(item), []).append((item, link, text))
    best: tuple[float, ListGuess] | None = None
    for selector, members in groups.items():
        items = {item.mem_id: (item, link) for item, link, _ in members}
        if len(items) < MIN_ITEMS:
            continue
        matched = tree.css(selector)
        if len(matched) < MIN_ITEMS:
            continue
        links = Counter(_link_selector(item, link) for item, link in items.values())
        link_sel = links.most_common(1)[0][0]
        texts = sorted(len(t) for _, _, t in members)
        score = len(items) * texts[len(texts) // 2]
        guess = ListGuess(selector, link_sel, len(matched))
        if best is None or score > best[0]:
            best = (score, guess)
    return best[1] if best else None


def page_title(html: str) -> str:
    """The page's `<title>` (or first `<h1>`), whitespace collapsed."""
    tree = LexborHTMLParser(html)
    for sel in ("title", "h1"):
        node = tree.css_first(sel)
        if node is not None and node.text(deep=True).strip():
            return " ".join(node.text(deep=True).split())
    return ""


# Scripts that name one language among the presets' (Cyrillic is Russian's here: a Ukrainian or
# Bulgarian page says so in `<html lang>`, which is read first). Kana before Han: Japanese text
# mixes both, Chinese has no kana.
_SCRIPT_LANGUAGE = (
    ("ja", r"[\p{Hiragana}\p{Katakana}]"),
    ("zh", r"\p{Han}"),
    ("ko", r"\p{Hangul}"),
    ("ru", r"\p{Cyrillic}"),
    ("ar", r"\p{Arabic}"),
    ("hi", r"\p{Devanagari}"),
)


def page_language(html: str) -> str | None:
    """The page's primary language: `<html lang>`, else a content-language `<meta>`, else the
    script of its visible text when that script names one language (Han -> zh, kana -> ja,
    Cyrillic -> ru...); None for Latin text without a declaration (en, fr, de... look alike)."""
    tree = LexborHTMLParser(html)
    node = tree.css_first("html")
    declared = [(node.attributes.get("lang") or "") if node is not None else ""]
    for meta in tree.css("meta[http-equiv], meta[name]"):
        kind = (meta.attributes.get("http-equiv") or meta.attributes.get("name") or "").lower()
        if kind in ("content-language", "language", "dc.language"):
            declared.append(meta.attributes.get("content") or "")
    for lang in declared:
        primary = lang.split(",")[0].split("-")[0].split("_")[0].strip().lower()
        if re.fullmatch(r"[a-z]{2,3}", primary):
            return primary
    tree.strip_tags(["script", "style", "noscript", "template"])
    return script_language(tree.body.text(separator=" ") if tree.body is not None else "")


def script_language(text: str) -> str | None:
    """The language a text's non-Latin script names, when at least a fifth of its letters are in
    it (kana wins over Han at a twentieth: Japanese is mostly kanji); None otherwise."""
    import regex

    letters = len(regex.findall(r"\p{L}", text))
    if not letters:
        return None
    counts = {lang: len(regex.findall(pattern, text)) for lang, pattern in _SCRIPT_LANGUAGE}
    if counts["ja"] * 20 >= letters:
        return "ja"
    lang, count = max(counts.items(), key=lambda kv: kv[1])
    return lang if count * 5 >= letters else None


_TLD_COUNTRY = {"uk": "GB", "gov": "US", "mil": "US", "eu": "EU"}


def country_of(url: str) -> str | None:
    """A country code guessed from the host's top-level domain (`.cn` -> CN), if any."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    tld = host.rsplit(".", 1)[-1] if "." in host else ""
    if tld.isdigit() or not tld:
        return None
    if tld in _TLD_COUNTRY:
        return _TLD_COUNTRY[tld] if tld != "eu" else None
    return tld.upper() if len(tld) == 2 and tld.isalpha() else None


def key_for(url: str, taken: set[str]) -> str:
    """A source key from the URL's host (`www.fmprc.gov.cn` -> `fmprc-gov-cn`), made unique."""
    host = (urlsplit(url).hostname or "source").lower().removeprefix("www.")
    base = re.sub(r"[^a-z0-9]+", "-", host).strip("-")[:56] or "source"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key
