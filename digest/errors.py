"""The digest's branch of the error tree (drawn whole in `storage.errors`).

Each error is declared next to the rule it reports (`window.SinceError`, `report.ReportFilterError`,
...); they all derive from `DigestError`, so a caller can catch the digest's refusals at once.
"""

from __future__ import annotations

from storage.errors import MfawatchError


class DigestError(MfawatchError):
    """Base of every error the digest package raises on purpose."""
