"""Raw evidence: content-addressed, compressed, deduplicated blobs and response records."""

from __future__ import annotations

import hashlib
import zlib
from datetime import timedelta

import sqlalchemy as sa
import zstandard
from sqlalchemy.orm import Session

from storage import blobs, codecs, versions
from storage.engine import Database
from storage.schema import BlobRow, ResponseRow, VersionRow
from tests.storage.conftest import T0, make_article, make_raw, row_counts

BODY = "<html><body>外交部发言人 — release</body></html>".encode() * 50


def test_same_bytes_are_stored_once(db: Database) -> None:
    """Two responses with the same body share one blob; each keeps its own response row."""
    with db.session() as s:
        first = blobs.store_response(s, make_raw(body=BODY), None)
        second = blobs.store_response(s, make_raw("https://mfa.example/2", BODY, status=200), None)
    assert first[1] == second[1] == hashlib.sha256(BODY).hexdigest()
    assert first[0] != second[0]
    counts = row_counts(db)
    assert counts["blobs"] == 1 and counts["responses"] == 2


def test_blobs_are_compressed_and_read_back_exactly(db: Database) -> None:
    """A stored body is zstd-compressed on disk and comes back byte for byte; zlib blobs still read."""
    with db.session() as s:
        sha = _put_blob(s, BODY)
        old = _put_blob(s, BODY + b"old", codec="zlib")
    with db.session() as s:
        row = s.get(BlobRow, sha)
        assert row is not None and row.codec == "zstd" and row.size == len(BODY)
        assert len(row.data) < len(BODY)
        assert zstandard.ZstdDecompressor().decompress(row.data) == BODY
        assert blobs.get_blob(s, sha) == BODY
        old_row = s.get(BlobRow, old)
        assert old_row is not None and zlib.decompress(old_row.data) == BODY + b"old"
        assert blobs.get_blob(s, old) == BODY + b"old"
        assert blobs.get_blob(s, "0" * 64) is None


def test_iter_responses_yields_what_was_fetched(db: Database) -> None:
    """iter_responses gives final URL, status, headers in order, fetch time and exact bytes."""
    raw = make_raw(body=BODY, final_url="https://mfa.example/news/1.html#moved")
    with db.session() as s:
        versions.record_fetch(s, make_article(), raw, now=T0, next_check_at=T0)
        other = make_article("https://other.example/a", source="us-state")
        versions.record_fetch(
            s,
            other,
            make_raw(other.url, b"us", at=T0 + timedelta(hours=1)),
            now=T0,
            next_check_at=T0,
        )
    with db.session(readonly=True) as s:
        got = list(blobs.iter_responses(s))
        only_cn = list(blobs.iter_responses(s, source="cn-mfa-en"))
    assert [r.url for r in got] == [
        "https://mfa.example/news/1.html#moved",
        "https://other.example/a",
    ]
    first = got[0]
    assert (first.url, first.status, first.fetched_at, first.body) == (raw.final_url, 200, T0, BODY)
    assert first.headers == [("Content-Type", "text/html"), ("Server", "nginx")]
    assert first.sha256 == hashlib.sha256(BODY).hexdigest() and first.listing_url is None
    assert [r.body for r in only_cn] == [BODY]


def test_unchanged_fetch_keeps_no_response(db: Database) -> None:
    """Only fetches that produce a version keep their response; an unchanged one keeps none."""
    with db.session() as s:
        versions.record_fetch(s, make_article(), make_raw(body=b"a"), now=T0, next_check_at=T0)
        versions.record_fetch(s, make_article(), make_raw(body=b"b"), now=T0, next_check_at=T0)
        assert s.execute(sa.select(sa.func.count()).select_from(ResponseRow)).scalar_one() == 1


def test_zstd_codec_is_safe_across_threads() -> None:
    """Bodies compressed at once by several writer threads all read back byte for byte."""
    from concurrent.futures import ThreadPoolExecutor

    compress, decompress = codecs.CODECS["zstd"]
    bodies = [(b"<p>statement %d</p>" % i) * (200 + 37 * i) for i in range(64)]

    def roundtrip(body: bytes) -> bool:
        return all(decompress(compress(body)) == body for _ in range(20))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(roundtrip, bodies))


def test_one_fetch_behind_several_versions_is_one_response(db: Database) -> None:
    """A feed document that produced ten versions is one response row, which all ten point at."""
    feed = make_raw("https://mfa.example/feed.xml", BODY)
    with db.session() as s:
        for i in range(10):
            article = make_article(f"https://mfa.example/news/{i}.html", title=f"Item {i}")
            versions.record_fetch(s, article, feed, now=T0, next_check_at=T0)
        version_refs = set(s.execute(sa.select(VersionRow.response_id)).scalars())
    assert row_counts(db)["responses"] == 1 and len(version_refs) == 1
    with db.session(readonly=True) as s:
        assert len(list(blobs.iter_responses(s))) == 1


def test_iter_responses_gives_a_fetch_stored_twice_once(db: Database) -> None:
    """Identical rows of one fetch (one per feed item, as stored before migration 0003) export once."""
    feed = make_raw("https://mfa.example/feed.xml", BODY)
    other = make_raw("https://mfa.example/other.html", BODY)
    with db.session() as s:
        sha = _put_blob(s, BODY)
        rows = [blobs.response_values(feed, None, sha) for _ in range(3)]
        rows.append(blobs.response_values(other, None, sha))  # same time and bytes, other URL
        s.execute(sa.insert(ResponseRow), rows)
    with db.session(readonly=True) as s:
        got = [r.url for r in blobs.iter_responses(s)]
    assert got == [feed.url, other.url]


def test_iter_responses_since_and_listing_records_by_source(db: Database) -> None:
    """`since` keeps fetches at or after it; `source` covers that source's listing responses too."""
    with db.session() as s:
        versions.record_fetch(s, make_article(), make_raw(body=b"a"), now=T0, next_check_at=T0)
        blobs.store_response(
            s,
            make_raw("https://mfa.example/list.html", b"list", at=T0 + timedelta(hours=2)),
            None,
            source="cn-mfa-en",
            listing_url="https://mfa.example/list.html",
        )
    with db.session(readonly=True) as s:
        assert [r.body for r in blobs.iter_responses(s, source="cn-mfa-en")] == [b"a", b"list"]
        later = list(blobs.iter_responses(s, since=T0 + timedelta(hours=1)))
        assert [(r.body, r.listing_url) for r in later] == [
            (b"list", "https://mfa.example/list.html")
        ]
        assert list(blobs.iter_responses(s, source="us-state")) == []


def _put_blob(s: Session, body: bytes, *, codec: str = codecs.DEFAULT_CODEC) -> str:
    """Store one body the way a crawl does (`put_packed`); its hash."""
    packed = codecs.pack(body, codec=codec)
    blobs.put_packed(s, [packed])
    return packed.sha256
