"""Fetching and parsing ministry pages: sources config, fetch, parse, dedupe, pipeline."""

__version__ = "0.1.0"
