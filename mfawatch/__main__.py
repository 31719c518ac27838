"""`python -m mfawatch`."""

from __future__ import annotations

from mfawatch.cli import main

main()
