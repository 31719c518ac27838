"""Everything a person reads: the digest report and its formats, alerts, notifications, export
and the review web UI. Imports only `storage`, never `crawler`."""
