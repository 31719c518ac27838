"""The review UI's pair pages: the list of readout pairs and language twins, each pair side by
side with what each readout mentions that the other does not highlighted, and the confirm /
reject buttons (POST, with the same CSRF and same-site checks as every other button).

`create_app` in `digest.web` mounts these routes; this module owns only the pair pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from digest.pairs import side_by_side
from storage.engine import Database
from storage.readouts import store
from storage.readouts.officials import Officials
from storage.readouts.store import PairStatus

LIST_WINDOW = timedelta(days=30)  # the pair list's window
MAX_ID = 2**31 - 1

Page = Callable[..., HTMLResponse]
Message = Callable[[Request, int, str, str], HTMLResponse]
CheckedForm = Callable[[Request], Awaitable[tuple[Any, Response | None]]]


def pair_routes(
    db: Database,
    officials: Officials | None,
    *,
    page: Page,
    message: Message,
    checked_form: CheckedForm,
    base_of: Callable[[Request], str],
) -> list[Route]:
    """The routes of the pair pages, rendered with the UI's own page and message helpers."""

    def pairs_page(request: Request) -> Response:
        show_rejected = request.query_params.get("rejected") == "1"
        statuses = tuple(PairStatus) if show_rejected else (PairStatus.FOUND, PairStatus.CONFIRMED)
        since = datetime.now(UTC) - LIST_WINDOW
        with db.session(readonly=True) as session:
            found = store.list_pairs(session, since=since, statuses=statuses)
        return page(
            "web_pairs.html",
            base=base_of(request),
            pairs=found,
            since=since,
            rejected=show_rejected,
            csrf=request.state.csrf,
        )

    def pair_page(request: Request) -> Response:
        pair_id = _pair_id(request)
        if pair_id is None:
            return message(request, 400, "Bad pair id", "a pair id is a number")
        with db.session(readonly=True) as session:
            found = store.list_pairs(session, statuses=tuple(PairStatus), pair_id=pair_id)
            if not found:
                return message(request, 404, "No such pair", f"no pair has id {pair_id}")
            pair = found[0]
            texts = store.bodies(session, [pair.a.article_id, pair.b.article_id])
        left, right = side_by_side(pair, texts, officials)
        return page(
            "web_pair.html",
            base=base_of(request),
            pair=pair,
            left=left,
            right=right,
            csrf=request.state.csrf,
        )

    async def decide(request: Request) -> Response:
        _, refused = await checked_form(request)
        if refused is not None:
            return refused
        pair_id = _pair_id(request)
        decision = str(request.path_params["decision"])
        if pair_id is None or decision not in ("confirm", "reject"):
            return message(request, 404, "No such action", "confirm or reject a pair by its id")
        status = PairStatus.CONFIRMED if decision == "confirm" else PairStatus.REJECTED

        def write() -> None:
            with db.session() as session:
                store.decide(session, pair_id, status, datetime.now(UTC))

        try:
            await run_in_threadpool(write)
        except store.UnknownPair:
            return message(request, 404, "No such pair", f"no pair has id {pair_id}")
        return RedirectResponse(f"{base_of(request)}/pair/{pair_id}", status_code=303)

    return [
        Route("/pairs", pairs_page, methods=["GET"], name="pairs"),
        Route("/pair/{pair_id}", pair_page, methods=["GET"], name="pair"),
        Route("/pair/{pair_id}/{decision}", decide, methods=["POST"], name="pair_decide"),
    ]


def _pair_id(request: Request) -> int | None:
    raw = str(request.path_params["pair_id"]).strip()
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_ID or int(raw) < 1:
        return None
    return int(raw)
