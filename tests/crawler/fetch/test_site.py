"""The loopback test site itself: files, registered responses, records and a few named routes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.site import Site


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One plain HTTP client for the module (building one per request costs a CA-bundle load)."""
    with httpx.Client() as c:
        yield c


def test_files_are_served_as_html_without_charset(site: Site, client: httpx.Client) -> None:
    """A fixture file comes back byte-exact with `Content-Type: text/html` and no charset."""
    r = client.get(site.url("/real-pages/china-error-1.html"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html"
    assert r.content == (site.root / "real-pages" / "china-error-1.html").read_bytes()  # type: ignore[operator]


def test_registered_response_overrides_and_is_recorded(site: Site, client: httpx.Client) -> None:
    """`add` replaces a response at runtime and each request is recorded with its headers."""
    site.add("/a", "<p>one</p>")
    site.add("/a", "<p>two</p>", headers={"X-Test": "yes"})
    r = client.get(site.url("/a"), headers={"User-Agent": "probe/1"})
    assert (r.text, r.headers["x-test"]) == ("<p>two</p>", "yes")
    assert [(q.method, q.path, q.header("User-Agent")) for q in site.requests] == [
        ("GET", "/a", "probe/1")
    ]


def test_etag_answers_304_without_body(site: Site, client: httpx.Client) -> None:
    """A registered `etag=True` response answers a matching If-None-Match with an empty 304."""
    site.add("/e", "<p>same</p>", etag=True)
    first = client.get(site.url("/e"))
    second = client.get(site.url("/e"), headers={"If-None-Match": first.headers["etag"]})
    assert (first.status_code, second.status_code, second.content) == (200, 304, b"")
    assert site.requests[-1].body_bytes == 0


def test_remove_and_redirect(site: Site, client: httpx.Client) -> None:
    """`remove` makes a path 404 and `redirect` answers with a Location."""
    site.add("/gone", "x")
    site.remove("/gone")
    site.redirect("/old", "/new", status=301)
    assert client.get(site.url("/gone")).status_code == 404
    r = client.get(site.url("/old"))
    assert (r.status_code, r.headers["location"]) == (301, "/new")


def test_retry_after_counts_per_path(site: Site, client: httpx.Client) -> None:
    """`/retry-after/{s}` refuses the first request of each exact path with 503, then serves 200."""
    codes = [
        client.get(site.url(p)).status_code
        for p in ("/retry-after/2", "/retry-after/2", "/retry-after/2?x=1")
    ]
    assert codes == [503, 200, 503]


def test_acts_as_proxy_for_made_up_hosts(site: Site) -> None:
    """An absolute-form request for any host name is served from the site (a 'public' host on loopback)."""
    with httpx.Client(proxy=site.base_url) as proxied:
        r = proxied.get("http://ministry.example/no-charset")
    assert r.status_code == 200
    assert site.requests[-1].host == "ministry.example"
