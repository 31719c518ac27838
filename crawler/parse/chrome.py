"""Page chrome the article parsers drop, as declared tables (grouped by where it was seen).

`CHROME_SELECTORS` are removed inside the selected body before text is taken (so they can be
broad without touching the rest of the page); `CHROME_PHRASES` are whole paragraphs that are
tool-bar labels, never content, and are dropped when a paragraph is exactly one of them.
`DROP_TAGS` are elements removed with everything inside them.
"""

from __future__ import annotations

DROP_TAGS: frozenset[str] = frozenset(
    {
        # Code and styling.
        "script", "style", "noscript", "template", "link", "meta", "head", "title",
        # Embedded or interactive things that are never article text.
        "iframe", "object", "embed", "applet", "frame", "frameset", "svg", "canvas", "map",
        "form", "input", "select", "option", "textarea", "button", "label", "fieldset",
    }
)  # fmt: skip

CHROME_SELECTORS: tuple[str, ...] = (
    # fmprc English template: "Suggest to a friend" e-mail form, "Print", search form, and the
    # hidden Appendix / Related News boxes all sit in div.tool after div.content.
    "div.tool",
    "#Appendix_article",
    "#id_RelNewsList",
    # fmprc Chinese template: attachments and related news with their own dates.
    "#appendix_list",
    "#relnews_list",
    # mofa.go.jp share buttons inside div#maincontents.
    "div.social-btn-top",
    # Generic share / print / related boxes of common CMSs.
    "div.share",
    "div.sharing",
    "ul.share",
    "div.print",
    "div.related-news",
    "div.related-posts",
    "aside.related",
    "nav",
)
CHROME_CSS = ", ".join(CHROME_SELECTORS)

CHROME_PHRASES: frozenset[str] = frozenset(
    {
        # fmprc English tool bar.
        "suggest to a friend",
        "suggest to a friend:",
        "<suggest to a friend>",
        "print",
        "appendix:",
        "related news:",
        "please enter e-mail",
        # fmprc Chinese tool bar.
        "打印本页",
        "[字体:大 中 小]",
        "[字体：大 中 小]",
        "附件",
        "相关新闻",
        "关闭窗口",
        # mofa.go.jp English footers.
        "back to press releases",
        "back to index",
        "page top",
    }
)


# No paragraph longer than this is a tool-bar label (callers may skip the test on longer ones).
MAX_PHRASE_CHARS = 40


def is_chrome_phrase(paragraph: str) -> bool:
    """True when the whole paragraph is a tool-bar label such as `Print` or `打印本页`."""
    return len(paragraph) <= MAX_PHRASE_CHARS and paragraph.casefold().strip() in CHROME_PHRASES
