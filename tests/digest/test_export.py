"""Export: one JSON article per line (UTF-8), and a gzipped WARC of the stored responses."""

from __future__ import annotations

import io
import json

from warcio.archiveiterator import ArchiveIterator

from digest.export import export_jsonl, export_warc
from tests.digest.conftest import HOSTILE_TITLE, DigestDB

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
