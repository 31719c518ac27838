"""Parser fixtures (helpers shared by the parser tests live in support.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from crawler.model import Page
from tests.crawler.parse.support import build_page


@pytest.fixture
def page_from() -> Callable[..., Page]:
    """Factory: a Page from HTML text or bytes at a URL."""

    def make(body: str | bytes, url: str = "https://example.org/news/1.html", **kw: Any) -> Page:
        data = body.encode("utf-8") if isinstance(body, str) else body
        kw.setdefault("content_type", "text/html; charset=utf-8")
        return build_page(data, url, **kw)

    return make
