"""How long `storage.stored_diffs.diff_versions` takes on a 10,000-word article (issue 3: under 50 ms).

Scenarios: 5 scattered edits (the target), every paragraph edited (worst realistic case), the
whole body rewritten, the same 5 edits in one 10,000-word paragraph, a 10,000-character Chinese
article with 5 edits, and a 200-turn press-conference transcript with a turn removed. Prints
the median of N runs in milliseconds; `--smoke` runs each scenario twice and checks nothing slow
broke. Exit status 1 when the 5-edit scenario misses the 50 ms target.

    .venv/bin/python benchmarks/diff_bench.py [--runs 20] [--smoke]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.stored_diffs import diff_versions  # noqa: E402

TARGET_MS = 50.0
WORDS = 10_000
PARAGRAPHS = 100


def _vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(3000)]


# Zipf's law (s = 1) over the vocabulary: the commonest word is ~12 % of the text, like "the".
_WEIGHTS = [1 / rank for rank in range(1, 3001)]


def _paragraph(rng: random.Random, vocab: list[str], words: int) -> str:
    # Zipf word frequencies and sentences of 8-25 words, like prose.
    out: list[str] = []
    while len(out) < words:
        n = min(rng.randint(8, 25), words - len(out))
        sentence = rng.choices(vocab, weights=_WEIGHTS, k=n)
        sentence[0] = sentence[0].capitalize()
        out += sentence[:-1] + [sentence[-1] + "."]
    return " ".join(out)


def _article(rng: random.Random, vocab: list[str]) -> list[str]:
    return [_paragraph(rng, vocab, WORDS // PARAGRAPHS) for _ in range(PARAGRAPHS)]


def _five_edits(rng: random.Random, vocab: list[str], pars: list[str]) -> list[str]:
    new = list(pars)
    words = new[10].split()
    words[40] = "replaced"
    new[10] = " ".join(words)
    new[30] = new[30].split(". ", 1)[1]  # first sentence removed
    new.insert(50, _paragraph(rng, vocab, 60))  # paragraph added
    del new[71]  # paragraph removed
    words = new[90].split()
    words.insert(20, "inserted")
    new[90] = " ".join(words)
    return new


def _every_paragraph(pars: list[str]) -> list[str]:
    # Two edits per paragraph, near both ends, so trimming the common ends saves nothing.
    out = []
    for p in pars:
        words = p.split()
        words[2] = "edited"
        words[-3] = "changed"
        out.append(" ".join(words))
    return out


def _chinese(rng: random.Random) -> tuple[list[str], list[str]]:
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]
    pars = [
        "".join(rng.choice(han) + ("，" if rng.random() < 0.05 else "") for _ in range(100)) + "。"
        for _ in range(PARAGRAPHS)
    ]
    new = list(pars)
    for k in (5, 25, 45, 65, 85):
        new[k] = new[k][:30] + "中国" + new[k][32:]
    return pars, new


def _transcript(rng: random.Random, vocab: list[str]) -> tuple[list[str], list[str]]:
    pars: list[str] = []
    for k in range(100):
        pars.append(f"Reporter {k % 7}: " + _paragraph(rng, vocab, 30))
        pars.append("Zhao Lijian: " + _paragraph(rng, vocab, 60))
    new = list(pars)
    del new[120]
    return pars, new


def _body(pars: list[str]) -> dict[str, str | None]:
    return {
        "title": "T",
        "date": "2021-11-13 (day, page)",
        "section": "S",
        "body_text": "\n\n".join(pars),
    }


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    """Run every scenario and print its median time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="two runs per scenario")
    args = parser.parse_args()
    runs = 2 if args.smoke else args.runs
    rng = random.Random(3)
    vocab = _vocabulary(rng)
    pars = _article(rng, vocab)
    edited = _five_edits(rng, vocab, pars)
    rewritten = _article(rng, vocab)
    zh_old, zh_new = _chinese(rng)
    qa_old, qa_new = _transcript(rng, vocab)
    scenarios: list[tuple[str, list[str], list[str]]] = [
        ("5 scattered edits (target)", pars, edited),
        ("every paragraph edited", pars, _every_paragraph(pars)),
        ("whole body rewritten", pars, rewritten),
        ("5 edits, one 10k-word paragraph", [" ".join(pars)], [" ".join(edited)]),
        ("Chinese 10k chars, 5 edits", zh_old, zh_new),
        ("200-turn transcript, 1 turn removed", qa_old, qa_new),
    ]
    print(f"diff_versions, median of {runs} runs, {WORDS:,}-word article:")
    target_ms = 0.0
    for name, old, new in scenarios:
        old_f, new_f = _body(old), _body(new)
        ms = _median_ms(partial(diff_versions, old_f, new_f), runs)
        summary = diff_versions(old_f, new_f)["summary"]
        print(f"  {name:38s} {ms:8.2f} ms   {summary[:70]}")
        if name.endswith("(target)"):
            target_ms = ms
    ok = target_ms < TARGET_MS
    print(f"target < {TARGET_MS:.0f} ms for 5 scattered edits: {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
