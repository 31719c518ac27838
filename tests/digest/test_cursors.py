"""Review cursors: marking reviewed empties the next digest; named cursors are independent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from digest.report import build_report
from digest.window import CursorNameError, get_cursor, resolve_since, set_cursor
from tests.digest.conftest import DigestDB


def test_mark_reviewed_then_digest_is_empty(digest_db: DigestDB) -> None:
    """After the cursor moves to now, the default digest window holds nothing."""
    d = digest_db
    with d.db.session(readonly=True) as s:
        since = resolve_since(s, None, now=d.now)
        assert since == d.now - timedelta(days=1)  # no cursor yet: the last 24 hours
        assert not build_report(s, since=since, until=d.now).is_empty
    with d.db.session() as s:
        set_cursor(s, d.now)
    with d.db.session(readonly=True) as s:
        since = resolve_since(s, None, now=d.now)
        assert since == d.now
        assert build_report(s, since=since, until=d.now).is_empty


def test_named_cursors_are_independent(digest_db: DigestDB) -> None:
    """Moving alice's cursor leaves bob's and the default one where they were."""
    d = digest_db
    with d.db.session() as s:
        set_cursor(s, d.now, "alice")
        set_cursor(s, d.now - timedelta(hours=3), "bob")
    with d.db.session(readonly=True) as s:
        assert get_cursor(s, "alice") == d.now
        assert get_cursor(s, "default") is None
        bob = build_report(s, since=resolve_since(s, None, cursor="bob", now=d.now), until=d.now)
        alice = build_report(
            s, since=resolve_since(s, None, cursor="alice", now=d.now), until=d.now
        )
        default = build_report(s, since=resolve_since(s, None, now=d.now), until=d.now)
    assert alice.is_empty
    assert bob.counts == {
        "new": 0,
        "changed": 1,
        "removed": 0,
        "restored": 1,
        "returned": 0,
        "moved": 0,
    }
    assert len(default.items) == 6


def test_explicit_since_overrides_the_cursor(digest_db: DigestDB) -> None:
    """`--since 2d` ignores the cursor."""
    d = digest_db
    with d.db.session() as s:
        set_cursor(s, d.now)
    with d.db.session(readonly=True) as s:
        assert resolve_since(s, "2d", now=d.now) == d.now - timedelta(days=2)


@pytest.mark.parametrize("name", ["", "has space", "-dash-first", "x" * 101, "a/b"])
def test_bad_reviewer_names_are_refused(digest_db: DigestDB, name: str) -> None:
    """A reviewer name outside letters, digits, '.', '_', '-' is refused with the rule."""
    with digest_db.db.session() as s, pytest.raises(CursorNameError, match="invalid reviewer name"):
        set_cursor(s, digest_db.now, name)
