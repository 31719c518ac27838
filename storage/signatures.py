"""Near-duplicate signatures of article bodies: MinHash over shingles (datasketch).

A signature is 64 MinHash values (256 bytes) of the body's shingles: 5-word shingles for text
written with spaces, 4-character shingles (spaces dropped) for CJK text, where words are not
separated. Two bodies whose estimated Jaccard similarity is at least `THRESHOLD` (0.8) are the
same release with small differences (a fixed typo, a changed boilerplate line, a new navigation
text). With 64 permutations the estimate's standard error is at most 1/sqrt(64) = 0.0625, so a
pair at 0.9 is matched practically always and one at 0.6 practically never.

datasketch imports numpy and scipy (half a second): it is imported on the first signature only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasketch import MinHash

NUM_PERM = 64
THRESHOLD = 0.8
WORD_SHINGLE = 5
CJK_SHINGLE = 4
_SEED = 1  # fixed: stored signatures must stay comparable across runs and versions
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _shingles(text: str) -> list[bytes]:
    if len(_CJK.findall(text[:2000])) * 4 > len(text[:2000].replace(" ", "")):
        chars = "".join(ch for ch in text.lower() if not ch.isspace())
        n = CJK_SHINGLE
        return [chars[i : i + n].encode() for i in range(max(1, len(chars) - n + 1))]
    words = _WORD.findall(text.lower())
    n = WORD_SHINGLE
    return [" ".join(words[i : i + n]).encode() for i in range(max(1, len(words) - n + 1))]


def _minhash(values: bytes | None = None) -> MinHash:
    import numpy as np
    from datasketch import MinHash

    if values is None:
        return MinHash(num_perm=NUM_PERM, seed=_SEED)
    return MinHash(num_perm=NUM_PERM, seed=_SEED, hashvalues=np.frombuffer(values, dtype=np.uint32))


def signature(text: str) -> bytes:
    """The MinHash signature of a body text (256 bytes)."""
    m = _minhash()
    m.update_batch(_shingles(text))
    return bytes(m.hashvalues.astype("<u4").tobytes())


def similarity(a: bytes, b: bytes) -> float:
    """The estimated Jaccard similarity of the bodies behind two signatures (0..1)."""
    if len(a) != len(b):
        return 0.0
    return float(_minhash(a).jaccard(_minhash(b)))
