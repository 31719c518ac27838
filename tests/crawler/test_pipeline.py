"""The whole pipeline over loopback: listings with pagination -> articles -> SQLite/PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crawler.context import CrawlContext, SourceResult
from crawler.fetch import Fetcher
from crawler.pipeline import crawl_sources
from crawler.workers.pool import ParsePool
from mfawatch.settings.loader import load_config
from storage import queries
from storage.engine import Database, open_db
from tests.site import Site

SITE = Path(__file__).parents[1] / "fixtures" / "sites" / "two-sources"
EN_ARTICLES, ZH_ARTICLES = 12, 9


def write_config(tmp_path: Path, site: Site, *, broken: bool = False) -> Path:
    """The two-source fixture config pointed at the running fixture site."""
    base = site.url("/sites/two-sources").rstrip("/")
    text = (SITE / "sources.yaml.tmpl").read_text()
    if broken:
        text += (SITE / "broken.yaml.tmpl").read_text()
    path = tmp_path / "sources.yaml"
    path.write_text(text.replace("{base}", base))
    return path


def crawl(
    config: Path, db: Database, *, recheck: bool = False, parse_workers: int = 0
) -> list[SourceResult]:
    """Run one crawl of every enabled source (parsing in worker processes when asked)."""
    settings = load_config(config)

    async def go() -> list[SourceResult]:
        async with Fetcher(settings.http) as fetcher, ParsePool(parse_workers) as pool:
            ctx = CrawlContext(db=db, fetcher=fetcher, parse_pool=pool)
            return await crawl_sources(ctx, list(settings.sources), recheck=recheck)

    return asyncio.run(go())


@pytest.fixture
def db(db_url: str):
    """A migrated database on each dialect."""
    database = open_db(db_url)
    yield database
    database.dispose()


def stored(db: Database, source: str | None = None) -> list:
    with db.session() as s:
        return list(queries.iter_articles(s, source=source))


def test_two_sources_crawl_completely_and_a_second_crawl_is_a_no_op(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """Every article behind three listing pages per source is stored once; crawling again adds nothing."""
    config = write_config(tmp_path, site)
    first = crawl(config, db)
    assert [r.errors for r in first] == [[], []]
    assert {r.source: r.new for r in first} == {
        "fixture-en": EN_ARTICLES,
        "fixture-zh": ZH_ARTICLES,
    }
    assert len(stored(db, "fixture-en")) == EN_ARTICLES
    assert len(stored(db, "fixture-zh")) == ZH_ARTICLES

    second = crawl(config, db)
    assert [r.new for r in second] == [0, 0]
    assert [r.errors for r in second] == [[], []]
    assert len(stored(db)) == EN_ARTICLES + ZH_ARTICLES


def test_parse_workers_store_what_an_in_process_crawl_stores(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """Parsing in two worker processes changes nothing in what is stored, nor in the errors."""
    config = write_config(tmp_path, site, broken=True)
    in_process = open_db(f"sqlite:///{tmp_path / 'in-process.sqlite3'}")
    try:
        here = crawl(config, in_process)
        there = crawl(config, db, parse_workers=2)
        assert [(r.source, r.new, r.errors) for r in there] == [
            (r.source, r.new, r.errors) for r in here
        ]

        def facts(database: Database) -> list[tuple[object, ...]]:
            return sorted(
                (a.url, a.title, a.body_text, a.body_html, a.published_at, a.section)
                for a in stored(database)
            )

        assert facts(db) == facts(in_process)
        assert len(facts(db)) == EN_ARTICLES + ZH_ARTICLES
    finally:
        in_process.dispose()


def test_one_article_under_two_urls_is_one_row(tmp_path: Path, site: Site, db: Database) -> None:
    """An article listed with `?utm_source=` on one page and with a fragment on another is one row."""
    crawl(write_config(tmp_path, site), db)
    urls = [a.url for a in stored(db, "fixture-en")]
    t1002 = [u for u in urls if u.endswith("/t1002.shtml")]
    assert len(t1002) == 1
    assert not any("utm_" in u or "#" in u for u in urls)


def test_fields_follow_the_article_model(tmp_path: Path, site: Site, db: Database) -> None:
    """Title, the date taken from the title when the page's date is empty, section and clean body."""
    crawl(write_config(tmp_path, site), db)
    by_url = {a.url.rsplit("/", 1)[1]: a for a in stored(db)}
    en = by_url["t1001.shtml"]
    assert en.title == "Foreign Ministry Spokesperson's Regular Press Conference on June 29, 2020"
    assert str(en.published_date) == "2020-06-29"
    assert en.published_at is None
    assert str(en.date_precision) == "day" and str(en.date_source) == "title"
    assert en.section == "Regular Press Conference"
    assert en.body_text.count("\n\n") == 2
    assert "Suggest to a friend" not in en.body_text and "Print" not in en.body_text
    assert en.body_html.startswith("<div>") and en.body_html.count("<p>") == 3
    zh = by_url["t2001.shtml"]
    assert zh.title == "2020年6月19日外交部发言人主持例行记者会"
    assert str(zh.published_date) == "2020-06-19" and str(zh.date_source) == "page"
    assert zh.section == "发言人表态"
    assert zh.body_text.startswith("第0段") and "相关新闻" not in zh.body_text
    assert zh.language == "zh"


def test_broken_selectors_fail_that_source_only(tmp_path: Path, site: Site, db: Database) -> None:
    """A source whose item selector matches nothing is reported by name; the others complete."""
    results = {r.source: r for r in crawl(write_config(tmp_path, site, broken=True), db)}
    broken = results["fixture-broken"]
    assert not broken.ok and broken.status == "broken"
    assert any("ul.newsList li" in e and "matched nothing" in e for e in broken.errors)
    assert results["fixture-en"].ok and results["fixture-en"].new == EN_ARTICLES
    assert results["fixture-zh"].ok and results["fixture-zh"].new == ZH_ARTICLES


def test_soft_error_page_is_never_stored(tmp_path: Path, site: Site, db: Database) -> None:
    """A listed link that lands on fmprc's HTTP-200 error page is an error, not an article."""
    error_page = (Path(__file__).parents[1] / "fixtures/real-pages/china-error-1.html").read_bytes()
    site.add("/error.htm", error_page, content_type="text/html")
    site.redirect("/sites/two-sources/en/gone.shtml", "/error.htm")
    site.add("/sites/two-sources/en/soft.shtml", error_page, content_type="text/html")
    listing = (
        (SITE / "en" / "default.shtml")
        .read_text()
        .replace(
            "<ul>",
            '<ul><li><a href="./gone.shtml">Gone</a></li><li><a href="./soft.shtml">Soft</a></li>',
            1,
        )
    )
    site.add("/sites/two-sources/en/default.shtml", listing, content_type="text/html")
    results = {r.source: r for r in crawl(write_config(tmp_path, site), db)}
    en = results["fixture-en"]
    assert en.new == EN_ARTICLES
    assert len([e for e in en.errors if "gone.shtml" in e or "soft.shtml" in e]) == 2
    titles = {a.title for a in stored(db)}
    assert not any("找到" in t or "Sorry" in t for t in titles)


def test_template_pagination_stops_at_the_end_of_the_listing(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """With max_pages above the real page count, a 404 past the last page ends the listing quietly."""
    config = write_config(tmp_path, site)
    config.write_text(config.read_text().replace("max_pages: 3", "max_pages: 8"))
    results = crawl(config, db)
    assert [r.errors for r in results] == [[], []]
    assert [r.listings for r in results] == [4, 4]  # three pages, then the 404 that ends them
    assert sum(r.new for r in results) == EN_ARTICLES + ZH_ARTICLES


def test_announced_page_count_bounds_pagination(tmp_path: Path, site: Site, db: Database) -> None:
    """A first page announcing `var countPage = 2` (fmprc) is followed by one more page only."""
    first = (SITE / "en" / "default.shtml").read_text()
    site.add(
        "/sites/two-sources/en/default.shtml",
        first.replace("</body>", "<script>var countPage = 2//共多少页</script></body>"),
        content_type="text/html",
    )
    results = {r.source: r for r in crawl(write_config(tmp_path, site), db)}
    assert results["fixture-en"].listings == 2
    assert results["fixture-en"].new == 8


def test_after_an_unfinished_run_every_page_is_walked(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """A poll stops at known items; after a run that never finished, the next one walks every page."""
    from datetime import UTC, datetime

    from storage import runs

    config = write_config(tmp_path, site)
    crawl(config, db)
    page2 = (SITE / "en" / "default_1.shtml").read_text()
    site.add(
        "/sites/two-sources/en/default_1.shtml",
        page2.replace("<ul>", '<ul><li><a href="./t1005.shtml?late=1">Late item</a></li>', 1),
        content_type="text/html",
    )
    site.add(
        "/sites/two-sources/en/t1005.shtml",
        # A release of its own: the same page under a new URL would be t1005 moved (issue 20).
        (SITE / "en" / "t1005.shtml")
        .read_bytes()
        .replace(b"Regular Press Conference", b"Late Press Conference"),
        content_type="text/html",
    )
    quiet = {r.source: r for r in crawl(config, db)}
    assert (
        quiet["fixture-en"].new == 0 and quiet["fixture-en"].listings == 1
    )  # stops at known items

    with db.session() as s:  # a run killed mid-way stays `running`
        runs.start_run(s, "fixture-en", datetime.now(UTC))
    resumed = {r.source: r for r in crawl(config, db)}
    assert resumed["fixture-en"].listings == 3
    assert resumed["fixture-en"].new == 1


def test_articles_are_fetched_while_later_listing_pages_are_read(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """Page 1's articles are fetched (and stored) before a slow page 2 has answered."""
    page2 = "/sites/two-sources/en/default_1.shtml"
    site.add(
        page2, (SITE / "en" / "default_1.shtml").read_bytes(), content_type="text/html", delay=1.0
    )
    results = {r.source: r for r in crawl(write_config(tmp_path, site), db)}
    assert results["fixture-en"].ok and results["fixture-en"].new == EN_ARTICLES
    (listing,) = site.requests_to(page2)
    first_page_articles = [
        r for r in site.requests if r.path.endswith(("t1001.shtml", "t1003.shtml"))
    ]
    assert len(first_page_articles) == 2
    assert all(r.started < listing.started + 1.0 for r in first_page_articles)


def test_a_listing_shifted_between_its_pages_does_not_end_pagination(
    tmp_path: Path, site: Site, db: Database
) -> None:
    """Page 1's last item shows again on page 2 (a release came out mid-crawl); stored by the time
    page 2 is read, it must not count as known and stop the walk: page 3 is still read."""
    page2 = "/sites/two-sources/en/default_1.shtml"
    shifted = (SITE / "en" / "default_1.shtml").read_text()
    shifted = shifted.replace("<ul>", '<ul><li><a href="./t1004.shtml">Shifted</a></li>', 1)
    site.add(page2, shifted, content_type="text/html", delay=1.0)
    results = {r.source: r for r in crawl(write_config(tmp_path, site), db)}
    en = results["fixture-en"]
    (listing,) = site.requests_to(page2)
    (article,) = [r for r in site.requests if r.path.endswith("/t1004.shtml")]
    assert article.started < listing.started + 1.0  # fetched (then stored) while page 2 waited
    assert en.ok and en.listings == 3
    assert en.new == EN_ARTICLES
