"""Modification markers read from real pages: meta and JSON-LD dates, the date element's text,
correction notices, a feed's <updated>; and that they travel from a parse worker intact."""

from __future__ import annotations

from dataclasses import replace

import pytest
from selectolax.lexbor import LexborHTMLParser

from crawler.parse.article import parse_article
from crawler.parse.feed import article_from_feed_item, parse_feed
from crawler.parse.markers import article_markers, page_markers
from crawler.workers.frames import HEADER, answer, read_answer
from crawler.workers.prepare import Prepared
from storage.normalize import article_fingerprint
from tests.crawler.parse.support import build_page, real_page, source_for, source_url


def _zh(html: str):  # type: ignore[no-untyped-def]
    page = build_page(html.encode(), source_url("china-zh-article-1"))
    return parse_article(page, source_for("china-zh-article-1"))


ZH = real_page("china-zh-article-1").text


def test_a_real_page_without_markup_gives_its_displayed_date_only() -> None:
    """china-zh-article-1 has no meta or JSON-LD dates: only the date element's text."""
    article = parse_article(real_page("china-zh-article-1"), source_for("china-zh-article-1"))
    assert article.markers == (("displayed", "2020-06-30"),)


def test_meta_and_json_ld_modification_dates_survive_remove_rules() -> None:
    """The preset removes every <script>; JSON-LD dateModified is read before that."""
    head = (
        '<head><meta property="article:modified_time" content="2020-07-01T08:00:00+08:00">'
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": '
        '[{"@type": "NewsArticle", "dateModified": "2020-07-01T09:30:00+08:00"}]}</script>'
    )
    article = _zh(ZH.replace("<head>", head, 1))
    assert dict(article.markers) == {
        "displayed": "2020-06-30",
        "modified": "2020-07-01T08:00:00+08:00 | 2020-07-01T09:30:00+08:00",
    }
    # Not content: the same page without them has the same fingerprint.
    assert article_fingerprint(article) == article_fingerprint(_zh(ZH))


@pytest.mark.parametrize(
    "notice",
    [
        "（本文于2020年7月1日更新）",
        "更正：第三段中的日期有误，现已更正。",
        "Correction: an earlier version of this statement misquoted the spokesperson.",
        "Updated: July 1, 2020, 10:00",
        "Обновлено 1 июля 2020 г.",
        "[Mis à jour le 1er juillet 2020]",
        "This statement was updated on July 1 to correct a date.",
    ],
)
def test_a_notice_paragraph_is_a_marker(notice: str) -> None:
    body = '<div id="News_Body_Txt_A" class="content">'
    article = _zh(ZH.replace(body, f"{body}<p>{notice}</p>", 1))
    assert dict(article.markers)["notice"] == notice


@pytest.mark.parametrize(
    "text",
    [
        "中方将继续更新与各方的合作机制，推动地区和平稳定，这是我们一贯的立场。",  # 更新 mid-sentence
        "Update me on the talks, the minister said.",  # not "Update:"
        "Updated " + "long paragraph " * 20,  # over 200 characters: text, not a notice
    ],
)
def test_ordinary_text_is_no_notice(text: str) -> None:
    assert article_markers((), body_text=f"First paragraph.\n\n{text}") == ()


def test_a_feed_entry_updated_is_a_marker_and_an_rss_pubdate_is_not() -> None:
    """us-feed-1 (RSS, pubDate only) gives no marker; an Atom entry's <updated> does."""
    source = source_for("us-feed-1")
    items = parse_feed(real_page("us-feed-1"), source, source.listings[0]).items
    assert all(i.updated is None for i in items)
    assert article_from_feed_item(items[0], source).markers == ()
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id>'
        b"<updated>2022-08-04T00:00:00Z</updated><entry><id>e1</id><title>T</title>"
        b'<link href="https://www.state.gov/a/"/><published>2022-08-03T16:21:35Z</published>'
        b'<updated>2022-08-04T09:00:00Z</updated><content type="html">&lt;p&gt;Text.&lt;/p&gt;'
        b"</content></entry></feed>"
    )
    page = build_page(atom, "https://www.state.gov/feed/", content_type="application/atom+xml")
    (item,) = parse_feed(page, source, source.listings[0]).items
    assert article_from_feed_item(item, source).markers == (("modified", "2022-08-04T09:00:00Z"),)


def test_markers_travel_from_a_parse_worker() -> None:
    article = parse_article(real_page("china-zh-article-1"), source_for("china-zh-article-1"))
    article = replace(article, markers=(*article.markers, ("notice", "更正：…")))
    back = read_answer(answer(Prepared(article, article_fingerprint(article), None))[HEADER:])
    assert not isinstance(back, Exception)
    assert back.article == article


def test_page_markers_ignore_broken_json_ld() -> None:
    tree = LexborHTMLParser('<script type="application/ld+json">{not json</script>')
    assert page_markers(tree) == ()


def test_a_notice_is_looked_for_at_the_start_and_the_end_of_the_body() -> None:
    """A notice after the last paragraph counts; a short paragraph deep inside a long body is
    not looked at (only the first and last three are)."""
    paras = [f"Paragraph {i} of the statement." for i in range(10)]
    end = "\n\n".join([*paras, "Correction: the date in paragraph 2 was wrong."])
    assert dict(article_markers((), body_text=end)) == {
        "notice": "Correction: the date in paragraph 2 was wrong."
    }
    middle = "\n\n".join([*paras[:5], "Correction: inside.", *paras[5:]])
    assert article_markers((), body_text=middle) == ()
