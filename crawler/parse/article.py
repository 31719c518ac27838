"""An article page to the common `Article` through the source's `article:` selectors.

Order of work: reject soft errors and walls (`soft_errors.check`); remove the source's `remove:`
selectors from the whole page; read the title (selector, else generic extraction's title, else
`<title>`, else the listing title); take the body from the `body` selector (all matches, in
order, with the built-in chrome boxes removed inside them), or from generic extraction when the
source has no body selector. A source may mix: selectors for the title and date, generic for the
body.

The date is the first of: the page's date selector (`page`); for sources without one that use
generic extraction, a date in known page markup (`page`); the listing item's date (`listing` or
`title`); a date written in the title (`title`); htmldate's guess (generic only, `page`); else none. The section is the listing's section, else the
last segment of the `section` (breadcrumb) selector.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from crawler.config import Source
from crawler.errors import SelectorMatchedNothing
from crawler.model import ListingItem, Page
from crawler.parse import soft_errors
from crawler.parse.body import Body, extract_body, remove_chrome
from crawler.parse.dates import find_date, parse_date
from crawler.parse.generic import Generic, extract_generic
from crawler.parse.listing import languages_of
from crawler.parse.markers import article_markers, page_markers
from crawler.parse.select import outermost, select, select_all, select_value, split_selector
from crawler.parse.text import clean
from storage.model import Article, ArticleDate, DateSource

# Breadcrumb separators: "Home > China News", "首页 > 外交动态 > 发言人表态", "Home › News".
_CRUMB_SPLIT = re.compile(r"\s*(?:>|›|»|→|＞|\|)\s*")
# Pseudo-classes (`:first-child`, `:has()`) and sibling combinators (`+`, `~`) can match
# differently once other nodes are gone.
_ORDER_DEPENDENT = re.compile(r"[:+~]")


def breadcrumb_section(text: str) -> str | None:
    """The last segment of a breadcrumb text (`Home > China News` -> `China News`)."""
    parts = [p for p in _CRUMB_SPLIT.split(clean(text)) if p]
    return parts[-1] if parts else None


def _remove(tree: LexborHTMLParser, rules: Sequence[str], url: str) -> None:
    """Decompose what each `remove:` rule matches, in order (a rule sees what the ones before left).

    Rules made of types, classes, ids, attributes and descendant or child combinators match the
    same surviving nodes whatever was removed before them (removal takes whole subtrees, so no
    survivor loses an ancestor), so such rules are applied in one traversal.
    """
    css = [split_selector(rule)[0] for rule in rules]
    if len(css) > 1 and not any(_ORDER_DEPENDENT.search(c) for c in css):
        try:
            found = tree.css(", ".join(css))
        except SelectolaxError:
            pass  # one rule is invalid: the loop below names it
        else:
            for node in outermost(found):
                node.decompose()
            return
    for rule in rules:
        for node in select_all(tree, rule, url=url, field="article.remove"):
            node.decompose()


def parse_article(page: Page, source: Source, item: ListingItem | None = None) -> Article:
    """One article page to an `Article` (url = the page's final URL; the pipeline canonicalizes)."""
    soft_errors.check(page)
    url = page.url
    sel = source.article
    zone = source.zone
    langs = languages_of(source)
    tree = LexborHTMLParser(page.text)
    marked = page_markers(tree)  # before `remove:`, which often drops scripts
    if sel is not None and sel.remove:
        _remove(tree, sel.remove, url)

    title = ""
    date: ArticleDate | None = None
    section: str | None = None
    shown: str | None = None
    if sel is not None and sel.title:
        title = select_value(tree, sel.title, url=url, field="article.title") or ""
    if sel is not None and sel.date:
        text = shown = select_value(tree, sel.date, url=url, field="article.date")
        if text:
            seen = page.raw.fetched_at.astimezone(zone).date()  # for year-less dates
            date = parse_date(text, zone, DateSource.PAGE, languages=langs, context=seen)
    if sel is not None and sel.section:
        crumb = select(tree, sel.section, url=url, field="article.section")
        if crumb is not None:
            section = breadcrumb_section(crumb.text(deep=True, separator=" "))

    generic: Generic | None = None
    if sel is not None and sel.body:
        nodes = select_all(tree, sel.body, url=url, field="article.body")
        if not nodes:
            raise SelectorMatchedNothing(url, "article.body", sel.body)
        body = extract_body(nodes, url)
    else:
        if tree.root is not None:
            remove_chrome(tree.root)
        generic = extract_generic(tree, url, zone, languages=langs)
        body = generic.body or Body((), "")

    if not title and generic is not None:
        title = generic.title
    if not title:
        title = select_value(tree, "title", url=url, field="title") or ""
    if not title and item is not None:
        title = item.title
    if date is None and generic is not None and generic.date is not None and not (sel and sel.date):
        date = generic.date
    if date is None and item is not None:
        date = item.date
    if date is None and title:
        date = find_date(title, zone, DateSource.TITLE, languages=langs)
    if date is None and generic is not None:
        date = generic.guessed_date
    if item is not None and item.section:
        section = item.section
    return Article(
        source=source.key,
        url=url,
        title=title,
        body_text=body.text,
        body_html=body.html,
        date=date,
        section=section,
        language=source.language,
        markers=article_markers(marked, displayed=shown, body_text=body.text),
    )
