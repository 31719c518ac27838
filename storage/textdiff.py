"""Word-level diffing of passages: tokens, word counts, similarity, and in-order alignment.

Tokens are Latin-script words (with inner apostrophes, dots, hyphens), single CJK characters
(Chinese and Japanese have no spaces between words) and single punctuation marks, each carrying
the whitespace before it, so joining tokens gives back the text exactly. `word_ops` returns
`[tag, text]` chunks (`eq`/`del`/`ins`); long passages are compared sentence by sentence first so
the word-level work stays proportional to what changed. Pure functions, used by storage.stored_diffs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

# Han ideographs, radicals and kana: one character is one word.
_CJK = "\u2e80-\u2fdf\u3005\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A token is one CJK character, a Latin word (with inner apostrophes, dots, hyphens: "China's",
# "win-win", "3.5") or any other single character (punctuation), each with the whitespace before
# it; trailing whitespace is a token of its own. Gluing the space on halves the token count and
# keeps the most frequent token of all (" ") from slowing SequenceMatcher down.
_TOKEN_RE = re.compile(rf"\s*(?:[{_CJK}]|[^\W{_CJK}]+(?:['’.\-][^\W{_CJK}]+)*|\S)|\s+")
# The same without the CJK rule: twice as fast, and exact for text without CJK characters.
_PLAIN_TOKEN_RE = re.compile(r"\s*(?:\w+(?:['’.\-]\w+)*|\S)|\s+")
_PLAIN_WORD_RE = re.compile(r"\w+(?:['’.\-]\w+)*")
_CJK_RUN_RE = re.compile(rf"[{_CJK}]+")
_CJK_FIRST = "\u2e80"  # no CJK character sorts below this one
# A sentence: up to and including its end marks, closing quotes and the following space; the
# pieces always join back to the whole text.
_SENTENCE_RE = re.compile(r"[^.!?。！？]*[.!?。！？]+[\"'”’)\]」』]*\s*|[^.!?。！？]+\Z")
_SENTENCE_PASS_CHARS = 400
_AUTOJUNK_TOKENS = 3000
# Two paragraphs (or turns) are "the same one, edited" when their word sets overlap this much
# (Dice coefficient); below it an edit is shown as a removal plus an addition.
_SIMILAR = 0.5
# Above this many old x new pairs in one changed block, pair paragraphs by position instead of
# aligning by similarity, which keeps the every-paragraph-changed case fast.
_MAX_ALIGN_CELLS = 4096


def count_words(text: str) -> int:
    """How many words a text has, counting each CJK character as a word."""
    if not _maybe_cjk(text):
        return len(_PLAIN_WORD_RE.findall(text))
    return _count_words(tokens(text))


def _maybe_cjk(text: str) -> bool:
    # max() runs in C; scanning with the CJK character class is much slower.
    return not text.isascii() and max(text) >= _CJK_FIRST


def tokens(text: str) -> list[str]:
    """The text's tokens (each with the whitespace before it); they join back to the text."""
    if not _maybe_cjk(text):
        return _PLAIN_TOKEN_RE.findall(text)
    out: list[str] = []
    for token in _PLAIN_TOKEN_RE.findall(text):
        if _maybe_cjk(token):
            out += _TOKEN_RE.findall(token)
        else:
            out.append(token)
    return out


def _is_word(token: str) -> bool:
    core = token.lstrip()[:1]
    return core.isalnum() or core == "_"


def _count_words(toks: Sequence[str]) -> int:
    return sum(1 for token in toks if _is_word(token))


def signature(text: str) -> frozenset[str]:
    """What two passages are compared by: their words, plus character pairs of CJK runs."""
    # str.split runs in C, unlike the tokenizer, and word order does not matter here.
    folded = text.casefold()
    words = set(folded.split())
    for run in _CJK_RUN_RE.findall(folded) if _maybe_cjk(folded) else ():
        words.update(run[k : k + 2] for k in range(max(1, len(run) - 1)))
    return frozenset(words)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """How alike two signatures are, from 0 to 1 (Dice coefficient)."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def word_ops(old: str, new: str) -> tuple[list[list[str]], int, int]:
    """Word ops (`[tag, text]`) turning `old` into `new`, plus the words added and removed."""
    if len(old) + len(new) <= _SENTENCE_PASS_CHARS:
        return _token_ops(tokens(old), tokens(new))
    # A long passage is diffed sentence by sentence first, so word-level work (and tokenizing)
    # is spent only on the sentences that changed.
    old_s, new_s = _SENTENCE_RE.findall(old), _SENTENCE_RE.findall(new)
    chunks: list[list[str]] = []
    added = removed = 0
    matcher = SequenceMatcher(None, old_s, new_s, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            chunks.append(["eq", "".join(old_s[i1:i2])])
            continue
        old_block, new_block = "".join(old_s[i1:i2]), "".join(new_s[j1:j2])
        if len(old_block) + len(new_block) <= _SENTENCE_PASS_CHARS:
            # A few sentences: one word diff over the block also shows sentences split or joined.
            pairs: list[tuple[str, str]] = [(old_block, new_block)]
        else:
            pairs = [
                (old_s[i1 + pi] if pi is not None else "", new_s[j1 + pj] if pj is not None else "")
                for pi, pj in align(
                    [signature(t) for t in old_s[i1:i2]], [signature(t) for t in new_s[j1:j2]]
                )
            ]
        for old_part, new_part in pairs:
            if old_part and new_part:
                ops, plus, minus = _token_ops(tokens(old_part), tokens(new_part))
                chunks += ops
            else:
                chunks += [["del", old_part]] if old_part else [["ins", new_part]]
                plus, minus = count_words(new_part), count_words(old_part)
            added, removed = added + plus, removed + minus
    return _merge_chunks(chunks), added, removed


def _token_ops(a: list[str], b: list[str]) -> tuple[list[list[str]], int, int]:
    """Word ops between two token lists, plus the words added and removed."""
    # Edits are usually small: strip the common ends so SequenceMatcher sees only the middle.
    limit = min(len(a), len(b))
    start = 0
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[-1 - end] == b[-1 - end]:
        end += 1
    chunks: list[list[str]] = []
    if start:
        chunks.append(["eq", "".join(a[:start])])
    mid_a, mid_b = a[start : len(a) - end], b[start : len(b) - end]
    added = removed = 0
    # Without autojunk every match is exact; only a huge unbroken passage (no sentence ends)
    # falls back to difflib's popularity heuristic to stay fast.
    junk = len(mid_b) > _AUTOJUNK_TOKENS
    matcher = SequenceMatcher(None, mid_a, mid_b, autojunk=junk)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            chunks.append(["eq", "".join(mid_a[i1:i2])])
            continue
        if i2 > i1:
            chunks.append(["del", "".join(mid_a[i1:i2])])
            removed += _count_words(mid_a[i1:i2])
        if j2 > j1:
            chunks.append(["ins", "".join(mid_b[j1:j2])])
            added += _count_words(mid_b[j1:j2])
    if end:
        chunks.append(["eq", "".join(a[len(a) - end :])])
    return _merge_chunks(chunks), added, removed


def _merge_chunks(chunks: list[list[str]]) -> list[list[str]]:
    """Join neighbouring chunks of a kind; in each changed run put the removal first."""
    out: list[list[str]] = []
    dels: list[str] = []
    inss: list[str] = []

    def flush() -> None:
        old, new = "".join(dels), "".join(inss)
        if old and new:
            # Tokens carry their leading space; a space both sides share reads better unmarked.
            space = len(old) - len(old.lstrip())
            space = min(space, len(new) - len(new.lstrip()))
            if space and old[:space] == new[:space]:
                _append(out, "eq", old[:space])
                old, new = old[space:], new[space:]
        if old:
            out.append(["del", old])
        if new:
            out.append(["ins", new])
        dels.clear()
        inss.clear()

    for tag, text in chunks:
        if tag == "eq":
            flush()
            _append(out, "eq", text)
        elif tag == "del":
            dels.append(text)
        else:
            inss.append(text)
    flush()
    return _slide_spaces(out)


def _slide_spaces(ops: list[list[str]]) -> list[list[str]]:
    """Move a lone insertion's or deletion's leading space to its end: "a [+candid +]frank"."""
    # Both placements give the same texts; this one keeps marks on word starts, as people write.
    for k in range(1, len(ops) - 1):
        before, (tag, text), after = ops[k - 1], ops[k], ops[k + 1]
        if tag == "eq" or before[0] != "eq" or after[0] != "eq":
            continue
        space = text[: len(text) - len(text.lstrip())]
        if space and space != text and after[1].startswith(space):
            before[1] += space
            ops[k][1] = text[len(space) :] + space
            after[1] = after[1][len(space) :]
    out: list[list[str]] = []
    for tag, text in ops:
        _append(out, tag, text)
    return out


def _append(out: list[list[str]], tag: str, text: str) -> None:
    if out and out[-1][0] == tag:
        out[-1][1] += text
    elif text:
        out.append([tag, text])


def align(
    old_sigs: Sequence[frozenset[str]], new_sigs: Sequence[frozenset[str]]
) -> list[tuple[int | None, int | None]]:
    """Pair items of a changed block in order: (i, j) edited, (i, None) removed, (None, j) added."""
    n, m = len(old_sigs), len(new_sigs)
    if n == m and all(
        similarity(a, b) >= _SIMILAR for a, b in zip(old_sigs, new_sigs, strict=True)
    ):
        return [(k, k) for k in range(n)]
    if n * m > _MAX_ALIGN_CELLS:
        pairs: list[tuple[int | None, int | None]] = []
        for k in range(max(n, m)):
            if k < n and k < m and similarity(old_sigs[k], new_sigs[k]) >= _SIMILAR:
                pairs.append((k, k))
            else:
                pairs += [(k, None)] if k < n else []
                pairs += [(None, k)] if k < m else []
        return pairs
    # Needleman-Wunsch with free gaps: maximize the summed similarity of the pairs kept.
    sim = [[similarity(a, b) for b in new_sigs] for a in old_sigs]
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        row, prev = score[i], score[i - 1]
        for j in range(1, m + 1):
            s = sim[i - 1][j - 1]
            best = max(prev[j], row[j - 1])
            if s >= _SIMILAR and prev[j - 1] + s > best:
                best = prev[j - 1] + s
            row[j] = best
    out: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        # Taking additions first while walking back puts removals before additions in a gap.
        if j and score[i][j] == score[i][j - 1]:
            out.append((None, j - 1))
            j -= 1
        elif i and score[i][j] == score[i - 1][j]:
            out.append((i - 1, None))
            i -= 1
        else:
            out.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    out.reverse()
    return out
