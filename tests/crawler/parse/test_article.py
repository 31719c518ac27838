"""Article pages: selectors, `remove:`, date fallbacks, section, paragraphs and sanitized HTML."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from crawler.config import Source
from crawler.errors import SelectorMatchedNothing, SoftErrorPage
from crawler.model import ListingItem, Page
from crawler.parse.article import breadcrumb_section, parse_article
from storage.model import ArticleDate, DatePrecision, DateSource
from tests.crawler.parse.support import real_page, source_for

URL = "https://www.example.gov/news/2020/07/t1.html"


def _source(article: dict[str, Any] | None, **extra: Any) -> Source:
    return Source.model_validate(
        {
            "key": "test",
            "name": "Test ministry",
            "country": "FR",
            "language": "fr",
            "timezone": "Europe/Paris",
            "listings": [{"url": "https://www.example.gov/news/"}],
            "list": {"item": "li"},
            "article": article,
            **extra,
        }
    )


def _page(
    page_from: Callable[..., Page], body: str, head: str = "<title>Site title</title>"
) -> Page:
    return page_from(f"<html><head>{head}</head><body>{body}</body></html>", URL)


def test_paragraph_breaks_and_whitespace(page_from: Callable[..., Page]) -> None:
    """<p>, <br>, <div> and list items make paragraphs; whitespace, NBSP and U+3000 indents collapse."""
    body = """<div class="c">
      <p>　　第一段　内容。</p>
      <p>Line one<br>Line two<br><br>Line three</p>
      <div>In a <b>div</b>&nbsp;&nbsp;block</div>
      <ul><li>item one</li><li>item   two</li></ul>
      <p>Zero\u200bwidth and soft\u00adhyphen</p>
      <table><tr><td>cell a</td><td>cell b</td></tr></table>
    </div>"""
    art = parse_article(_page(page_from, body), _source({"body": "div.c"}))
    assert art.paragraphs == [
        "第一段 内容。",
        "Line one",
        "Line two",
        "Line three",
        "In a div block",
        "item one",
        "item two",
        "Zerowidth and softhyphen",
        "cell a cell b",
    ]
    assert art.body_text == "\n\n".join(art.paragraphs)


def test_image_only_paragraphs_are_dropped_from_text(page_from: Callable[..., Page]) -> None:
    """Photo paragraphs do not count as text, but the image stays in the HTML with an absolute src."""
    body = '<div class="c"><p align="center"><img src="./W0202007.jpg"></p><p>Text.</p></div>'
    art = parse_article(_page(page_from, body), _source({"body": "div.c"}))
    assert art.paragraphs == ["Text."]
    assert '<img src="https://www.example.gov/news/2020/07/W0202007.jpg">' in art.body_html


def test_body_html_is_sanitized(page_from: Callable[..., Page]) -> None:
    """Only whitelisted tags survive, without attributes except absolute href/src; scripts vanish."""
    body = """<div class="c">
      <p style="color:red" onclick="steal()">Hello <a href="../about.html" onmouseover="x()">link</a>
      <a href="javascript:alert(1)">bad</a> <span class="x">span</span></p>
      <script>var secret = 1;</script><style>p{}</style>
      <iframe src="https://ads.example"></iframe>
      <form><input value="Please enter E-mail"></form>
      <img src="javascript:alert(2)"><img src="data:image/png;base64,AAAA">
      <p><svg><script>alert(3)</script></svg>After</p>
      <!-- a comment -->
    </div>"""
    art = parse_article(_page(page_from, body), _source({"body": "div.c"}))
    html = art.body_html
    assert '<a href="https://www.example.gov/news/2020/about.html">link</a>' in html
    assert "<a>bad</a>" in html
    for bad in (
        "onclick",
        "onmouseover",
        "style",
        "javascript",
        "<script",
        "secret",
        "iframe",
        "<form",
        "<input",
        "<svg",
        "alert",
        "<span",
        "data:",
        "comment",
        "class=",
    ):
        assert bad not in html, bad
    assert art.paragraphs == ["Hello link bad span", "After"]


def test_remove_selectors_and_builtin_chrome(page_from: Callable[..., Page]) -> None:
    """`remove:` selectors go first (anywhere), built-in chrome boxes and tool-bar labels are dropped."""
    body = """<div class="c"><p>Body text.</p><div class="ad">Advert</div>
      <div id="relnews_list"><li><a href="./t1.shtml">Old news</a>(2020-06-18)</li></div>
      <div class="tool">Suggest to a friend</div><p>Print</p><p>打印本页</p></div>"""
    art = parse_article(_page(page_from, body), _source({"body": "div.c", "remove": ["div.ad"]}))
    assert art.paragraphs == ["Body text."]
    assert (
        "Print" not in art.body_html
        and "Advert" not in art.body_html
        and "Old news" not in art.body_html
    )


def test_several_body_matches_are_joined_in_order(page_from: Callable[..., Page]) -> None:
    """A body selector matching several blocks (and nested ones) takes each text once, in order."""
    body = '<div class="p">One<div class="p">Two</div></div><div class="p">Three</div>'
    art = parse_article(_page(page_from, body), _source({"body": "div.p"}))
    assert art.paragraphs == ["One", "Two", "Three"]


def test_body_selector_matching_nothing_is_an_error(page_from: Callable[..., Page]) -> None:
    """A configured body selector that matches nothing raises SelectorMatchedNothing for article.body."""
    with pytest.raises(SelectorMatchedNothing) as err:
        parse_article(_page(page_from, "<p>x</p>"), _source({"body": "div.content"}))
    assert err.value.field == "article.body" and err.value.selector == "div.content"
    assert err.value.url == URL


def test_title_falls_back_to_the_page_title(page_from: Callable[..., Page]) -> None:
    """A title selector that matches nothing falls back to <title>, whitespace-normalized."""
    page = _page(
        page_from,
        '<div class="c"><p>x</p></div>',
        head="<title>  Déclaration\n du porte-parole </title>",
    )
    art = parse_article(page, _source({"title": "h1.missing", "body": "div.c"}))
    assert art.title == "Déclaration du porte-parole"
    assert art.language == "fr"


def test_date_order_page_then_listing_then_title(page_from: Callable[..., Page]) -> None:
    """The page's date element wins; an empty one falls back to the listing date, then the title."""
    src = _source({"title": "h1", "date": "span.date", "body": "div.c"})
    item_date = ArticleDate(date(2020, 7, 2), DatePrecision.DAY, DateSource.LISTING)
    item = ListingItem(url=URL, title="t", date=item_date, section="Actualités")

    full = _page(
        page_from,
        '<h1>Point de presse du 1er juillet 2020</h1><span class="date">3 juillet 2020 14h30</span><div class="c"><p>x</p></div>',
    )
    art = parse_article(full, src, item)
    assert art.date_source is DateSource.PAGE and art.date_precision is DatePrecision.MINUTE
    assert (
        art.published_at is not None
        and art.published_at.strftime("%Y-%m-%d %H:%M %z") == "2020-07-03 14:30 +0200"
    )

    empty = _page(
        page_from,
        '<h1>Point de presse du 1er juillet 2020</h1><span class="date"></span><div class="c"><p>x</p></div>',
    )
    assert parse_article(empty, src, item).date == item_date
    by_title = parse_article(empty, src)
    assert by_title.date_source is DateSource.TITLE and by_title.published_date == date(2020, 7, 1)
    no_date = _page(page_from, '<h1>Communiqué</h1><div class="c"><p>x</p></div>')
    assert parse_article(no_date, src).date is None


def test_section_from_listing_else_breadcrumb(page_from: Callable[..., Page]) -> None:
    """The listing item's section wins; without an item the breadcrumb's last segment is used."""
    body = '<div class="crumb"><a href="/">Accueil</a> &gt; <a href="/presse/">Salle de presse</a></div><div class="c"><p>x</p></div>'
    src = _source({"body": "div.c", "section": "div.crumb"})
    assert parse_article(_page(page_from, body), src).section == "Salle de presse"
    item = ListingItem(url=URL, title="t", section="Déclarations")
    assert parse_article(_page(page_from, body), src, item).section == "Déclarations"
    assert parse_article(_page(page_from, '<div class="c"><p>x</p></div>'), src).section is None


@pytest.mark.parametrize(
    ("crumb", "section"),
    [
        (
            "Home > Press and Media Service > Spokesperson's Remarks > Regular Press Conference",
            "Regular Press Conference",
        ),
        ("首页 > 外交动态 > 发言人表态", "发言人表态"),
        ("Home › News › ", "News"),
        ("   ", None),
    ],
)
def test_breadcrumb_section(crumb: str, section: str | None) -> None:
    """The last non-empty segment of a breadcrumb is its section."""
    assert breadcrumb_section(crumb) == section


def test_soft_error_page_is_never_an_article() -> None:
    """The real fmprc error page raises SoftErrorPage instead of becoming an article."""
    with pytest.raises(SoftErrorPage):
        parse_article(real_page("china-error-1"), source_for("china-error-1"))


def test_mixed_source_title_selector_generic_body() -> None:
    """A source with a title selector but no body selector gets its body from generic extraction."""
    name = "china-en-article-1"
    src = source_for(name, article={"title": "h2.title", "date": "#News_Body_Time"})
    art = parse_article(real_page(name), src)
    assert (
        art.title
        == "Foreign Ministry Spokesperson Zhao Lijian's Regular Press Conference on July 3, 2020"
    )
    assert art.body_text.startswith("CCTV: The foreign ministry of Laos issued a statement")
    assert art.published_date == date(2020, 7, 3) and art.date_source is DateSource.TITLE
    assert "Suggest to a friend" not in art.body_text
