"""The text operations pairing needs, behind one small interface: `fold` and `cjk`.

Pairing compares names and words across languages, so it needs the same case and accent folding
as search. Search's text module (`storage.search.text`, issue 19) is being written on another
branch; until it is merged, `fold` here is the minimal NFKD-and-casefold it replaces, and this
module is the only place to switch (nothing else in `storage.readouts` folds text itself).
"""

from __future__ import annotations

import re
import unicodedata

# Han, kana, hangul: scripts written without spaces, where a name is matched as written.
# Only the Latin/Greek/Cyrillic combining accents: kana's voicing marks (ブ = フ + ゙) must stay.
_MARKS = re.compile(r"[\u0300-\u036f]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def fold(text: str) -> str:
    """Text with case and accents folded (`Séjourné` -> `sejourne`), width forms unified."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = _MARKS.sub("", decomposed)
    return unicodedata.normalize("NFC", stripped.casefold())


def cjk(text: str) -> bool:
    """Whether `text` contains a character of a script written without spaces."""
    return _CJK.search(text) is not None
