"""Deciding when two URLs or two pages are the same release."""
