"""The review UI in a real browser: Playwright driving Debian's Chromium against uvicorn on 127.0.0.1."""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from digest.web import create_app
from tests.digest.conftest import DigestDB

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs /usr/bin/chromium (apt-get install chromium; .ci/run does)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(digest_db: DigestDB) -> Iterator[str]:
    """uvicorn serving the UI over the fixture database in a thread; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(digest_db.db), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def png_colours(data: bytes, limit: int = 64) -> int:
    """How many distinct pixel colours an 8-bit RGB(A) PNG has (counting stops at `limit`)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour_type in (2, 6), "expected 8-bit RGB or RGBA"
            channels = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, prev = zlib.decompress(idat), width * channels, bytearray(width * channels)
    colours: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):  # undo the PNG row filter (spec section 9)
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(bytes(line[i : i + channels]) for i in range(0, stride, channels * 7))
        if len(colours) >= limit:
            return len(colours)
        prev = line
    return len(colours)


def test_review_in_a_real_browser(server: str) -> None:
    """Open the digest, open an article, see the highlighted diff, mark reviewed, see it empty."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
            page.goto(server + "/")
            assert page.locator("article.item").count() == 6
            assert page.get_by_text("<script>alert(1)</script>", exact=True).is_visible()

            page.get_by_role("link", name="Wang Yi Holds Talks with Counterpart").click()
            page.wait_for_url("**/article/**")
            ins = page.locator(".diffbox.inline ins").first
            ins.wait_for(state="visible")
            assert "candid" in page.locator(".diffbox.inline").inner_text()
            assert page.locator(".diffbox.side ins").first.is_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            shot = page.screenshot(path=str(ARTIFACTS / "digest-article-diff.png"), full_page=True)
            assert len(shot) > 10_000 and png_colours(shot) >= 16, (
                "the diff page screenshot is blank"
            )

            page.goto(server + "/")
            page.get_by_role("button", name="Mark reviewed").click()
            page.wait_for_load_state()
            page.locator("#empty").wait_for(state="visible")
            assert page.locator("article.item").count() == 0
            assert errors == []  # nothing on any page executed (no alert dialog, no script error)
        finally:
            browser.close()
