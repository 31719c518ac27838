"""Resolving hrefs against a page URL, with fast paths for the forms listings are made of.

`urllib.parse.urljoin` is correct but costs more than everything else done for a listing item.
`Resolver` precomputes the page's origin and directory once, and handles the common shapes
directly: absolute `http(s)://…`, protocol-relative `//host/…`, root-relative `/path`, and plain
relative `./t1794629.shtml` / `t1.shtml` without dot segments, queries or fragments. Anything
else (`../`, `?page=2`, `#x`, other schemes) goes to urljoin, so results are always urljoin's.

A link a page may carry but no client can fetch (`http://h:99999/`, `http://[::1/`) makes
`resolve` raise `ValueError`, as urljoin does; `link_problem` says what is wrong with a URL, so a
caller skips that one link (and counts it) instead of failing the page.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

HTTP = ("http://", "https://")
_UNSAFE = frozenset("?#\\:%")  # characters that make the fast relative path unsafe


class Resolver:
    """Resolves hrefs found on one page (`resolve(href)` == `urljoin(base, href)`)."""

    __slots__ = ("base", "directory", "origin", "scheme")

    def __init__(self, base: str) -> None:
        self.base = base
        parts = urlsplit(base)
        self.scheme = parts.scheme
        self.origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
        path = parts.path or "/"
        self.directory = self.origin + path[: path.rfind("/") + 1] if self.origin else ""

    def resolve(self, href: str) -> str:
        """The absolute URL of `href` on this page."""
        if href.startswith(HTTP):
            return href
        if (
            not href
            or not self.origin
            or _UNSAFE.intersection(href)
            or "/." in href
            or href.startswith("..")
        ):
            return urljoin(self.base, href)
        if href.startswith("//"):
            return f"{self.scheme}:{href}"
        if href.startswith("/"):
            return self.origin + href
        if href.startswith("./"):
            href = href[2:]
        if href.startswith("."):
            return urljoin(self.base, href)
        return self.directory + href


def link_problem(url: str) -> str | None:
    """Why `url` is not a fetchable absolute http(s) URL (a one-line reason), or None if it is."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        return f"invalid URL: {exc}"
    if parts.scheme.lower() not in ("http", "https"):
        return "not an http(s) URL"
    if not host:
        return "the URL has no host"
    return None


def is_http(url: str) -> bool:
    """True for http and https URLs (case-insensitive scheme)."""
    return url[:8].lower().startswith(HTTP)
