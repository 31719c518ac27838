"""Reading a response body under limits: raw size, decompressed size, Content-Encoding.

The body is fed chunk by chunk as it arrives. Decompression is done here rather than by httpx so
that every inflate step is bounded (`max_length`): a gzip bomb is stopped after the limit, never
inflated in memory. Only `gzip`, `deflate` and `identity` are asked for (Accept-Encoding) and
accepted.
"""

from __future__ import annotations

import zlib

from crawler.errors import FetchError, TooLarge

ACCEPT_ENCODING = "gzip, deflate"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


class _Inflater:
    """One gzip or deflate layer whose output per call is bounded."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # 47 = 32 + 15: zlib auto-detects a gzip or zlib header; raw deflate is tried on failure.
        self._obj = zlib.decompressobj(47)
        self._raw_tried = encoding != "deflate"

    def feed(self, data: bytes, budget: int) -> bytes:
        """Inflate `data`, producing at most `budget + 1` bytes beyond what was asked (then stop)."""
        out = bytearray()
        pending = data
        while pending:
            try:
                piece = self._obj.decompress(pending, budget + 1 - len(out))
            except zlib.error:
                if self._raw_tried:
                    raise
                # Some servers send raw deflate without the zlib header.
                self._raw_tried = True
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_tried = True
            out += piece
            if len(out) > budget:
                break
            pending = self._obj.unconsumed_tail
            if self._obj.eof:
                break
        return bytes(out)


class BodyReader:
    """Accumulates one response body, enforcing `max_bytes` (raw) and `max_decompressed` (decoded)."""

    def __init__(
        self, url: str, content_encoding: str | None, *, max_bytes: int, max_decompressed: int
    ) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.max_decompressed = max_decompressed
        self.raw_size = 0
        self._parts: list[bytes] = []  # joined once at the end: no copy per chunk
        self._size = 0
        self._layers: list[_Inflater] = []
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        for coding in reversed(codings):  # the last coding applied is undone first
            if coding in ("identity", ""):
                continue
            if coding in ("gzip", "x-gzip", "deflate"):
                self._layers.append(_Inflater(coding))
                continue
            raise FetchError(
                url,
                f"unsupported Content-Encoding {coding!r} (we ask for {ACCEPT_ENCODING!r} only)",
            )

    def check_declared_length(self, content_length: str | None) -> None:
        """Refuse early when Content-Length already says the body is over the limit."""
        if content_length and content_length.strip().isdigit():
            n = int(content_length)
            if n > self.max_bytes:
                raise TooLarge(
                    self.url,
                    f"Content-Length is {_mb(n)}, over the {_mb(self.max_bytes)} limit (limits.max_bytes)",
                )

    def feed(self, chunk: bytes) -> None:
        """Take one raw chunk off the wire."""
        self.raw_size += len(chunk)
        if self.raw_size > self.max_bytes:
            raise TooLarge(
                self.url,
                f"body exceeded {_mb(self.max_bytes)} while downloading (limits.max_bytes); aborted",
            )
        data = chunk
        try:
            for layer in self._layers:
                data = layer.feed(data, self.max_decompressed - self._size)
        except zlib.error as exc:
            raise FetchError(self.url, f"corrupt {self._layers[0].encoding} body: {exc}") from None
        self._parts.append(data)
        self._size += len(data)
        if self._size > self.max_decompressed:
            raise TooLarge(
                self.url,
                f"body inflates beyond {_mb(self.max_decompressed)} "
                "(limits.max_decompressed_bytes); decompression stopped (a compression bomb?)",
            )

    def body(self) -> bytes:
        """The decoded body read so far."""
        return b"".join(self._parts)
