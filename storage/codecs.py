"""Compression codecs and packing of raw bodies: the CPU half of the blob store, with no database.

A body is addressed by the SHA-256 of its uncompressed bytes. `pack` hashes and compresses one;
`storage.blobs` writes packed bodies. Being free of database imports, this module is cheap to
import in a parse worker process, which packs bodies away from the event loop's core.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections.abc import Callable
from typing import NamedTuple

import zstandard

_ZSTD = threading.local()  # zstd (de)compressor objects must not be shared between threads
# Level 1: on the real pages of tests/fixtures level 3 compresses barely smaller and is slower
# (docs/benchmarks.md). Raw bodies are a tenth of the database; a new page is packed every time.
ZSTD_LEVEL = 1


def _zstd_compress(body: bytes) -> bytes:
    if not hasattr(_ZSTD, "c"):
        _ZSTD.c = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return bytes(_ZSTD.c.compress(body))


def _zstd_decompress(data: bytes) -> bytes:
    if not hasattr(_ZSTD, "d"):
        _ZSTD.d = zstandard.ZstdDecompressor()
    return bytes(_ZSTD.d.decompress(data))


# codec name -> (compress, decompress); the codec is stored per blob so it can change later.
# zstd compresses a ministry page several times faster than zlib (whose output is a little
# smaller), which matters when every new version stores its response. zlib stays readable.
CODECS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "zstd": (_zstd_compress, _zstd_decompress),
    "zlib": (lambda b: zlib.compress(b, 6), zlib.decompress),
    "none": (lambda b: b, lambda b: b),
}
DEFAULT_CODEC = "zstd"


class PackedBody(NamedTuple):
    """A body made ready for the blob store: its address, size, codec and compressed bytes.

    Packing is pure CPU work, so a crawler may do it away from the writing thread (in a parse
    worker process) and hand the result to `store_response`.
    """

    sha256: str
    size: int
    codec: str
    data: bytes


def sha256_hex(body: bytes) -> str:
    """The hex SHA-256 of a body: its address in the blob store."""
    return hashlib.sha256(body).hexdigest()


def pack(body: bytes, *, codec: str = DEFAULT_CODEC) -> PackedBody:
    """Hash and compress a body for `blobs.put_packed` (no database work)."""
    return PackedBody(sha256_hex(body), len(body), codec, CODECS[codec][0](body))
