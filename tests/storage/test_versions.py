"""record_fetch / record_missing / record_not_modified: versions only for real changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from storage import versions
from storage.engine import Database
from storage.errors import ArticleNotFound
from storage.model import Article
from storage.queries import history
from storage.schema import ArticleRow, DiffRow, RevertRow, VersionRow
from tests.storage.conftest import BODY, T0, day_date, make_article, make_raw, row_counts

H = timedelta(hours=1)
NEXT = T0 + timedelta(days=1)


def fetch(
    db: Database,
    article: Article | None = None,
    *,
    at: datetime = T0,
    body: bytes = b"<html>v</html>",
    aliases: Sequence[str] = (),
) -> versions.Outcome:
    """Record one fetch of `article` in its own transaction."""
    article = article or make_article()
    with db.session() as s:
        return versions.record_fetch(
            s,
            article,
            make_raw(article.url, body, at=at),
            now=at,
            next_check_at=at + H,
            aliases=aliases,
        )


def missing(
    db: Database, at: datetime, status: int = 404, url: str = "https://mfa.example/news/1.html"
) -> versions.Outcome:
    """Record one missing check in its own transaction."""
    with db.session() as s:
        return versions.record_missing(
            s,
            url,
            make_raw(url, b"<h1>Not Found</h1>", status=status, at=at),
            f"HTTP {status}",
            now=at,
            next_check_at=at + H,
        )


def test_new_then_unchanged(db: Database) -> None:
    """The first fetch makes version 1; an identical refetch is `unchanged` and adds no version."""
    first = fetch(db)
    assert (first.kind, first.version) == ("new", 1)
    again = fetch(db, at=T0 + H)
    assert (again.kind, again.article_id, again.version) == ("unchanged", first.article_id, 1)
    with db.session() as s:
        row = s.get(ArticleRow, first.article_id)
        assert row is not None
        assert row.last_checked_at == T0 + H and row.checks == 2 and row.next_check_at == T0 + 2 * H
        assert row.last_changed_at == T0


NOISY_BODIES = {
    "whitespace": BODY.replace("held talks", "held   talks") + "   ",
    "nbsp": BODY.replace(" ", "\u00a0", 3),
    "nbsp-entity": BODY.replace(" ", "&nbsp;", 2),
    "crlf": BODY.replace("\n", "\r\n"),
    "zero-width": BODY.replace("talks", "ta\u200blks\u200d"),
}


@pytest.mark.parametrize("variant", list(NOISY_BODIES))
def test_noise_variants_make_no_version(db: Database, variant: str) -> None:
    """A refetch differing only by whitespace, NFC, nbsp, CRLF or zero-width noise is unchanged."""
    fetch(db)
    noisy = make_article(
        body_text=NOISY_BODIES[variant], title=" Wang Yi Holds  Talks with Counterpart\u200b"
    )
    assert fetch(db, noisy, at=T0 + H).kind == "unchanged"
    assert row_counts(db)["versions"] == 1


def test_nfc_variant_makes_no_version(db: Database) -> None:
    """A title with a decomposed accent equals its precomposed form."""
    fetch(db, make_article(title="Caf\u00e9 talks"))
    assert fetch(db, make_article(title="Cafe\u0301 talks"), at=T0 + H).kind == "unchanged"


def test_section_and_html_changes_are_not_versions(db: Database) -> None:
    """Another section (listed twice), other markup or another date source is not an edit."""
    fetch(db)
    other = make_article(section="Spokesperson's Remarks", body_html="<div>x</div>")
    assert fetch(db, other, at=T0 + H).kind == "unchanged"


EDITS = {
    "word": make_article(body_text=BODY.replace("Saturday", "Sunday")),
    "sentence removed": make_article(
        body_text=BODY.replace(" The two sides", "").replace(
            "The two sides exchanged views on bilateral relations.\n\n", ""
        )
    ),
    "paragraph added": make_article(body_text=BODY + "\n\nThey also discussed climate change."),
    "title": make_article(title="Wang Yi Holds Phone Talks with Counterpart"),
    "date": make_article(date=day_date(date(2024, 3, 2))),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_real_edit_makes_exactly_one_version_with_a_diff(db: Database, edit: str) -> None:
    """A real edit creates version 2 with its diff from version 1; refetching it adds nothing."""
    first = fetch(db)
    changed = fetch(db, EDITS[edit], at=T0 + H, body=b"<html>edited</html>")
    assert (changed.kind, changed.version) == ("changed", 2)
    assert fetch(db, EDITS[edit], at=T0 + 2 * H, body=b"<html>edited</html>").kind == "unchanged"
    with db.session() as s:
        v2 = s.execute(
            sa.select(VersionRow).where(
                VersionRow.article_id == first.article_id, VersionRow.number == 2
            )
        ).scalar_one()
        assert v2.kind == "changed" and v2.diff_from == 1 and v2.diff_summary
        assert v2.seen_at == T0 + H and v2.raw_sha256 and v2.content_hash
        assert v2.title == EDITS[edit].title and v2.body_text == EDITS[edit].body_text
        diff = s.get(DiffRow, v2.id)
        assert diff is not None and diff.from_number == 1
        changed_fields = {f["field"] for f in diff.data["fields"] if f["old"] != f["new"]}
        body_ops = [op for op in diff.data["body"] if op["op"] != "equal"]
    expected = {"title": {"title"}, "date": {"date"}}.get(edit, set())
    assert changed_fields == expected
    assert bool(body_ops) == (edit not in ("title", "date"))
    assert row_counts(db)["versions"] == 2


def test_word_edit_diff_shows_that_word(db: Database) -> None:
    """The stored diff of a one-word edit names exactly the removed and added word."""
    fetch(db)
    fetch(db, EDITS["word"], at=T0 + H)
    with db.session() as s:
        data = s.execute(sa.select(DiffRow.data)).scalar_one()
    assert data["words_added"] == 1 and data["words_removed"] == 1
    (op,) = [op for op in data["body"] if op["op"] != "equal"]
    assert op["op"] == "replace"
    assert ["del", "Saturday"] in op["words"] and ["ins", "Sunday"] in op["words"]


def test_flip_flop_is_recorded_as_reverts_not_versions(db: Database) -> None:
    """A -> B -> A -> B ... makes two versions and one revert row per direction, with counts."""
    a, b = make_article(), EDITS["word"]
    assert fetch(db, a).kind == "new"
    assert fetch(db, b, at=T0 + 1 * H).kind == "changed"
    back = fetch(db, a, at=T0 + 2 * H)
    assert (back.kind, back.version) == ("reverted", 1)
    assert fetch(db, a, at=T0 + 3 * H).kind == "unchanged"
    forth = fetch(db, b, at=T0 + 4 * H)
    assert (forth.kind, forth.version) == ("reverted", 2)
    before = row_counts(db)
    for i in range(5, 25):
        assert fetch(db, a if i % 2 else b, at=T0 + i * H).kind == "reverted"
    assert row_counts(db) == before
    assert before["versions"] == 2 and before["reverts"] == 2
    with db.session() as s:
        pairs = {
            (r.from_number, r.to_number): r.count for r in s.execute(sa.select(RevertRow)).scalars()
        }
        row = s.get(ArticleRow, back.article_id)
        assert row is not None and row.version == 2 and row.content_version == 2
    assert pairs == {(2, 1): 11, (1, 2): 11}
    with db.session() as s:
        h = history(s, str(back.article_id))
    assert [v.kind for v in h.versions] == ["new", "changed"]
    assert {(r.from_number, r.to_number) for r in h.reverts} == {(2, 1), (1, 2)}


def test_flip_to_a_third_content_diffs_from_the_current_one(db: Database) -> None:
    """After A -> B -> A, a new content C is version 3 with its diff taken from A (v1)."""
    fetch(db)
    fetch(db, EDITS["word"], at=T0 + H)
    fetch(db, make_article(), at=T0 + 2 * H)
    third = fetch(db, EDITS["title"], at=T0 + 3 * H)
    assert (third.kind, third.version) == ("changed", 3)
    with db.session() as s:
        v3 = s.execute(sa.select(VersionRow).where(VersionRow.number == 3)).scalar_one()
    assert v3.diff_from == 1


def test_missing_needs_three_checks_over_a_day_before_removed(db: Database) -> None:
    """Three 404s within 24 h stay `missing`; a check 24 h after the first makes it `removed` once."""
    fetch(db)
    assert missing(db, T0 + H).kind == "missing"
    assert missing(db, T0 + 2 * H, status=410).kind == "still_missing"
    assert missing(db, T0 + 3 * H).kind == "still_missing"
    assert row_counts(db)["versions"] == 1
    removed = missing(db, T0 + 25 * H)
    assert (removed.kind, removed.version) == ("removed", 2)
    assert missing(db, T0 + 30 * H).kind == "still_missing"
    assert missing(db, T0 + 60 * H).kind == "still_missing"
    with db.session() as s:
        versions_ = s.execute(sa.select(VersionRow).order_by(VersionRow.number)).scalars().all()
        row = s.get(ArticleRow, removed.article_id)
        assert row is not None and row.status == "removed"
    assert [v.kind for v in versions_] == ["new", "removed"]
    evidence = versions_[1].evidence
    assert evidence is not None
    assert evidence["checks"] == 4 and evidence["status"] == 404
    assert [e["status"] for e in evidence["history"]] == [404, 410, 404, 404]
    assert evidence["final_url"] == "https://mfa.example/news/1.html"
    assert versions_[1].raw_sha256 is not None


def test_removed_article_coming_back_is_restored(db: Database) -> None:
    """A removed article that answers again gets a `restored` version and is live."""
    fetch(db)
    for hours in (1, 2, 30):
        missing(db, T0 + hours * H)
    back = fetch(db, at=T0 + 40 * H)
    assert (back.kind, back.version) == ("restored", 3)
    assert fetch(db, at=T0 + 41 * H).kind == "unchanged"
    with db.session() as s:
        h = history(s, "https://mfa.example/news/1.html")
    assert [v.kind for v in h.versions] == ["new", "removed", "restored"]
    assert h.article.status == "live"
    assert h.versions[2].diff_from is None  # same content as before the removal


def test_missing_then_back_is_live_without_a_version(db: Database) -> None:
    """A spurious 404 followed by the page again returns to live with no version row."""
    first = fetch(db)
    missing(db, T0 + H)
    back = fetch(db, at=T0 + 2 * H)
    assert (back.kind, back.back_from_missing) == ("unchanged", True)
    assert row_counts(db)["versions"] == 1
    with db.session() as s:
        row = s.get(ArticleRow, first.article_id)
        assert row is not None and row.status == "live" and row.missing_checks == 0
    # the missing episode starts over: three fresh checks are needed again
    assert missing(db, T0 + 30 * H).kind == "missing"


def test_back_from_missing_with_an_edit_is_changed(db: Database) -> None:
    """An article that was missing and returns edited is `changed` (and live)."""
    fetch(db)
    missing(db, T0 + H)
    back = fetch(db, EDITS["word"], at=T0 + 2 * H)
    assert (back.kind, back.version, back.back_from_missing) == ("changed", 2, True)


def test_not_modified_touches_only_the_article_row(db: Database) -> None:
    """A 304 is `unchanged`, updates the check times, and adds no rows."""
    first = fetch(db)
    before = row_counts(db)
    with db.session() as s:
        out = versions.record_not_modified(s, first_url(), now=T0 + H, next_check_at=NEXT)
    assert (out.kind, out.version) == ("unchanged", 1)
    assert row_counts(db) == before
    with db.session() as s:
        row = s.get(ArticleRow, first.article_id)
        assert row is not None and row.next_check_at == NEXT and row.checks == 2


def test_not_modified_restores_a_removed_article(db: Database) -> None:
    """A 304 for a removed article restores it with its last content."""
    fetch(db)
    for hours in (1, 2, 30):
        missing(db, T0 + hours * H)
    with db.session() as s:
        out = versions.record_not_modified(s, first_url(), now=T0 + 40 * H, next_check_at=NEXT)
    assert (out.kind, out.version) == ("restored", 3)
    with db.session() as s:
        v3 = s.execute(sa.select(VersionRow).where(VersionRow.number == 3)).scalar_one()
    assert v3.body_text == BODY


def test_unknown_article_cannot_go_missing(db: Database) -> None:
    """record_missing and record_not_modified on an unknown URL raise ArticleNotFound."""
    with pytest.raises(ArticleNotFound, match="nowhere"):
        missing(db, T0, url="https://mfa.example/nowhere")
    with pytest.raises(ArticleNotFound), db.session() as s:
        versions.record_not_modified(s, "https://mfa.example/nowhere", now=T0, next_check_at=NEXT)


def test_naive_times_are_refused(db: Database) -> None:
    """A naive `now` is refused with a message naming the argument."""
    with pytest.raises(ValueError, match="now must be a tz-aware"), db.session() as s:
        versions.record_fetch(
            s, make_article(), make_raw(), now=T0.replace(tzinfo=None), next_check_at=NEXT
        )


def test_unchanged_recheck_of_many_articles_adds_no_rows(db: Database) -> None:
    """Rechecking N unchanged articles changes no row count in any table."""
    n = 60
    arts = [
        make_article(f"https://mfa.example/news/{i}.html", title=f"Release {i}") for i in range(n)
    ]
    with db.session() as s:
        for a in arts:
            versions.record_fetch(s, a, make_raw(a.url, a.title.encode()), now=T0, next_check_at=T0)
    before = row_counts(db)
    with db.session() as s:
        kinds = {
            versions.record_fetch(
                s, a, make_raw(a.url, a.title.encode(), at=T0 + H), now=T0 + H, next_check_at=NEXT
            ).kind
            for a in arts
        }
    assert kinds == {"unchanged"}
    assert row_counts(db) == before
    assert before["articles"] == n and before["versions"] == n


def test_failed_transaction_leaves_nothing(db: Database) -> None:
    """A fetch whose transaction raises before commit writes no article, version, blob or response."""
    before = row_counts(db)
    with pytest.raises(RuntimeError), db.session() as s:
        versions.record_fetch(s, make_article(), make_raw(), now=T0, next_check_at=NEXT)
        raise RuntimeError("killed between fetch and commit")
    assert row_counts(db) == before
    fetch(db)
    with pytest.raises(RuntimeError), db.session() as s:
        versions.record_fetch(
            s, EDITS["word"], make_raw(body=b"new"), now=T0 + H, next_check_at=NEXT
        )
        raise RuntimeError("killed again")
    after_new = row_counts(db)
    assert fetch(db, EDITS["word"], at=T0 + 2 * H).kind == "changed"  # the next run redoes it
    assert row_counts(db)["versions"] == after_new["versions"] + 1


def test_aliases_find_the_same_article(db: Database) -> None:
    """A fetch recorded with aliases is found again under an alias URL; no second article."""
    first = fetch(db, aliases=["https://mfa.example/news/1.html?utm_source=x"])
    via_alias = replace(make_article(), url="https://mfa.example/news/1.html?utm_source=x")
    out = fetch(db, via_alias, at=T0 + H)
    assert (out.kind, out.article_id) == ("unchanged", first.article_id)
    assert row_counts(db)["articles"] == 1


def test_set_next_check(db: Database) -> None:
    """set_next_check moves the planned recheck time."""
    first = fetch(db)
    with db.session() as s:
        versions.set_next_check(s, first.article_id, NEXT + H)
    with db.session() as s:
        row = s.get(ArticleRow, first.article_id)
        assert row is not None and row.next_check_at == NEXT + H


def first_url() -> str:
    """The URL of the default test article."""
    return make_article().url
