"""Export: every stored article as JSON lines, or the raw evidence as a gzipped WARC.

`export_jsonl` writes one article per line, UTF-8, with the fields of the article model
(DESIGN.md) plus its database `id` (`storage.queries.StoredArticle.to_json`); with
`all_versions`, one line per version instead (`storage.version_log.VersionRecord.to_json`:
number, kind, content and raw hashes, fields). Times are ISO 8601 (crawler times in UTC,
`published_at` in the offset the page gave). `export_warc` writes one WARC/1.1 `response` record
per stored fetch (article pages, listing pages and feed documents; a feed document behind ten
items is one record), built with warcio from the raw bytes kept as evidence, each record gzipped.
With `since`, each keeps what was recorded at or after that time: articles whose content or
status changed, versions seen, responses fetched.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from storage.blobs import iter_responses
from storage.queries import iter_articles
from storage.version_log import iter_versions

# Hop-by-hop framing that no longer describes the stored body (which is kept de-chunked).
_DROP_HEADERS = {"transfer-encoding", "content-length"}
_REASONS = {200: "OK", 203: "Non-Authoritative Information", 301: "Moved Permanently",
            302: "Found", 304: "Not Modified", 404: "Not Found", 410: "Gone"}  # fmt: skip


def _warc_date(value: datetime) -> str:
    # warcio appends "Z" itself, so it needs a naive UTC datetime.
    return str(datetime_to_iso_date(value.astimezone(UTC).replace(tzinfo=None), use_micros=True))


def _writer(out: IO[str] | IO[bytes]) -> Any:
    """A function writing text as UTF-8 to a text or binary stream."""
    if isinstance(out, io.TextIOBase):
        buffer = getattr(out, "buffer", None)
        encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and buffer is not None:
            out.flush()
            return lambda s: buffer.write(s.encode("utf-8"))
        return out.write
    return lambda s: out.write(s.encode("utf-8"))


def export_jsonl(
    session: Session,
    out: IO[str] | IO[bytes],
    source: str | None = None,
    *,
    since: datetime | None = None,
    all_versions: bool = False,
) -> int:
    """Write every article (or one source's) as one JSON object per line, or with `all_versions`
    every version; return how many lines."""
    write = _writer(out)
    records = (
        iter_versions(session, source=source, since=since)
        if all_versions
        else iter_articles(session, source, since=since)
    )
    count = 0
    for record in records:
        write(json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def _http_headers(status: int, headers: list[tuple[str, str]], body: bytes) -> StatusAndHeaders:
    kept = [(k, v) for k, v in headers if k.lower() not in _DROP_HEADERS]
    encoding = next((v for k, v in kept if k.lower() == "content-encoding"), None)
    if encoding and not body.startswith(b"\x1f\x8b") and encoding.strip().lower() != "identity":
        # The body was stored decoded: a reader must not try to decode it again.
        kept = [(k, v) for k, v in kept if k.lower() != "content-encoding"]
    kept.append(("Content-Length", str(len(body))))
    reason = _REASONS.get(status, "")
    return StatusAndHeaders(f"{status} {reason}".strip(), kept, protocol="HTTP/1.1")


def export_warc(
    session: Session,
    out: IO[bytes],
    source: str | None = None,
    *,
    since: datetime | None = None,
) -> int:
    """Write a warcinfo record, then every stored fetch as a gzipped WARC response record (and,
    for a page loaded in a browser, its rendered DOM as a `conversion` record referring to it)."""
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    info = writer.create_warcinfo_record(
        "mfawatch-export.warc.gz",
        {
            "software": "mfawatch",
            "format": "WARC File Format 1.1",
            "source": source or "all",
            "since": _warc_date(since) if since is not None else "all",
        },
    )
    writer.write_record(info)
    count = 0
    for resp in iter_responses(session, source=source, since=since):
        record = writer.create_warc_record(
            resp.url,
            "response",
            payload=io.BytesIO(resp.body),
            length=len(resp.body),
            warc_headers_dict={"WARC-Date": _warc_date(resp.fetched_at)},
            http_headers=_http_headers(resp.status, resp.headers, resp.body),
        )
        writer.write_record(record)
        count += 1
        if resp.rendered is not None:
            # The DOM the browser rendered from that response: a conversion of it (WARC 1.1).
            conversion = writer.create_warc_record(
                resp.url,
                "conversion",
                payload=io.BytesIO(resp.rendered),
                length=len(resp.rendered),
                warc_content_type="text/html; charset=utf-8",
                warc_headers_dict={
                    "WARC-Date": _warc_date(resp.fetched_at),
                    "WARC-Refers-To": record.rec_headers.get_header("WARC-Record-ID"),
                },
            )
            writer.write_record(conversion)
    return count
