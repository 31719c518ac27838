"""Fetching and parsing ministry pages: sources config, fetch, parse, dedupe, pipeline."""

from __future__ import annotations

__version__ = "0.1.0"
