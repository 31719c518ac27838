"""The digest as an Atom 1.0 feed (RFC 4287), one entry per item.

Entry ids are tag URIs derived from the article id, its version and (for removals and
restorations) the time of the event, e.g. `tag:mfawatch,2026:article/123/v/2`, so a feed reader
sees the same id on every run and never shows an item twice. Entry content is `type="html"`:
an HTML fragment in which page text is already escaped, escaped once more by the XML serializer.
Characters that XML 1.0 forbids (control characters, escape sequences) are removed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from digest._text import clean, one_line, safe_url
from digest.model import Item, Report
from digest.templating import environment

ATOM_NS = "http://www.w3.org/2005/Atom"
TAG_PREFIX = "tag:mfawatch,2026:"
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TITLE_VERB = {"new": "New", "changed": "Changed", "removed": "Removed", "restored": "Restored"}


def _x(text: str | None) -> str:
    return _XML_INVALID.sub("", clean(text))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        el.text = _x(text)
    return el


def _time(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def feed_id(report: Report) -> str:
    """The feed's id: one per review cursor (or the plain digest)."""
    return TAG_PREFIX + (f"digest/as/{report.cursor}" if report.cursor else "digest")


def entry_id(item: Item) -> str:
    """The entry's stable tag URI."""
    return TAG_PREFIX + item.event_key


def _entry(feed: ET.Element, item: Item) -> None:
    entry = _sub(feed, "entry")
    _sub(entry, "id", entry_id(item))
    alert = "⚠ " if item.alerts else ""
    title = one_line(item.title) or "(no title)"
    _sub(entry, "title", f"{alert}{_TITLE_VERB[item.kind.value]}: {title}", type="text")
    _sub(entry, "updated", _time(item.event_at))
    if item.published is not None and item.published.published_at is not None:
        _sub(entry, "published", _time(item.published.published_at))
    href = safe_url(item.url)
    if href:
        _sub(entry, "link", rel="alternate", type="text/html", href=_x(href))
    _sub(entry, "category", term=item.kind.value, label=item.kind.value)
    _sub(entry, "category", term=_x(item.source), label=_x(item.source))
    for hit in item.alerts:
        _sub(entry, "category", term=_x(f"alert:{hit.rule}"), label=_x(f"alert {hit.rule}"))
    html = environment().get_template("atom_entry.html").render(item=item)
    _sub(entry, "content", html.strip(), type="html")


def render(report: Report) -> str:
    """The report as an Atom 1.0 document (UTF-8 XML text)."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(feed, "id", feed_id(report))
    title = "mfawatch digest" + (f" ({report.cursor})" if report.cursor else "")
    _sub(feed, "title", title, type="text")
    _sub(feed, "subtitle", f"{_time(report.since)} to {_time(report.until)}", type="text")
    updated = max([report.until, *(i.event_at for i in report.items)])
    _sub(feed, "updated", _time(updated))
    author = _sub(feed, "author")
    _sub(author, "name", "mfawatch")
    _sub(feed, "generator", "mfawatch")
    for item in report.items:
        _entry(feed, item)
    ET.indent(feed)
    return ET.tostring(feed, encoding="unicode", xml_declaration=True) + "\n"
