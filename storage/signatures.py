"""Near-duplicate signatures of article bodies: MinHash over shingles (datasketch).

A signature is 64 MinHash values (256 bytes) of the body's shingles: 5-word shingles for text
written with spaces, 4-character shingles (spaces dropped) for CJK text, where words are not
separated. Two bodies whose estimated Jaccard similarity is at least `THRESHOLD` (0.8) are the
same release with small differences (a fixed typo, a changed boilerplate line, a new navigation
text). With 64 permutations the estimate's standard error is at most 1/sqrt(64) = 0.0625, so a
pair at 0.95 is matched practically always and one at 0.6 practically never.

The shingles are hashed with CRC-32 (zlib, in C) instead of datasketch's default SHA-1, and the
permutations are made once per process: both were most of the cost of a signature (CPU time
for a 550-word release, measured on the shared 2-core machine: about 760 µs with the defaults,
350 µs so, half of it building the shingles; `benchmarks/storage_bench.py` prints the rule's
cost). The hash function, seed, scheme and shingle sizes are part of what a stored signature
means: changing any of them makes stored signatures incomparable with new ones.

datasketch imports numpy and scipy (half a second): it is imported on the first signature only.
"""

from __future__ import annotations

import functools
import re
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasketch import MinHash

NUM_PERM = 64
THRESHOLD = 0.8
WORD_SHINGLE = 5
CJK_SHINGLE = 4
_SEED = 1  # fixed: stored signatures must stay comparable across runs and versions
_SCHEME = "affine32"  # datasketch's 32-bit hash values (4 bytes each)
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _shingles(text: str) -> list[bytes]:
    head = text[:2000]
    if len(_CJK.findall(head)) * 4 > len(head.replace(" ", "")):
        chars = "".join(text.lower().split())
        n = CJK_SHINGLE
        return [chars[i : i + n].encode() for i in range(max(1, len(chars) - n + 1))]
    words = _WORD.findall(text.lower())
    if len(words) < WORD_SHINGLE:
        return [" ".join(words).encode()]
    windows = zip(*(words[k:] for k in range(WORD_SHINGLE)), strict=False)
    return [shingle.encode() for shingle in map(" ".join, windows)]


@functools.cache
def _permutations() -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME).permutations


def _minhash(values: bytes | None = None) -> MinHash:
    import numpy as np
    from datasketch import MinHash

    return MinHash(
        num_perm=NUM_PERM,
        seed=_SEED,
        hashfunc=zlib.crc32,
        permutations=_permutations(),
        scheme=_SCHEME,
        hashvalues=None if values is None else np.frombuffer(values, dtype="<u4"),
    )


def signature(text: str) -> bytes:
    """The MinHash signature of a body text (256 bytes)."""
    m = _minhash()
    m.update_batch(_shingles(text))
    return bytes(m.hashvalues.astype("<u4").tobytes())


def similarity(a: bytes, b: bytes) -> float:
    """The estimated Jaccard similarity of the bodies behind two signatures (0..1).

    The share of equal values, as `MinHash.jaccard` computes it, read from the bytes directly
    (building two MinHash objects per pair would cost more than the comparison).
    """
    if len(a) != len(b) or not a:
        return 0.0
    import numpy as np

    x = np.frombuffer(a, dtype="<u4")
    y = np.frombuffer(b, dtype="<u4")
    return float(np.count_nonzero(x == y)) / len(x)
