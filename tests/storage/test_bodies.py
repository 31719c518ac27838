"""Packed version bodies (storage/bodies.py): the format, where each dialect keeps a version's text
and HTML, every reader over both forms, and migration 0012."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from storage import migrate, queries, versions
from storage.bodies import pack_body, read_body, unpack_body, unpack_text
from storage.changes import ChangeFilters, iter_changes
from storage.engine import Database, open_db
from storage.model import VersionKind
from storage.schema import VersionRow
from storage.search.passages import passages
from storage.search.query import parse as parse_query
from storage.search.results import Scope, SearchRequest, search
from storage.version_log import iter_versions
from storage.versions import new_articles
from tests.storage.conftest import BODY, T0, make_article, make_raw

H = timedelta(hours=1)
PAGE_TEXT = "\n\n".join(
    f"Paragraph {i}: the ministry said the talks on trade and security went well."
    for i in range(40)
)
PAGE_HTML = "<div>" + "".join(f"<p>{p}</p>" for p in PAGE_TEXT.split("\n\n")) + "</div>"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (BODY, "<p>" + BODY.replace("\n\n", "</p><p>") + "</p>"),
        (PAGE_TEXT, PAGE_HTML),
        ("A paragraph long enough to be a marker.", ""),  # no HTML
        ("Same paragraph, said twice over.\n\nSame paragraph, said twice over.", "<p>x</p>"),
        ("short\n\nA paragraph long enough to be a marker.", "<p>short</p><b>other</b>"),
        ("Second paragraph comes first here.\n\nFirst one.", "<p>First one.</p>"),
        (
            "Texte « accentué » 台湾 and more words.",
            "<p>Texte « accentué » 台湾 and more words.</p>",
        ),
        ("An HTML holding NUL is kept whole.", "<p>An HTML holding NUL\x00 is kept whole.</p>"),
        ("An HTML holding SOH is kept whole.", "<p>\x01An HTML holding SOH is kept whole.</p>"),
    ],
)
def test_a_packed_body_unpacks_to_the_very_text_and_html(text: str, html: str) -> None:
    data = pack_body(text, html)
    assert data is not None
    assert unpack_body(data) == (text, html)
    assert unpack_text(data) == text
    assert read_body(data, None, None) == (text, html)


@given(st.text(), st.text())
def test_packing_is_lossless_for_any_text_and_html(text: str, html: str) -> None:
    # Paragraphs of the text planted in the HTML, as a page has them.
    html = html + "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    data = pack_body(text, html)
    if not text or "\x00" in text:
        assert data is None  # kept plain
    else:
        assert data is not None and unpack_body(data) == (text, html)


def test_the_html_costs_little_beside_its_text() -> None:
    """Each paragraph is stored once: packing the HTML too adds little to the text alone."""
    alone = pack_body(PAGE_TEXT, "")
    both = pack_body(PAGE_TEXT, PAGE_HTML)
    assert alone is not None and both is not None
    assert len(both) < len(alone) + 100 < len(PAGE_TEXT.encode()) / 4


def test_read_body_of_a_plain_row_is_its_columns() -> None:
    assert read_body(None, "text", "<p>text</p>") == ("text", "<p>text</p>")
    assert read_body(None, None, None) == (None, None)


def _store(db: Database, article=None, at=T0) -> versions.Outcome:  # type: ignore[no-untyped-def]
    with db.session() as s:
        article = article or make_article(body_text=PAGE_TEXT, body_html=PAGE_HTML)
        return versions.record_fetch(
            s, article, make_raw(article.url), now=at, next_check_at=at + H
        )


def _stored_columns(db: Database) -> list[tuple[int, bool, str | None]]:
    with db.session(readonly=True) as s:
        return [
            (r.number, r.body is not None, r.body_text)
            for r in s.execute(
                sa.select(VersionRow.number, VersionRow.body, VersionRow.body_text).order_by(
                    VersionRow.id
                )
            )
        ]


def test_sqlite_packs_a_version_and_postgresql_keeps_it_plain(db: Database) -> None:
    _store(db)
    changed = make_article(body_text=PAGE_TEXT + "\n\nA new paragraph.", body_html=PAGE_HTML)
    _store(db, changed, T0 + H)
    with db.session() as s:  # the bulk path of a first crawl
        new_articles.record_new(
            s,
            [
                new_articles.FirstFetch(
                    make_article("https://mfa.example/news/2.html", body_text=BODY),
                    make_raw("https://mfa.example/news/2.html"),
                    "digest-2",
                    None,
                    T0,
                    T0 + H,
                )
            ],
        )
    columns = _stored_columns(db)
    if db.dialect == "sqlite":
        assert columns == [(1, True, None), (2, True, None), (1, True, None)]
    else:
        assert columns == [
            (1, False, PAGE_TEXT),
            (2, False, changed.body_text),
            (1, False, BODY),
        ]


def _readers(db: Database, url: str) -> dict[str, object]:
    """What every reader of a version's text gives for the article at `url`."""
    with db.session(readonly=True) as s:
        article = queries.get_article(s, url)
        history = queries.history(s, url)
        hits = search(s, SearchRequest(parse_query("ministry"), scope=Scope.ALL))
        shown = passages(s, hits.hits, Scope.ALL, parse_query("ministry"))
        window = ChangeFilters(T0 - H, T0 + 10 * H, (VersionKind.NEW.value, "changed"))
        leads = [r.body for r in iter_changes(s, window)]
        found = [r.body for r in iter_changes(s, window, full_body=True)]
        return {
            "article": (article.body_text, article.body_html),
            "listed": [(a.body_text, a.body_html) for a in queries.iter_articles(s)],
            "history": [(v.fields["body_text"], v.fields["body_html"]) for v in history.versions],
            "log": [(v.body_text, v.body_html) for v in iter_versions(s)],
            "snippets": {a: p.snippet is not None for a, p in shown.items()},
            "leads": leads,
            "full": found,
        }


def test_every_reader_gives_the_same_text_on_both_dialects(db: Database) -> None:
    first = _store(db)
    changed = make_article(body_text=PAGE_TEXT + "\n\nA new paragraph.", body_html=PAGE_HTML)
    _store(db, changed, T0 + H)
    url = make_article().url
    got = _readers(db, url)
    assert got["article"] == (changed.body_text, changed.body_html)
    assert got["listed"] == [(changed.body_text, changed.body_html)]
    assert got["history"] == [(PAGE_TEXT, PAGE_HTML), (changed.body_text, PAGE_HTML)]
    assert got["log"] == got["history"]
    assert got["snippets"] == {first.article_id: True}
    assert got["leads"] == [PAGE_TEXT[:1200], changed.body_text[:1200]]
    assert got["full"] == [PAGE_TEXT, changed.body_text]
    with db.session(readonly=True) as s:
        window = ChangeFilters(T0 - H, T0 + 10 * H, ("new", "changed"), text="NEW PARAGRAPH")
        assert [r.number for r in iter_changes(s, window)] == [2]  # case-insensitive, in SQL
        nowhere = ChangeFilters(T0 - H, T0 + 10 * H, ("new", "changed"), text="absent words")
        assert list(iter_changes(s, nowhere)) == []


def test_a_plain_row_on_sqlite_reads_as_before(sqlite_url: str) -> None:
    """A row stored before 0012 (or one left plain) and a packed one, side by side."""
    db = open_db(sqlite_url)
    try:
        _store(db)
        changed = make_article(body_text=BODY, body_html="<p>plain</p>")
        outcome = _store(db, changed, T0 + H)
        with db.session() as s:  # make version 2 plain, as 0011's code stored it
            s.execute(
                sa.update(VersionRow)
                .where(VersionRow.number == outcome.version)
                .values(body=None, body_text=BODY, body_html="<p>plain</p>")
            )
        assert _stored_columns(db) == [(1, True, None), (2, False, BODY)]
        got = _readers(db, changed.url)
        assert got["article"] == (BODY, "<p>plain</p>")
        assert got["history"] == [(PAGE_TEXT, PAGE_HTML), (BODY, "<p>plain</p>")]
        assert got["full"] == [PAGE_TEXT, BODY]
    finally:
        db.dispose()


def test_upgrading_from_0010_packs_every_stored_body_and_downgrading_unpacks_it(
    sqlite_url: str,
) -> None:
    """Migration 0012 on a SQLite database made at 0010: every version with a text is packed,
    and reads the same; one without HTML, a removal and one holding NUL stay plain."""
    from alembic import command

    engine = sa.create_engine(sqlite_url)
    cfg = migrate.alembic_config()
    rows = [  # (number, kind, text, html)
        (1, "new", PAGE_TEXT, PAGE_HTML),
        (2, "changed", BODY, "<p>two</p>"),
        (3, "removed", None, None),
        (4, "restored", "a NUL\x00 in the text", "<p>x</p>"),
        (5, "changed", "no HTML at all", None),
    ]
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0010")
            conn.execute(sa.text("INSERT INTO sources (key) VALUES ('s')"))
            conn.execute(
                sa.text(
                    "INSERT INTO articles (id, source, url, status, version, content_version, "
                    "title, first_seen_at, last_checked_at, last_changed_at, checks, "
                    "missing_checks) VALUES (1, 's', 'https://a/1', 'live', 5, 2, 'T', :t, :t, "
                    ":t, 5, 0)"
                ),
                {"t": T0},
            )
            for number, kind, text, html in rows:
                conn.execute(
                    sa.text(
                        "INSERT INTO versions (article_id, number, kind, seen_at, title, "
                        "body_text, body_html) VALUES (1, :n, :k, :t, 'T', :b, :h)"
                    ),
                    {"n": number, "k": kind, "t": T0, "b": text, "h": html},
                )
    finally:
        engine.dispose()
    db = open_db(sqlite_url)
    try:
        assert migrate.current_revision(db.engine) == migrate.head_revision()
        assert _stored_columns(db) == [
            (1, True, None),
            (2, True, None),
            (3, False, None),
            (4, False, "a NUL\x00 in the text"),
            (5, False, "no HTML at all"),
        ]
        with db.session(readonly=True) as s:
            assert queries.get_article(s, 1).body_text == BODY
            history = queries.history(s, 1)
            assert [
                (v.fields.get("body_text"), v.fields.get("body_html")) for v in history.versions
            ] == [(text, html) for _, _, text, html in rows]
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0010")
        with db.engine.connect() as conn:
            plain = conn.execute(
                sa.text("SELECT number, body_text, body_html FROM versions ORDER BY number")
            ).all()
        assert [tuple(r) for r in plain] == [(n, text, html) for n, _, text, html in rows]
    finally:
        db.dispose()


def test_a_version_restored_by_a_304_is_stored_as_its_dialect_stores_text(db: Database) -> None:
    """A removed article answered with 304 Not Modified gets a restored version with the same
    text and HTML: packed on SQLite like every other version (not a plain second copy), plain on
    PostgreSQL; read back the same either way."""
    stored = _store(db)
    url = make_article().url
    for n in range(1, 4):
        with db.session() as s:
            versions.record_missing(
                s, url, None, "HTTP 404", now=T0 + n * H, next_check_at=T0 + (n + 1) * H,
                confirm_window=timedelta(0),
            )  # fmt: skip
    with db.session() as s:
        restored = versions.record_not_modified(s, url, now=T0 + 5 * H, next_check_at=T0 + 6 * H)
    assert restored.kind is versions.OutcomeKind.RESTORED
    packed = db.dialect == "sqlite"
    assert _stored_columns(db)[-1] == (restored.version, packed, None if packed else PAGE_TEXT)
    with db.session(readonly=True) as s:
        article = queries.get_article(s, stored.article_id)
    assert (article.body_text, article.body_html) == (PAGE_TEXT, PAGE_HTML)
