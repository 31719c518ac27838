"""mfawatch's composition root: the command line, the daemon, and the wiring of the packages."""

from __future__ import annotations

__version__ = "0.1.0"
