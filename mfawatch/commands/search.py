"""`mfawatch search`: every version of every article, including text a ministry deleted.

The query language is `storage.search.query`'s. Before the first search after migration 0006
the versions stored earlier are indexed (a progress bar on stderr; resumable: an interrupted
run goes on where it stopped); `--rebuild` empties the index and indexes everything again.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from digest.search_hits import hit_date, hit_record, marked, snippet_markdown, versions_label
from digest.window import SinceError, parse_since, parse_until
from mfawatch.app import App
from mfawatch.exits import EXIT_USAGE, handle_errors
from mfawatch.filters import check_filters, known_sources
from mfawatch.terminal import echo, echo_json, no_color, one_line
from storage.search import index
from storage.search.passages import Passage, passages
from storage.search.query import QueryError, parse
from storage.search.results import Order, Scope, SearchRequest, SearchResult, search

MAX_LIMIT = 1_000


def _progress_backfill(app: App, *, rebuild: bool) -> index.BackfillState:
    """Run a pending backfill (after `--rebuild`: a full one) with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    db = app.db
    if rebuild:
        with db.session() as s:
            index.clear(s)
            index.start_backfill(s)
    with db.session(readonly=True) as s:
        state = index.backfill_state(s)
    if not state.pending:
        return state

    def transaction(fn: Any) -> index.BackfillState:
        with db.session() as s:
            result: index.BackfillState = fn(s)
            return result

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), transient=True, console=_stderr()) as bar:
        task = bar.add_task("indexing versions for search", total=state.until, completed=state.done)
        state = index.run_backfill(transaction, lambda st: bar.update(task, completed=st.done))
    return state


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True, no_color=no_color())


def _bold(text: str) -> str:
    return click.style(text, bold=True)


def _text(result: SearchResult, found: dict[int, Passage], offset: int) -> None:
    # Marks are bold; click drops the style when stdout is not a terminal (or under NO_COLOR).
    color = False if no_color() else None
    for n, hit in enumerate(result.hits, start=offset + 1):
        passage = found.get(hit.article_id)
        snippet = passage.snippet if passage else None
        click.echo(
            f"{n}. [{one_line(hit.source)}] {hit_date(hit)}  {one_line(hit.title)}  "
            f"#{hit.article_id} {versions_label(hit)}"
        )
        # Page text is cleaned by `marked`; the only escape sequences are our own bold marks.
        line = marked(snippet, _bold, lambda t: t)
        if line:
            click.echo(f"   {line}", color=color)
        click.echo(f"   {one_line(hit.url)}")
    shown = f"{offset + 1}-{offset + len(result.hits)} of " if result.hits else ""
    echo(f"{shown}{_about(result)}{result.total} article(s)", err=False)


def _about(result: SearchResult) -> str:
    """ "about " before an estimated total (a frequent phrase on PostgreSQL)."""
    return "" if result.exact else "about "


def _markdown(result: SearchResult, found: dict[int, Passage], query: str) -> None:
    from digest._text import md_escape, safe_url

    echo(f"# Search: {md_escape(query)}\n\n{_about(result)}{result.total} article(s)\n")
    for hit in result.hits:
        passage = found.get(hit.article_id)
        url = safe_url(hit.url)
        title = md_escape(one_line(hit.title)) or "(no title)"
        link = f"[{title}](<{url}>)" if url else title
        echo(
            f"- **{md_escape(hit.source)}** {hit_date(hit)} {link} — #{hit.article_id} {versions_label(hit)}"
        )
        snippet = snippet_markdown(passage.snippet if passage else None)
        if snippet:
            echo(f"  > {snippet}")


@click.command()
@click.argument("query", required=False)
@click.option(
    "--in",
    "scope",
    type=click.Choice([s.value for s in Scope]),
    default=Scope.CURRENT.value,
    show_default=True,
    help="current text, every version, or text that was removed.",
)
@click.option(
    "--source", "sources", multiple=True, metavar="KEY", help="Only this source (repeatable)."
)
@click.option(
    "--country",
    "countries",
    multiple=True,
    metavar="CC",
    help="Only sources of this country (repeatable).",
)
@click.option(
    "--since",
    metavar="24h|2d|ISO",
    help="Articles dated from then (publication date, else first seen).",
)
@click.option(
    "--until", metavar="24h|2d|ISO", help="Articles dated before then, in --since's syntax."
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["new", "changed", "removed"]),
    help="Matching versions that are first versions, edits, or articles removed (repeatable).",
)
@click.option(
    "--sort",
    type=click.Choice([o.value for o in Order]),
    default=Order.RELEVANCE.value,
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=20, show_default=True)
@click.option(
    "--offset",
    type=click.IntRange(0, 10**9),
    default=0,
    help="Skip this many hits (the next page).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text", show_default=True
)
@click.option(
    "--rebuild", is_flag=True, help="Rebuild the search index from every stored version first."
)
@click.pass_obj
@handle_errors
def search_command(app: App, query: str | None, **options: Any) -> None:
    """Search every version of every article: words, "phrases", OR, NOT/-, prefix*.

    Chinese, Japanese and Korean need no spaces (台湾 finds every text containing 台湾; a single
    character finds every text containing it). Case and accents do not matter.
    """
    if query is None and not options["rebuild"]:
        raise click.UsageError("give a QUERY (or --rebuild)")
    try:
        tree = parse(query) if query is not None else None
        since = parse_since(options["since"]) if options["since"] else None
        until = parse_until(options["until"]) if options["until"] else None
    except QueryError as exc:
        echo(f"mfawatch: bad query: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except SinceError as exc:
        raise click.BadParameter(str(exc)) from None
    sources = tuple(options["sources"])
    countries = tuple(c.upper() for c in options["countries"])
    if sources or countries:
        settings = app.optional_settings(without="without it")
        with app.db.session(readonly=True) as s:
            check_filters(known_sources(settings, s), sources=sources, countries=countries)
    state = _progress_backfill(app, rebuild=options["rebuild"])
    if options["rebuild"]:
        echo(f"search index rebuilt: versions up to id {state.until} indexed", err=True)
    if tree is None:
        return
    request = SearchRequest(
        tree,
        scope=Scope(options["scope"]),
        sources=sources,
        countries=countries,
        since=since,
        until=until,
        kinds=tuple(options["kinds"]),
        order=Order(options["sort"]),
        limit=options["limit"],
        offset=options["offset"],
    )
    with app.db.session(readonly=True) as s:
        result = search(s, request)
        found = passages(s, result.hits, request.scope, tree)
    fmt = options["fmt"]
    if fmt == "json":
        echo_json(
            {
                "query": query,
                "in": request.scope.value,
                "total": result.total,
                "total_is_estimate": not result.exact,
                "offset": request.offset,
                "hits": [hit_record(h, found.get(h.article_id)) for h in result.hits],
            }
        )
    elif fmt == "md":
        _markdown(result, found, query or "")
    else:
        _text(result, found, request.offset)
