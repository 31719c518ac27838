"""Export: one JSON article per line (UTF-8), and a gzipped WARC of the stored responses."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from digest.export import export_jsonl, export_warc
from tests.digest.conftest import HOSTILE_TITLE, DigestDB
from tests.site import Site

REAL = Path(__file__).parents[1] / "fixtures" / "real-pages"

MODEL_FIELDS = ["id", "source", "url", "title", "published_at", "published_date", "date_precision",
                "date_source", "section", "language", "body_text", "body_html", "first_seen_at",
                "last_checked_at", "last_changed_at", "status", "version"]  # fmt: skip


def test_jsonl_one_article_per_line_with_model_fields(digest_db: DigestDB) -> None:
    """Every article is one UTF-8 JSON line with the article model's fields, CJK unescaped."""
    out = io.BytesIO()
    with digest_db.db.session(readonly=True) as s:
        n = export_jsonl(s, out)
    lines = out.getvalue().decode("utf-8").splitlines()
    assert n == len(lines) == 7
    records = [json.loads(line) for line in lines]
    assert all(list(r) == MODEL_FIELDS for r in records)
    assert "外交部发言人就台湾问题答记者问" in out.getvalue().decode("utf-8")
    by_id = {r["id"]: r for r in records}
    changed = by_id[digest_db.ids["changed"]]
    assert changed["version"] == 2 and changed["published_at"] == "2026-11-18T14:12:00+08:00"
    assert changed["date_precision"] == "minute" and changed["date_source"] == "page"
    assert by_id[digest_db.ids["removed"]]["status"] == "removed"
    assert by_id[digest_db.ids["hostile"]]["title"] == HOSTILE_TITLE


def test_jsonl_one_source_to_a_text_stream(digest_db: DigestDB) -> None:
    """`--source` limits the export, and a text stream works as well as a binary one."""
    out = io.StringIO()
    with digest_db.db.session(readonly=True) as s:
        n = export_jsonl(s, out, source="uk-fcdo")
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert n == 2 and {r["source"] for r in records} == {"uk-fcdo"}


def test_warc_has_a_response_record_per_stored_response(digest_db: DigestDB) -> None:
    """The WARC reads back with warcio: warcinfo, then response records with the exact bytes."""
    out = io.BytesIO()
    with digest_db.db.session(readonly=True) as s:
        n = export_warc(s, out)
    data = out.getvalue()
    assert data[:2] == b"\x1f\x8b"  # gzipped
    records = list(ArchiveIterator(io.BytesIO(data)))
    kinds = [r.rec_type for r in records]
    assert kinds[0] == "warcinfo" and kinds.count("response") == n
    responses = [r for r in records if r.rec_type == "response"]
    uris = {r.rec_headers.get_header("WARC-Target-URI") for r in responses}
    assert "https://www.fmprc.gov.cn/eng/removed.html" in uris
    statuses = {r.http_headers.get_statuscode() for r in responses}
    assert statuses == {"200", "404"}


def test_warc_payloads_are_the_stored_bytes(digest_db: DigestDB) -> None:
    """A payload equals the body kept as evidence, readable without re-decoding, dated as fetched."""
    out = io.BytesIO()
    with digest_db.db.session(readonly=True) as s:
        export_warc(s, out, source="uk-fcdo")
    seen = 0
    # warcio streams records: each payload must be read before the iterator moves on.
    for record in ArchiveIterator(io.BytesIO(out.getvalue())):
        if record.rec_type != "response":
            continue
        seen += 1
        assert record.content_stream().read() == b"<html>page</html>"
        # The stored body is not gzip, so the Content-Encoding header must not claim it is.
        assert record.http_headers.get_header("Content-Encoding") is None
        assert record.rec_headers.get_header("WARC-Date").endswith("Z")
        assert record.rec_headers.get_header("WARC-Payload-Digest").startswith("sha1:")
    assert seen == 2


VERSION_FIELDS = ["article_id", "source", "url", "version", "kind", "seen_at", "current",
                  "content_hash", "raw_sha256", "title", "published_at", "published_date",
                  "date_precision", "date_source", "section", "language", "body_text",
                  "body_html", "diff_from", "diff_summary", "evidence"]  # fmt: skip


def _jsonl(digest_db: DigestDB, **options: object) -> list[dict[str, object]]:
    out = io.BytesIO()
    with digest_db.db.session(readonly=True) as s:
        n = export_jsonl(s, out, **options)  # type: ignore[arg-type]
    records = [json.loads(line) for line in out.getvalue().decode("utf-8").splitlines()]
    assert n == len(records)
    return records


def test_jsonl_all_versions_gives_one_line_per_version(digest_db: DigestDB) -> None:
    """--all-versions: every version of every article, with its number, kind and both hashes."""
    records = _jsonl(digest_db, all_versions=True)
    assert all(list(r) == VERSION_FIELDS for r in records)
    by_article: dict[object, list[dict[str, object]]] = {}
    for r in records:
        by_article.setdefault(r["article_id"], []).append(r)
    changed = by_article[digest_db.ids["changed"]]
    assert [(r["version"], r["kind"], r["current"]) for r in changed] == [
        (1, "new", False),
        (2, "changed", True),
    ]
    assert changed[0]["content_hash"] != changed[1]["content_hash"]
    assert all(len(str(r["raw_sha256"])) == 64 for r in changed)
    assert changed[1]["diff_from"] == 1 and "Taiwan" in str(changed[1]["body_text"])
    removed = by_article[digest_db.ids["removed"]]
    assert [r["kind"] for r in removed] == ["new", "removed"]
    assert removed[1]["evidence"]["reason"] == "HTTP 404"  # type: ignore[index]
    assert not any(r["current"] for r in removed)
    restored = by_article[digest_db.ids["restored"]]
    assert [r["kind"] for r in restored] == ["new", "removed", "restored"]
    assert len(by_article) == 7 and len(records) == 7 + 1 + 1 + 2


def test_jsonl_since_keeps_what_changed_in_the_window(digest_db: DigestDB) -> None:
    """--since: articles whose content or status changed since then; with --all-versions, the
    versions seen since then; one source's with --source."""
    current = _jsonl(digest_db, since=digest_db.since)
    assert digest_db.ids["old"] not in {r["id"] for r in current}
    assert {r["id"] for r in current} == set(digest_db.ids.values()) - {digest_db.ids["old"]}
    versions = _jsonl(digest_db, since=digest_db.since, all_versions=True)
    assert sorted((r["article_id"], r["kind"]) for r in versions) == sorted(
        [
            (digest_db.ids["changed"], "changed"),
            (digest_db.ids["removed"], "removed"),
            (digest_db.ids["restored"], "restored"),
            (digest_db.ids["new"], "new"),
            (digest_db.ids["new_zh"], "new"),
            (digest_db.ids["hostile"], "new"),
        ]
    )
    uk = _jsonl(digest_db, since=digest_db.since, all_versions=True, source="uk-fcdo")
    assert [(r["article_id"], r["version"]) for r in uk] == [(digest_db.ids["new"], 1)]
    assert _jsonl(digest_db, since=digest_db.now + timedelta(hours=1)) == []


def test_warc_since_keeps_the_fetches_of_the_window(digest_db: DigestDB) -> None:
    """--since on WARC: only responses fetched at or after it, each dated within the window."""
    out = io.BytesIO()
    with digest_db.db.session(readonly=True) as s:
        everything = export_warc(s, io.BytesIO())
        n = export_warc(s, out, since=digest_db.since)
    dates = [
        r.rec_headers.get_header("WARC-Date")
        for r in ArchiveIterator(io.BytesIO(out.getvalue()))
        if r.rec_type == "response"
    ]
    assert 0 < n == len(dates) < everything
    cutoff = digest_db.since.strftime("%Y-%m-%dT%H:%M:%S")
    assert all(d >= cutoff for d in dates)


def test_warc_one_feed_fetch_is_one_record(site: Site, db_url: str) -> None:
    """A feed document behind ten new items is one WARC record, not ten, and listing pages are
    exported as records of their source."""
    from storage.engine import open_db
    from tests.crawler.test_feeds import poll

    db = open_db(db_url)
    try:
        assert poll(site, db, "us-feed-1.xml").new == 10
        assert poll(site, db, "us-feed-2.xml").new == 1
        out = io.BytesIO()
        with db.session(readonly=True) as s:
            n = export_warc(s, out, source="us-state-press")
        records = []
        for r in ArchiveIterator(io.BytesIO(out.getvalue())):
            if r.rec_type == "response":
                records.append(
                    (r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
                )
    finally:
        db.dispose()
    feed = site.url("/rss-feed/press-releases/feed/")
    assert n == 2 and [uri for uri, _ in records] == [feed, feed]
    assert [body for _, body in records] == [
        (REAL / name).read_bytes() for name in ("us-feed-1.xml", "us-feed-2.xml")
    ]
