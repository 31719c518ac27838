"""The soft-error table: error pages and bot walls served with HTTP 200 are recognised."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crawler.errors import SoftErrorPage
from crawler.model import Page
from crawler.parse import soft_errors
from tests.crawler.parse.support import build_page, real_page

ARTICLE_BODY = "<p>" + "A real statement about foreign policy. " * 50 + "</p>"

WALLS = [
    # (signature name, url, html, blocked)
    (
        "mea-sorry",
        "https://www.mea.gov.in/press-releases.htm?51/Press_Releases",
        "<html><head><title>Sorry for the inconvenience.</title></head><body><h1>Sorry for the inconvenience.</h1></body></html>",
        False,
    ),
    (
        "not-found-title",
        "https://example.org/news/gone",
        "<html><head><title>404 Not Found</title></head><body>nothing</body></html>",
        False,
    ),
    (
        "state-decoy",
        "https://www.state.gov/press-releases/",
        "<html><head><title>Technical Difficulties</title></head><body><p>We are experiencing technical difficulties.</p></body></html>",
        True,
    ),
    (
        "f5-challenge",
        "https://mid.ru/ru/foreign_policy/news/",
        '<html><head><script>window["bobcmn"] = "1011";</script><script src="/TSPD/08abc?type=7"></script></head><body>Please enable JavaScript</body></html>',
        True,
    ),
    (
        "cloudflare",
        "https://www.example.gov/news/",
        "<html><head><title>Just a moment...</title></head><body><script>window._cf_chl_opt={cvId:'3'}</script></body></html>",
        True,
    ),
    (
        "cloudflare",
        "https://www.example.gov/news/",
        "<html><head><title>Attention Required! | Cloudflare</title></head><body>blocked</body></html>",
        True,
    ),
    (
        "captcha",
        "https://www.example.gov/news/",
        '<html><head><title>Access denied</title></head><body><div id="px-captcha"></div></body></html>',
        True,
    ),
    (
        "captcha",
        "https://www.example.gov/news/",
        "<html><head><title>Human Verification</title></head><body>Solve the puzzle</body></html>",
        True,
    ),
]


@pytest.mark.parametrize(("name", "url", "html", "blocked"), WALLS)
def test_signature_is_recognised(
    page_from: Callable[..., Page], name: str, url: str, html: str, blocked: bool
) -> None:
    """Each documented error page or wall raises SoftErrorPage with its reason and blocked flag."""
    page = page_from(html, url)
    assert soft_errors.classify(page) is not None
    with pytest.raises(SoftErrorPage) as err:
        soft_errors.check(page)
    assert f"[{name}]" in err.value.reason
    assert err.value.blocked is blocked
    assert err.value.kind == ("blocked" if blocked else "missing")
    assert err.value.url == url


def test_fmprc_error_page_by_text_and_by_url() -> None:
    """The real fmprc soft 404 is recognised by its text, and any page at /error.htm by its URL."""
    real = real_page("china-error-1")
    assert soft_errors.classify(real) is not None
    moved = build_page(b"<html><body>whatever</body></html>", "https://www.fmprc.gov.cn/error.htm")
    with pytest.raises(SoftErrorPage) as err:
        soft_errors.check(moved)
    assert "fmprc-error" in err.value.reason and err.value.blocked is False


@pytest.mark.parametrize(
    "html",
    [
        # An article that merely mentions the words walls use.
        "<html><head><title>Statement on technical difficulties at the border</title></head>"
        f"<body>{ARTICLE_BODY}<p>Access denied to journalists was discussed.</p></body></html>",
        # F5 injects /TSPD/ scripts into ordinary pages: no challenge without bobcmn.
        f'<html><head><title>News</title><script src="/TSPD/08abc"></script></head><body>{ARTICLE_BODY}</body></html>',
        # Cloudflare's bot-management script on a normal page.
        '<html><head><title>Press release</title><script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script></head>'
        f"<body>{ARTICLE_BODY}</body></html>",
        # A long page carrying both F5 markers is content, not the small challenge page.
        '<html><head><title>News</title><script>window["bobcmn"]=1</script><script src="/TSPD/x"></script></head>'
        f"<body>{ARTICLE_BODY * 40}</body></html>",
    ],
)
def test_no_false_positives(page_from: Callable[..., Page], html: str) -> None:
    """Ordinary pages that share words or scripts with walls are not flagged."""
    assert soft_errors.classify(page_from(html)) is None
    soft_errors.check(page_from(html))


def test_only_the_head_of_the_page_is_scanned(page_from: Callable[..., Page]) -> None:
    """A marker far down a long page (e.g. quoted in an article) is not read: the check stays cheap."""
    html = f"<html><head><title>News</title></head><body>{ARTICLE_BODY * 20}<p>Sorry, the page you requested cannot be found</p></body></html>"
    assert len(html) > soft_errors.HEAD_CHARS
    assert soft_errors.classify(page_from(html)) is None


def test_not_modified_pages_are_not_checked() -> None:
    """A 304 page has no text to judge and passes."""
    page = build_page(b"", "https://www.state.gov/x/")
    assert soft_errors.classify(Page(page.raw, "", "utf-8", "header", not_modified=True)) is None


def test_signature_table_is_well_formed() -> None:
    """Every signature has a name, a reason and at least one test; names are unique."""
    names = [sig.name for sig in soft_errors.SIGNATURES]
    assert len(names) == len(set(names))
    for sig in soft_errors.SIGNATURES:
        assert sig.reason and (sig.title or sig.path or sig.any_markers or sig.all_markers)


# Every marker the fetch client and the soft-error table each caught before they became one table.
ERROR_ANSWER_MARKERS = [
    'window["bobcmn"]',
    "/TSPD/",
    "cf-chl",
    "challenge-platform",
    "cf_chl_opt",
    "captcha",
    "Just a moment...",
    "window._cf_chl_opt",
    "cf-browser-verification",
    'id="px-captcha"',
    "distil_r_captcha",
    "/_Incapsula_Resource",
]


@pytest.mark.parametrize("marker", ERROR_ANSWER_MARKERS)
def test_error_answers_are_walls_by_any_marker_of_the_union(marker: str) -> None:
    """An error answer's body with any one marker (of the union of both old tables) is a wall."""
    body = f"<html><head><title>Error</title></head><body>{marker}</body></html>".encode()
    assert soft_errors.challenge_in_error_answer(body)


def test_error_answer_without_a_marker_is_not_a_wall() -> None:
    """A plain error page (a 503 'Service Unavailable') carries no wall marker."""
    body = b"<html><head><title>503 Service Unavailable</title></head><body>later</body></html>"
    assert not soft_errors.challenge_in_error_answer(body)


@pytest.mark.parametrize("marker", ["captcha", "challenge-platform", "/TSPD/"])
def test_loose_error_markers_do_not_flag_an_ordinary_200_page(marker: str) -> None:
    """Markers that only count in error answers never make an ordinary 200 article a wall."""
    html = f"<html><head><title>Statement</title></head><body>{ARTICLE_BODY}<p>{marker}</p></body></html>"
    assert (
        soft_errors.classify(build_page(html.encode(), "https://example.org/news/1.html")) is None
    )
