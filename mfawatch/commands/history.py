"""`mfawatch history` and `mfawatch diff`: every version of an article, and what changed between two."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import click
from rich.console import Console
from rich.text import Text
from sqlalchemy.orm import Session

from crawler.urls import canonical_url
from digest._text import edit_note
from mfawatch.app import App
from mfawatch.exits import handle_errors
from mfawatch.terminal import clean, echo, echo_json, no_color, one_line
from storage import queries
from storage.articles import find_article_id
from storage.readouts.store import PairStatus, PairView, Relation, list_pairs


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S %Z") if dt else "-"


# Article ids are 64-bit integers in both databases; a larger number is no id (and would overflow).
MAX_ARTICLE_ID = 2**63 - 1
# Version numbers are 32-bit integers in the database: a larger one is a usage error, not a crash.
VERSION_NUMBER = click.IntRange(1, 2**31 - 1)


def article_key(
    session: Session, article: str, hosts: Callable[[], Mapping[str, str]] | None = None
) -> str | int:
    """What `article` (an id, URL or alias as the user pasted it) names in the database.

    An id must fit the database's 64-bit ids (else a usage error, exit 2). A URL that is not
    stored as written is looked up by its canonical form, as the crawler stores it: a
    `#fragment`, tracking parameters (`utm_source`...) and letter case in scheme and host do not
    matter, nor which of a source's equivalent `hosts:` it names (`hosts()` gives them, read
    from the config only when needed).
    """
    key = article.strip()
    if key.isascii() and key.isdigit():
        if int(key) > MAX_ARTICLE_ID:
            raise click.BadParameter(
                f"{key} is too large to be an article id (ids go up to {MAX_ARTICLE_ID})",
                param_hint="ARTICLE",
            )
        return int(key)
    if find_article_id(session, key) is not None or not key.lower().startswith(("http:", "https:")):
        return key
    try:
        canonical = canonical_url(key)
        if hosts is None or find_article_id(session, canonical) is not None:
            return canonical
        return canonical_url(key, hosts())
    except ValueError:  # a bad port, a broken IPv6 literal: not found below, as pasted
        return key


def config_hosts(app: App) -> Callable[[], Mapping[str, str]]:
    """The equivalent hosts of every configured source (none when the config cannot be read)."""

    def read() -> Mapping[str, str]:
        from crawler.errors import ConfigError

        try:
            sources = app.settings.sources
        except ConfigError:
            return {}
        return {k: v for source in sources for k, v in source.host_map.items()}

    return read


def _current(h: queries.ArticleHistory) -> str:
    """`current version N`, and after a return, which version it returned from and when."""
    r = h.returned
    if r is None:
        return f"current version {h.content_version}"
    return (
        f"current version {h.content_version}: returned to v{r.to_number} from v{r.from_number} "
        f"{_when(r.last_at)} (latest version v{h.article.version})"
    )


def _print_pairs(console: Console, article_id: int, pairs: list[PairView]) -> None:
    """The article's language twins and readout pairs, one line each."""
    for p in pairs:
        other = p.b if p.a.article_id == article_id else p.a
        what = (
            f"{other.language or '?'} twin"
            if p.relation is Relation.TWIN
            else f"{p.evidence.get('kind') or 'readout'} readout pair"
        )
        status = "" if p.status is PairStatus.FOUND else f" [{p.status.value}]"
        console.print(
            Text(
                f"{what} (pair {p.id}{status}): #{other.article_id} {other.source} "
                f"{clean(one_line(other.title))}",
                style="cyan",
            )
        )


def _print_history(console: Console, h: queries.ArticleHistory) -> None:
    art = h.article
    console.print(Text(f"#{art.id} {clean(art.title)}", style="bold"))
    console.print(
        Text(f"{clean(art.url)}\nsource {art.source} · status {art.status} · {_current(h)}")
    )
    console.print(
        Text(f"first seen {_when(art.first_seen_at)} · last checked {_when(art.last_checked_at)}")
    )
    console.print()
    for v in h.versions:
        line = Text(f"v{v.number:<3} ", style="bold")
        line.append(
            f"{v.kind:<9}",
            style={"new": "green", "changed": "yellow", "removed": "red"}.get(v.kind, "cyan"),
        )
        line.append(f" {_when(v.seen_at)}  ")
        line.append(f"content {v.content_hash[:12] if v.content_hash else '-':<12}  ")
        line.append(f"raw {v.raw_sha256[:12] if v.raw_sha256 else '-'}")
        if v.edit_kind == "silent":
            line.append("  [silent edit]", style="bold magenta")
        console.print(line)
        if v.diff_summary:
            console.print(Text(f"      {clean(v.diff_summary)}", style="dim"))
        if v.edit_kind:
            console.print(
                Text(f"      {clean(edit_note(v.edit_kind, v.edit_evidence))}", style="dim")
            )
        if v.evidence:
            console.print(
                Text(
                    f"      evidence: {clean(json.dumps(v.evidence, ensure_ascii=False, default=str))}",
                    style="dim",
                )
            )
    for r in h.reverts:
        console.print(
            Text(
                f"returned from v{r.from_number} to v{r.to_number} content {r.count} time(s), "
                f"{_when(r.first_at)} .. {_when(r.last_at)}",
                style="magenta",
            )
        )
    for m in h.moves:
        how = "same text" if m.by == "fingerprint" else f"near-duplicate, {m.similarity:.2f}"
        console.print(
            Text(
                f"moved {_when(m.at)} from {clean(m.from_url)} to {clean(m.to_url)} ({how})",
                style="blue",
            )
        )
    if h.sightings:
        console.print()
        for s in h.sightings:
            console.print(
                Text(
                    f"listed on {clean(s.listing_url)} as {clean(s.listing_title)!r}: {_when(s.first_seen_at)} .. {_when(s.last_seen_at)} ({s.times_seen}x)"
                )
            )


@click.command()
@click.argument("article")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
@handle_errors
def history(app: App, article: str, fmt: str) -> None:
    """Every version of ARTICLE (a URL, alias or id): time seen, kind, hashes, what changed."""
    with app.db.session(readonly=True) as session:
        h = queries.history(session, article_key(session, article, config_hosts(app)))
        pairs = list_pairs(session, article_id=h.article.id)
    if fmt == "json":
        data = _jsonable(h)
        data["pairs"] = [p.to_json() for p in pairs]
        echo_json(data)
        return
    console = Console(highlight=False, soft_wrap=True)
    _print_history(console, h)
    if pairs:
        console.print()
        _print_pairs(console, h.article.id, pairs)


@click.command()
@click.argument("article")
@click.option(
    "--from",
    "from_v",
    type=VERSION_NUMBER,
    help="Older version (default: the one before --to; after a return, the version it left).",
)
@click.option(
    "--to",
    "to_v",
    type=VERSION_NUMBER,
    help="Newer version (default: the current one, also after a return).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
@handle_errors
def diff(app: App, article: str, from_v: int | None, to_v: int | None, fmt: str) -> None:
    """A word-level diff between two versions of ARTICLE, coloured on a terminal.

    By default the current version against the one before it; after a return to an earlier
    version, the version it left against the one it returned to (the return itself).
    """
    from digest.highlight import to_terminal

    with app.db.session(readonly=True) as session:
        h = queries.history(session, article_key(session, article, config_hosts(app)))
        content = [v.number for v in h.versions if v.kind != "removed"]
        if from_v is None and to_v is None and h.returned is not None:
            from_v, to_v = h.returned.from_number, h.returned.to_number
        to_v = to_v if to_v is not None else h.content_version
        if from_v is None:
            earlier = [n for n in content if n < to_v]
            if not earlier:
                echo(
                    f"article #{h.article.id} has only one version with content; nothing to compare"
                )
                return
            from_v = earlier[-1]
        pair = queries.version_pair(session, h.article.id, from_v, to_v)
    if fmt == "json":
        echo_json(_jsonable(pair.diff))
        return
    console = Console(highlight=False, soft_wrap=True, force_terminal=None)
    returned = h.returned is not None and (from_v, to_v) == (
        h.returned.from_number,
        h.returned.to_number,
    )
    note = f" (returned to v{to_v})" if returned else ""
    console.print(
        Text(f"#{h.article.id} {clean(h.article.title)}: v{from_v} -> v{to_v}{note}", style="bold")
    )
    console.print(to_terminal(pair.diff, markers=True if no_color() else None))
    sys.stdout.flush()
