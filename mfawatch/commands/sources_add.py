"""`mfawatch sources add URL`: propose a source for a page, preview it, append it to the YAML.

The page is fetched through the project's own fetcher (its size, redirect and address rules,
with the config's `defaults:`), told apart as a feed or an HTML listing, and a source is proposed:
`type: feed`, or `list:` selectors guessed from the page's repeated links with no `article:`
selectors (generic extraction). What that source extracts is shown as `sources check` shows it;
after a confirmation (`--yes` skips it) the source is appended to the config file through a
ruamel.yaml round trip, which keeps the file's comments and layout. The new file is validated
with the config loader before it replaces the old one.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mfawatch.app import App
from mfawatch.exits import EXIT_FAILED, EXIT_USAGE, handle_errors
from mfawatch.terminal import echo

if TYPE_CHECKING:
    from crawler.model import Page
    from crawler.preview import Preview

PROBE_KEY = "sources-add-probe"
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _echo(text: str) -> None:
    from digest._text import clean

    echo(clean(text))


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments, key order, quotes and flow style survive
    yaml.preserve_quotes = True
    yaml.width = 100_000  # never re-wrap a long line
    yaml.brace_single_entry_mapping_in_flow_sequence = True  # `[{url: x}]` stays as written
    return yaml


def _load(text: str) -> tuple[Any, Any]:
    """The document (round-trip) and a YAML dumper set to the file's own indentation."""
    from ruamel.yaml.util import load_yaml_guess_indent

    yaml = _yaml()
    data = yaml.load(text) if text.strip() else None
    if data is None:
        from ruamel.yaml.comments import CommentedMap

        data = CommentedMap()
    if not hasattr(data, "get"):
        raise click.UsageError("the config file is not a YAML mapping")
    if text.strip():
        _, indent, block_seq = load_yaml_guess_indent(text)
        yaml.indent(mapping=2, sequence=indent or 4, offset=2 if block_seq is None else block_seq)
    else:
        yaml.indent(mapping=2, sequence=4, offset=2)
    return data, yaml


def _dump(yaml: Any, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _flow(mapping: dict[str, Any]) -> Any:
    from ruamel.yaml.comments import CommentedMap

    node = CommentedMap(mapping)
    node.fa.set_flow_style()
    return node


def _probe_settings(data: Any, yaml: Any, url: str) -> Any:
    """Settings with only a probe source for `url`, under the file's `defaults:` and `http:`."""
    from mfawatch.settings.loader import parse_config

    probe: dict[str, Any] = {
        key: data[key] for key in ("defaults", "http") if key in data and data[key] is not None
    }
    probe["sources"] = [
        {
            "key": PROBE_KEY,
            "name": "probe",
            "country": "ZZ",
            "type": "feed",
            "listings": [{"url": url}],
        }
    ]
    return parse_config(_dump(yaml, probe), file="(probe)")


async def _fetch(settings: Any, url: str) -> Page:
    from mfawatch.bootstrap import open_fetcher

    async with open_fetcher(settings.http) as fetcher:
        return await fetcher.fetch(url, settings.source(PROBE_KEY))


async def _preview(settings: Any, key: str, page: Page) -> tuple[Preview, Preview | None]:
    from crawler.preview import preview_article, preview_listing
    from mfawatch.bootstrap import open_fetcher

    source = settings.source(key)
    items = preview_listing(page, source, source.listings[0])
    if not items.items or (source.type == "feed" and source.article is None):
        return items, None
    first = items.items[0]
    async with open_fetcher(settings.http) as fetcher:
        article_page = await fetcher.fetch(first.url, source)
    return items, preview_article(article_page, source, first)


def _propose(
    page: Page, url: str, *, key: str, name: str | None, country: str, language: str | None
) -> dict[str, Any]:
    from mfawatch.guess import guess_list, is_feed, page_language, page_title

    content_type = dict((k.lower(), v) for k, v in page.raw.headers).get("content-type", "")
    source: dict[str, Any] = {"key": key}
    if is_feed(content_type, page.raw.body):
        import feedparser

        title = str(feedparser.parse(page.raw.body).feed.get("title") or "")
        source |= {"name": name or title or key, "country": country}
        if language:
            source["language"] = language
        source |= {"type": "feed", "listings": [{"url": url}]}
        return source
    guess = guess_list(page.text)
    if guess is None:
        from mfawatch.guess import feed_links

        hint = feed_links(page.text, page.url)
        raise click.ClickException(
            "found no repeated list of links on this page; write its `list:` selectors by hand"
            + (f" (the page advertises a feed: {hint[0]})" if hint else "")
        )
    lang = language or page_language(page.text)
    source |= {"name": name or page_title(page.text) or key, "country": country}
    if lang:
        source["language"] = lang
    source |= {
        "listings": [{"url": url}],
        "list": _flow({"item": guess.item, "link": guess.link}),
    }
    return source


@click.command("add")
@click.argument("url")
@click.option("--key", help="The new source's key [default: from the host name, made unique].")
@click.option("--name", help="Its name [default: the page's or feed's title].")
@click.option("--country", metavar="CC", help="ISO country code [default: from the host's TLD].")
@click.option(
    "--language",
    metavar="LANG",
    help="Language code [default: the page's <html lang> or meta, else its script (Han: zh, kana: ja, Cyrillic: ru...)].",
)
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Append without asking.")
@click.pass_obj
@handle_errors
def add(
    app: App,
    url: str,
    key: str | None,
    name: str | None,
    country: str | None,
    language: str | None,
    assume_yes: bool,
) -> None:
    """Fetch URL, propose a source (feed or listing), show what it extracts, append it to the config."""
    from crawler.errors import ConfigError
    from digest._text import one_line
    from mfawatch.guess import country_of, key_for
    from mfawatch.previews import show_article, show_items
    from mfawatch.settings.loader import parse_config

    if not url.lower().startswith(("http://", "https://")):
        raise click.UsageError("URL must be an http(s) URL")
    path = app.config_path
    original = path.read_text(encoding="utf-8-sig") if path.exists() else ""
    if original.strip():
        app.settings  # noqa: B018  (the file must be valid before anything is added to it)
    data, yaml = _load(original)
    sources = data.get("sources")
    taken = {str(s.get("key")) for s in sources or [] if hasattr(s, "get")}
    if key is not None and key in taken:
        echo(f"mfawatch: {path} already has a source {key!r}; choose another --key", err=True)
        sys.exit(EXIT_USAGE)
    key = key or key_for(url, taken)
    country = (country or country_of(url) or "").upper()
    if not _COUNTRY.match(country):
        echo(f"mfawatch: cannot tell the country of {one_line(url)}; pass --country CC", err=True)
        sys.exit(EXIT_USAGE)
    page = asyncio.run(_fetch(_probe_settings(data, yaml, url), url))
    source = _propose(page, url, key=key, name=name, country=country, language=language)

    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    entry = CommentedMap(source)
    if sources is None:
        sources = data["sources"] = CommentedSeq()
    trailing = _take_trailing_comment(sources)
    sources.append(entry)
    if trailing is not None:
        _put_trailing_comment(sources, trailing)
    today = datetime.now(UTC).date().isoformat()
    sources.yaml_set_comment_before_after_key(
        len(sources) - 1, before=f"added by `mfawatch sources add` on {today}", indent=2
    )
    new_text = _dump(yaml, data)
    try:
        settings = parse_config(new_text, file=str(path))
    except ConfigError as exc:
        raise click.ClickException(f"the proposed source is not valid: {exc}") from None

    _echo(f"proposed source ({'feed' if source.get('type') == 'feed' else 'HTML listing'}):")
    _echo(_dump(yaml, {"sources": [entry]}).split("\n", 1)[1].rstrip())
    items, article = asyncio.run(_preview(settings, key, page))
    show_items(items)
    if article is not None:
        echo("  first article:")
        show_article(article)
    for warning in items.warnings + (article.warnings if article else []):
        _echo(f"  warning: {warning}")
    if not items.items:
        echo(f"mfawatch: the proposed source finds no items; {path} is unchanged", err=True)
        sys.exit(EXIT_FAILED)
    if not assume_yes and not click.confirm(f"Append source {key!r} to {path}?", default=True):
        echo(f"{path} is unchanged", err=True)
        return
    _write(path, new_text)
    echo(f"added source {key!r} to {path} (`mfawatch sources check {key}` shows it again)")


def _tail(node: Any) -> tuple[Any, Any, int] | None:
    """The comment slot after the last scalar of a block collection: (container, key, slot)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    while isinstance(node, CommentedMap | CommentedSeq) and len(node):
        key = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        value = node[key]
        nested = isinstance(value, CommentedMap | CommentedSeq) and len(value)
        if not nested or value.fa.flow_style():
            return node, key, 2 if isinstance(node, CommentedMap) else 0
        node = value
    return None


def _take_trailing_comment(sources: Any) -> Any:
    """Detach the blank lines and comments that follow the last source (they belong to whatever
    comes after `sources:`), keeping that source's own end-of-line comment; None if none."""
    import copy

    tail = _tail(sources)
    if tail is None:
        return None
    container, key, slot = tail
    slots = container.ca.items.get(key)
    token = slots[slot] if slots and len(slots) > slot else None
    if token is None or not isinstance(token.value, str):
        return None
    text = token.value
    own = text[: text.find("\n") + 1] if text.startswith("#") and "\n" in text else ""
    rest = text[len(own) :]
    if not rest.strip("\n") and rest.count("\n") == 0:
        return None
    moved = copy.copy(token)
    moved.value = "\n" + rest  # a new line ends the new last value first
    if own:
        token.value = own
    else:
        slots[slot] = None
    return moved


def _put_trailing_comment(sources: Any, token: Any) -> None:
    tail = _tail(sources)
    if tail is None:
        return
    container, key, slot = tail
    slots = container.ca.items.setdefault(key, [None, None, None, None])
    slots[slot] = token


def _write(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically (a crash leaves the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
