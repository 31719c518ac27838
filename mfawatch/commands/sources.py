"""`mfawatch sources check`: validate the config and preview what a source's selectors extract.

The fetcher and the parsers are imported only for a preview: checking the config needs neither.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crawler.config import Source
from crawler.model import Page
from mfawatch.app import App
from mfawatch.commands.sources_add import add
from mfawatch.effective import effective_lines
from mfawatch.exits import EXIT_FAILED, handle_errors
from mfawatch.previews import show_article, show_items
from mfawatch.terminal import echo
from storage.model import RawResponse

if TYPE_CHECKING:
    from crawler.preview import Preview


@click.group()
def sources() -> None:
    """Inspect the configured sources."""


sources.add_command(add)


def _page_from_file(path: Path, url: str) -> Page:
    from crawler.parse.charset import decode

    body = path.read_bytes()
    text, charset, rule = decode(body, None)
    raw = RawResponse(
        url=url, final_url=url, status=200, headers=(), body=body, fetched_at=datetime.now(UTC)
    )
    return Page(raw=raw, text=text, charset=charset, charset_rule=rule)


def _show_effective(source: Source) -> None:
    for line in effective_lines(source):
        echo(line)


async def _live(
    app: App, source: Source, url: str | None, path: list[str]
) -> tuple[Preview, Preview | None]:
    """The previews of a live listing (or `url`) and its first article; `path` gets what the
    fetches needed of the browser (for the verdict)."""
    from crawler.preview import preview_article, preview_listing
    from mfawatch.bootstrap import open_fetcher

    listing = source.listings[0]
    async with open_fetcher(app.settings.http) as fetcher:
        try:
            page = await fetcher.fetch(url or str(listing.url), source)
            items = preview_listing(page, source, listing)
            if url is not None and not items.items:
                return items, preview_article(page, source)
            if not items.items:
                return items, None
            first = items.items[0]
            if source.type == "feed" and source.article is None:
                return items, None
            article_page = await fetcher.fetch(first.url, source)
            return items, preview_article(article_page, source, first)
        finally:
            use = fetcher.take_browser_use(source.key)
            if use.pages:
                path.append(f"{use.pages} page(s) loaded in the browser")
            for host, n in use.solves.items():
                path.append(f"the browser solved {n} challenge(s) of {host}")


def _verdict(source: Source, ok: bool, why: str, path: list[str]) -> None:
    """One line saying whether the source works from this machine, and how it got through."""
    how = f"fetch: {source.fetch}" + (f", proxy {source.proxy}" if source.proxy else "")
    if ok:
        extra = "; ".join(path) or "no browser needed"
        echo(f"verdict: {source.key} works from here ({how}; {extra})")
    else:
        echo(f"verdict: {source.key} does NOT work from here ({how}): {why}")


@sources.command()
@click.argument("key", required=False)
@click.option("--url", help="Preview this live page instead of the source's first listing.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Preview a saved page.",
)
@click.pass_obj
@handle_errors
def check(app: App, key: str | None, url: str | None, html_file: Path | None) -> None:
    """Validate the config; for KEY, show what its selectors extract from a page, with warnings."""
    settings = app.settings
    source = settings.source(key) if key is not None else None  # an unknown KEY: exit 2 first
    enabled = sum(1 for s in settings.sources if s.enabled)
    echo(f"config {app.config_path}: OK, {len(settings.sources)} source(s), {enabled} enabled")
    officials = app.officials(settings)  # an invalid officials file: exit 2, every problem named
    if officials is None:
        echo("officials: no officials.yaml beside the config: readout pairs are not computed")
    else:
        echo(f"officials: OK, {len(officials)} office-holder(s)")
    if source is None:
        if url or html_file:
            raise click.UsageError("--url and --html need a source KEY")
        for source in settings.sources:
            _show_effective(source)
        return
    _show_effective(source)
    if html_file is not None:
        from crawler.preview import preview_article, preview_listing

        page = _page_from_file(html_file, url or str(source.listings[0].url))
        items = preview_listing(page, source, source.listings[0])
        article: Preview | None = preview_article(page, source)
        if items.items and article is not None and article.warnings:
            article = None  # a listing page: it is not expected to parse as an article
        elif not items.items and article is not None and article.article is not None:
            items.warnings = []  # an article page: it is not expected to list items
    else:
        from crawler.errors import FetchError

        path: list[str] = []
        try:
            items, article = asyncio.run(_live(app, source, url, path))
        except FetchError as exc:
            _verdict(source, False, str(exc), path)
            raise
    show_items(items)
    if article is not None:
        echo("  first article:" if html_file is None else "  as an article:")
        show_article(article)
    # The listing and the article preview may see the same problem (a soft 404, a selector):
    # each warning is said once.
    warnings = list(dict.fromkeys(items.warnings + (article.warnings if article else [])))
    for w in warnings:
        echo(f"  warning: {w}")
    failed = article.article is None if article is not None else not items.items
    if html_file is None:
        _verdict(source, not failed, warnings[0] if warnings else "no items found", path)
    if article is not None and article.article is None:
        raise SystemExit(EXIT_FAILED)
