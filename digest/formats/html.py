"""The digest as one self-contained HTML file: inline CSS, no scripts, no external resources,
everything from a page autoescaped by Jinja2 — safe to mail or archive."""

from __future__ import annotations

from digest.model import Report
from digest.templating import environment


def render(report: Report) -> str:
    """The report as a complete HTML document."""
    return environment().get_template("digest.html").render(report=report)
