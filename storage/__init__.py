"""Persistence of articles, their versions, diffs and raw evidence; the read side for digests."""
