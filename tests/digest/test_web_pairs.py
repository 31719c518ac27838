"""The review UI's pair pages in-process: the list, the side-by-side page with what each readout
mentions alone highlighted, and confirm/reject buttons guarded like every other button."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser

from digest.web import create_app
from mfawatch.settings.officials import load_officials
from storage.engine import Database, open_db
from storage.model import Article, ArticleDate, DatePrecision, DateSource, RawResponse
from storage.readouts.store import PairStatus, list_pairs
from storage.readouts.update import pair_new
from storage.sources import SourceInfo, sync_sources
from storage.versions import record_fetch

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:8080"
NOW = datetime.now(UTC)
OFFICIALS = load_officials(ROOT / "config" / "officials.yaml")
CN_BODY = (
    "On November 13, 2021, State Councilor and Foreign Minister Wang Yi spoke on the phone with "
    "US Secretary of State Antony J. Blinken.\n\n"
    "Wang Yi said that President Xi Jinping will hold a virtual meeting with President Biden on "
    "November 16. On the Taiwan question, Wang Yi elaborated China's position.\n\n"
    "The two sides exchanged views on energy security and climate change. <script>x</script>"
)
US_BODY = (
    "Secretary of State Antony J. Blinken spoke today with PRC State Councilor and Foreign "
    "Minister Wang Yi.\n\nThe Secretary raised concerns over pressure against Taiwan."
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """China's and the State Department's readouts of the 13 November 2021 call, paired."""
    database = open_db(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    with database.session() as s:
        sync_sources(
            s,
            [
                SourceInfo("cn-mfa-en", "China", "CN", "en", "Asia/Shanghai"),
                SourceInfo("us-state-press", "State", "US", "en", "America/New_York"),
            ],
        )
    call = datetime(2021, 11, 13, 1, 45, tzinfo=UTC)
    for source, title, body in (
        ("cn-mfa-en", "Wang Yi Speaks on the Phone with US Secretary of State Blinken", CN_BODY),
        ("us-state-press", "Secretary Blinken’s Call with PRC Foreign Minister Wang Yi", US_BODY),
    ):
        url = f"https://{source}.example/call"
        stamp = ArticleDate(call.date(), DatePrecision.MINUTE, DateSource.PAGE, call)
        with database.session() as s:
            record_fetch(
                s,
                Article(source, url, title, body, date=stamp),
                RawResponse(url, url, 200, (), b"<html></html>", NOW),
                now=NOW,
                next_check_at=NOW + timedelta(days=1),
            )
    pair_new(database, OFFICIALS, NOW)
    yield database
    database.dispose()


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the UI with the officials table."""
    app = create_app(db, officials=OFFICIALS)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


def _pair_id(db: Database) -> int:
    with db.session(readonly=True) as s:
        [pair] = list_pairs(s, statuses=tuple(PairStatus))
    return pair.id


async def test_side_by_side_marks_what_only_one_side_mentions(
    client: httpx.AsyncClient, db: Database
) -> None:
    """China's side marks Xi, Biden, the 16th, climate and energy (the State Department's readout
    has none of them); Taiwan, said by both, is marked on neither side; no script gets through."""
    r = await client.get(f"/pair/{_pair_id(db)}")
    assert r.status_code == 200
    tree = LexborHTMLParser(r.text)
    left, right = tree.css("div.pairgrid section")
    marked_left = {n.text() for n in left.css("mark.only")}
    assert {"16", "climate", "energy"} <= marked_left
    assert any("Xi" in m for m in marked_left) and any("Biden" in m for m in marked_left)
    assert "Taiwan" not in marked_left and not right.css("mark.only")
    assert "Only here:" in left.text() and "Joe Biden" in left.text()
    assert tree.css("script") == [] and "<script>x</script>" in left.text()
    article = await client.get(
        f"/article/{left.css_first('a').attributes['href'].rsplit('/', 1)[-1]}"
    )
    assert f"/pair/{_pair_id(db)}" in article.text and "readout of us-state-press" in article.text


async def test_list_and_decisions_need_the_form_token(
    client: httpx.AsyncClient, db: Database
) -> None:
    """The list shows the pair; a reject without the form token is refused; with it, the pair
    leaves the list and stays visible with ?rejected=1."""
    pair_id = _pair_id(db)
    listed = await client.get("/pairs")
    assert f"/pair/{pair_id}" in listed.text
    refused = await client.post(f"/pair/{pair_id}/reject", data={})
    assert refused.status_code == 403
    csrf = LexborHTMLParser(listed.text).css_first("input[name=csrf]")
    page = await client.get(f"/pair/{pair_id}")
    token = LexborHTMLParser(page.text).css_first("input[name=csrf]")
    assert csrf is None and token is not None
    done = await client.post(f"/pair/{pair_id}/reject", data={"csrf": token.attributes["value"]})
    assert done.status_code == 303
    assert f"/pair/{pair_id}" not in (await client.get("/pairs")).text
    assert f"/pair/{pair_id}" in (await client.get("/pairs?rejected=1")).text
    assert (await client.get("/pair/abc")).status_code == 400
    assert (await client.get("/pair/99999")).status_code == 404
