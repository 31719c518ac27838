"""`python -m mfawatch`."""

from mfawatch.cli import main

main()
