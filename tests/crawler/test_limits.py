"""Run bounds (issue 16, hole 5): a deadline per source per run, caps on listing items and new
articles, field-length caps. What a run leaves undone is counted and picked up by the next run."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.context import SourceResult
from crawler.limits import MAX_TITLE_CHARS, TRUNCATED_MARK
from storage import runs
from storage.engine import Database, open_db
from tests.crawler.test_pipeline import crawl, stored
from tests.site import Site


@pytest.fixture
def db(db_url: str):
    """A migrated database on each dialect (SQLite and PostgreSQL)."""
    database = open_db(db_url)
    yield database
    database.dispose()


def _article(n: int, title: str | None = None) -> str:
    return (
        f"<html><head><title>t</title></head><body><h1>{title or f'Release {n}'}</h1>"
        f"<div class='content'><p>Paragraph one of release {n}, long enough to be a body.</p>"
        f"<p>Paragraph two of release {n}.</p></div></body></html>"
    )


def _listing(paths: list[str], next_page: str | None = None) -> str:
    items = "".join(f"<li><a href='{p}'>Release {p}</a></li>" for p in paths)
    nxt = f"<a class='next' href='{next_page}'>next</a>" if next_page else ""
    return f"<html><body><ul class='news'>{items}</ul>{nxt}</body></html>"


def _config(tmp_path: Path, site: Site, limits: str, *, paginate: bool = False) -> Path:
    pagination = "\n        paginate: {next: 'a.next@href', max_pages: 5}" if paginate else ""
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - key: bounded\n"
        "    name: Bounded\n"
        "    country: CN\n"
        "    politeness: {respect_robots: false, retries: 0}\n"
        f"    limits: {limits}\n"
        "    listings:\n"
        f"      - url: {site.url('/b/list.html')}{pagination}\n"
        "    list: {item: 'ul.news li', link: a}\n"
        "    article: {title: h1, body: div.content}\n"
    )
    return path


def _one(results: list[SourceResult]) -> SourceResult:
    (result,) = results
    return result


def _last_status(db: Database) -> str | None:
    with db.session() as s:
        return runs.last_run_status(s, "bounded")


def test_new_article_cap_leaves_the_rest_for_the_next_runs_across_pages(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """With max_new_per_run 2, six releases on two pages are stored 2 per run, none missed:
    a partial run makes the next one walk every page (catch-up does not stop at known items)."""
    page1, page2 = ["/b/a1.html", "/b/a2.html", "/b/a3.html"], ["/b/a4.html", "/b/a5.html"]
    page2.append("/b/a6.html")
    site.add("/b/list.html", _listing(page1, "/b/list2.html"))
    site.add("/b/list2.html", _listing(page2))
    for n, path in enumerate(page1 + page2):
        site.add(path, _article(n))
    config = _config(tmp_path, site, "{max_new_per_run: 2}", paginate=True)

    first = _one(crawl(config, db))
    assert (first.new, first.deferred, first.status, first.errors) == (2, 1, "partial", [])
    assert _last_status(db) == "partial"
    news = [first.new]
    for _ in range(4):
        result = _one(crawl(config, db))
        assert result.errors == []
        news.append(result.new)
        if result.status == "ok":
            break
    assert sum(news) == 6 and len(stored(db)) == 6
    assert _last_status(db) == "ok"


def test_items_per_page_cap_takes_unknown_items_first(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """A page of 5 links with max_items_per_page 2: 2 per run, the unknown ones first, all 5 stored."""
    paths = [f"/b/p{n}.html" for n in range(5)]
    site.add("/b/list.html", _listing(paths))
    for n, path in enumerate(paths):
        site.add(path, _article(n))
    config = _config(tmp_path, site, "{max_items_per_page: 2}")

    first = _one(crawl(config, db))
    assert (first.items, first.new, first.deferred, first.status) == (5, 2, 3, "partial")
    second = _one(crawl(config, db))
    assert (second.new, second.deferred) == (2, 1)
    third = _one(crawl(config, db))
    assert (third.new, third.deferred, third.status) == (1, 0, "ok")
    assert len(stored(db)) == 5


def test_run_deadline_defers_slow_articles_to_the_next_run(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """Articles slower than the run deadline are abandoned, counted as deferred and not stored;
    the next run (the site fast again) stores them all."""
    paths = [f"/b/slow{n}.html" for n in range(3)]
    site.add("/b/list.html", _listing(paths))
    for n, path in enumerate(paths):
        site.add(path, _article(n), delay=30)
    config = _config(tmp_path, site, "{run_deadline: 1s}")

    first = _one(crawl(config, db))
    assert first.deadline_reached and first.status == "partial"
    assert (first.new, first.deferred, first.errors) == (0, 3, [])
    assert stored(db) == []

    for n, path in enumerate(paths):
        site.add(path, _article(n))
    second = _one(crawl(config, db))
    assert (second.new, second.deferred, second.status) == (3, 0, "ok")


@pytest.mark.parametrize("workers", [0, 1], ids=["in-process", "parse-worker"])
def test_a_huge_title_is_stored_cut_with_a_marker_and_a_warning(
    tmp_path: Path, site: Site, db: Database, caplog: pytest.LogCaptureFixture, workers: int
) -> None:
    """A 2,000,000-character title is stored as MAX_TITLE_CHARS characters ending in the marker,
    and the warning names the URL (also when a parse worker cut it)."""
    site.add("/b/list.html", _listing(["/b/huge.html"]))
    site.add("/b/huge.html", _article(1, title="x" * 2_000_000))
    config = _config(tmp_path, site, "{}")
    assert _one(crawl(config, db, parse_workers=workers)).new == 1
    (article,) = stored(db)
    assert len(article.title) == MAX_TITLE_CHARS and article.title.endswith(TRUNCATED_MARK)
    assert any(
        "/b/huge.html" in r.getMessage() and "title" in r.getMessage() for r in caplog.records
    )


# -- truncated responses (issue 16, hole 6) -----------------------------------------------------


def _cut_config(tmp_path: Path, site: Site, name: str) -> Path:
    site.add("/b/list.html", _listing([f"/cut-short/{name}?full=1"]))
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - key: bounded\n"
        "    name: Bounded\n"
        "    country: CN\n"
        "    politeness: {respect_robots: false, retries: 0}\n"
        "    listings:\n"
        f"      - url: {site.url('/b/list.html')}\n"
        "    list: {item: 'ul.news li', link: a}\n"
        "    article: {title: h1, body: div.content}\n"
    )
    return path


def test_a_recheck_against_a_truncated_copy_makes_no_version(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """A known article answered cut short with no Content-Length (`/cut-short`) is fetched again,
    then reported as incomplete: no "paragraphs removed" v2, and no false revert afterwards."""
    from storage import queries

    config = _cut_config(tmp_path, site, "a1")
    first = _one(crawl(config, db))
    assert (first.new, first.errors) == (1, [])
    (article,) = stored(db)
    assert article.body_text.count("Paragraph") == 21

    again = _one(crawl(config, db, recheck=True))
    assert again.changed == 0 and again.new == 0
    assert len(again.errors) == 1 and "incomplete page" in again.errors[0]
    path = "/cut-short/a1"
    assert (
        len([r for r in site.requests if r.path.startswith(path)]) == 1 + 3
    )  # first crawl, 3 tries
    with db.session() as s:
        detail = queries.history(s, article.url)
    assert [v.number for v in detail.versions] == [1]


def _rss(n: int) -> str:
    items = "".join(
        f"<item><title>Release {i}</title><link>http://feed.test/r{i}</link>"
        f"<guid>r{i}</guid><pubDate>Mon, 0{i} Dec 2026 08:00:00 +0000</pubDate>"
        f"<description>Body of release {i}, a statement long enough to be stored.</description>"
        "</item>"
        for i in range(1, n + 1)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>F</title>{items}</channel></rss>"
    )


def test_a_feed_keeps_the_cap_of_new_articles_per_run(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """A feed-only source with max_new_per_run 2 and five new items stores 2 per run, none lost."""
    site.add("/b/feed.xml", _rss(5), content_type="application/rss+xml")
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - key: bounded\n"
        "    name: Bounded\n"
        "    country: US\n"
        "    type: feed\n"
        "    politeness: {respect_robots: false, retries: 0}\n"
        "    limits: {max_new_per_run: 2}\n"
        "    article_hosts: [feed.test]\n"
        f"    listings: [{{url: '{site.url('/b/feed.xml')}'}}]\n"
    )
    first = _one(crawl(path, db))
    assert (first.new, first.deferred, first.status, first.errors) == (2, 3, "partial", [])
    news = [first.new]
    for _ in range(4):
        result = _one(crawl(path, db))
        assert result.errors == []
        news.append(result.new)
        if result.status == "ok":
            break
    assert sum(news) == 5 and len(stored(db)) == 5
