"""The search index input made in a parse worker: the same SQLite index as when storage makes it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.model import Page
from crawler.parse.charset import with_text
from crawler.workers.frames import HEADER, answer, read_answer
from crawler.workers.prepare import Prepared, prepare_article
from mfawatch.settings.loader import load_config
from storage.bodies import unpack_body
from storage.engine import Database, open_db
from storage.model import RawResponse
from storage.search.forms import fts_text
from tests.crawler.test_pipeline import EN_ARTICLES, SITE, ZH_ARTICLES, crawl, write_config
from tests.site import Site

EN_PAGE, ZH_PAGE = "en/t1001.shtml", "zh/t2001.shtml"
# Added on the recheck: text that needs the Python tokenizer (accents, Cyrillic, full-width
# Latin) and text that has an FTS5 form of its own (CJK bigrams), in both languages.
EN_EDIT = (
    '<div class="content">',
    '<div class="content"><p>Le Ministère a répondu: Лавров, ＡＢＣ１２ and “G7外相会合” — 台湾省.</p>',
)
ZH_EDIT = ('class="content">', 'class="content"><p>　　岸田外相：Ｇ７会合「台湾」，Ministère。</p>')


def _index(path: Path) -> list[tuple[object, ...]]:
    """Every token instance of the index, both parts (the current content and the rest):
    (article URL, version number, term, column, offset)."""
    conn = sqlite3.connect(path)
    try:
        found = []
        for table in ("search_current", "search_fts"):
            conn.execute(
                f"CREATE VIRTUAL TABLE temp.v_{table} USING fts5vocab(main, {table}, instance)"
            )
            found += conn.execute(
                f"SELECT a.url, v.number, i.term, i.col, i.offset FROM temp.v_{table} i "
                "JOIN versions v ON v.id = i.doc JOIN articles a ON a.id = v.article_id"
            ).fetchall()
        return sorted(found)
    finally:
        conn.close()


def _edit(site: Site, page: str, edit: tuple[str, str]) -> None:
    html = (SITE / page).read_text(encoding="utf-8")
    assert edit[0] in html
    site.add(f"/sites/two-sources/{page}", html.replace(edit[0], edit[1], 1))


def test_worker_made_index_input_indexes_exactly_what_storage_makes(
    tmp_path: Path, site: Site
) -> None:
    """New articles (English and Chinese) and changed ones (the bulk change path) get the same
    FTS5 tokens, at the same offsets, with a parse worker as without one."""
    config = write_config(tmp_path, site)
    paths = {workers: tmp_path / f"workers-{workers}.sqlite3" for workers in (0, 1)}
    dbs: dict[int, Database] = {w: open_db(f"sqlite:///{p}") for w, p in paths.items()}
    try:
        for workers, db in dbs.items():
            site.reset()
            first = crawl(config, db, parse_workers=workers)
            assert {r.source: r.new for r in first} == {
                "fixture-en": EN_ARTICLES,
                "fixture-zh": ZH_ARTICLES,
            }
            _edit(site, EN_PAGE, EN_EDIT)
            _edit(site, ZH_PAGE, ZH_EDIT)
            again = crawl(config, db, recheck=True, parse_workers=workers)
            assert sum(r.changed for r in again) == 2
    finally:
        for db in dbs.values():
            db.dispose()
    without, with_worker = _index(paths[0]), _index(paths[1])
    assert with_worker == without
    terms = {(url.rsplit("/", 1)[-1], number, term) for url, number, term, _, _ in without}
    for expected in [("t1001.shtml", 2, "ministere"), ("t1001.shtml", 2, "лавров")]:
        assert expected in terms
    for expected in [
        ("t1001.shtml", 2, "台湾"),
        ("t2001.shtml", 2, "岸田"),
        ("t2001.shtml", 1, "发言"),
    ]:
        assert expected in terms
    assert ("t1001.shtml", 1, "ministere") not in terms


@pytest.mark.parametrize("page", [EN_PAGE, ZH_PAGE])
def test_a_worker_ships_the_forms_and_only_those_unlike_the_text(
    tmp_path: Path, site: Site, page: str
) -> None:
    """`prepare_article(fts=True)` carries the FTS5 input of the title and body through the
    answer frame: None where the text is its own input (plain English), the form otherwise."""
    settings = load_config(write_config(tmp_path, site))
    source = settings.sources[0 if page == EN_PAGE else 1]
    html = (SITE / page).read_text(encoding="utf-8")
    html = html.replace(*(EN_EDIT if page == EN_PAGE else ZH_EDIT), 1)
    url = site.url(f"/sites/two-sources/{page}")
    raw = RawResponse(url, url, 200, (), html.encode(), datetime.now(UTC))
    page_in = with_text(Page(raw, "", "", ""))

    plain = prepare_article(page_in, source, None, url)
    assert plain.fts is None and plain.version_body is None  # not asked: storage's job
    prepared = prepare_article(page_in, source, None, url, fts=True)
    back = read_answer(memoryview(answer(prepared))[HEADER:])
    assert isinstance(back, Prepared) and back.fts == prepared.fts
    # The version's text and HTML come packed as a SQLite store keeps them (storage.bodies).
    assert back.version_body is not None and back.version_body == prepared.version_body
    assert unpack_body(back.version_body) == (
        prepared.article.body_text,
        prepared.article.body_html,
    )
    assert prepared.fts is not None and prepared.fts[1] is not None  # accents, CJK: a form
    a = prepared.article
    for text, form in zip((a.title, a.body_text), prepared.fts, strict=True):
        assert (form if form is not None else text) == fts_text(text)
        assert form != text  # the text itself is never shipped twice
