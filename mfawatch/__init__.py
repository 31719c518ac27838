"""mfawatch's composition root: the command line, the daemon, and the wiring of the packages."""

__version__ = "0.1.0"
