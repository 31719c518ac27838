"""The crawling process's collector settings: larger young-generation steps, cycles still freed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from mfawatch.gc_tuning import THRESHOLDS, tune_for_crawling


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_tuning_freezes_start_up_objects_and_raises_the_young_threshold(restored_gc: None) -> None:
    """What is alive at start-up is frozen; the young generation is collected in larger steps."""
    tune_for_crawling()
    assert gc.get_threshold() == THRESHOLDS
    assert THRESHOLDS[0] > 700
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()


def test_cycles_made_after_tuning_are_still_collected(restored_gc: None) -> None:
    """A reference cycle made during the crawl is freed once enough new objects were made."""
    tune_for_crawling()
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    assert gone() is not None  # only the collector frees a cycle
    churn = [[] for _ in range(THRESHOLDS[0] * 3)]  # young containers past the threshold
    del churn
    assert gone() is None


def test_tuning_makes_no_full_collection(restored_gc: None) -> None:
    """Freezing needs no full pass first: it would walk every start-up object to free next to none."""
    generations: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            generations.append(info["generation"])

    gc.callbacks.append(record)
    try:
        tune_for_crawling()
    finally:
        gc.callbacks.remove(record)
    assert 2 not in generations
