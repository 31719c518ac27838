"""How `sources check` and `sources add` print a preview of what a source's selectors extract."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mfawatch.terminal import echo

if TYPE_CHECKING:
    from crawler.preview import Preview

BODY_LINES = 2


def show_article(preview: Preview) -> None:
    """Print what the article preview extracted: title, date, section, language, body lines."""
    art = preview.article
    if art is None:
        return
    echo(f"  title:   {art.title}")
    echo(f"  date:    {art.date.describe() if art.date else '(none)'}")
    echo(f"  section: {art.section or '(none)'}")
    echo(f"  language: {art.language or '(none)'}")
    paras = art.paragraphs
    echo(f"  body:    {len(paras)} paragraph(s), {len(art.body_text)} characters")
    for line in paras[:BODY_LINES]:
        echo(f"    | {line}")
    if len(paras) > BODY_LINES:
        echo("    | ...")
        echo(f"    | {paras[-1]}")


def show_items(preview: Preview) -> None:
    """Print the listing preview: how many items, and the first five."""
    echo(f"  listing items: {len(preview.items)}")
    for item in preview.items[:5]:
        date = item.date.describe() if item.date else "no date"
        echo(f"    - {item.title}  [{date}]  {item.url}")
    if len(preview.items) > 5:
        echo(f"    ... {len(preview.items) - 5} more")
