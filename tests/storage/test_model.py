"""The article model's values survive pickling (parse workers send them between processes)."""

from __future__ import annotations

import pickle

import pytest

from storage.model import Article, RawResponse
from tests.storage.conftest import make_article, make_raw


@pytest.mark.parametrize("value", [make_article(), make_raw()], ids=["article", "raw response"])
def test_values_round_trip_through_pickle(value: Article | RawResponse) -> None:
    """Every field comes back, nested values (dates, enums, headers) included."""
    back = pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == value
    assert type(back) is type(value)


def test_a_pickled_value_is_validated_again() -> None:
    """Loading runs the constructor: a pickle carrying a naive time is refused, not accepted."""
    raw = make_raw()
    object.__setattr__(raw, "fetched_at", raw.fetched_at.replace(tzinfo=None))  # as forged
    forged = pickle.dumps(raw)
    with pytest.raises(ValueError, match="fetched_at"):
        pickle.loads(forged)
