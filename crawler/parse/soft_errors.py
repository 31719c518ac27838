"""Recognises error pages and bot walls served with HTTP 200, from one declared signature table.

Such a page must never be stored as an article or read as an empty listing: `check(page)` raises
`SoftErrorPage` with the signature's reason. Error pages (the thing asked for is missing) have
`blocked=False`; challenges and walls (we were refused) have `blocked=True`.

The check is cheap and conservative: it reads only the final URL, the `<title>` and the first
`HEAD_CHARS` characters, and every marker is something a real article does not contain (a
challenge script variable, an error sentence), so it cannot fire on ordinary content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.errors import SoftErrorPage
from crawler.model import Page
from crawler.parse.text import clean

HEAD_CHARS = 16_384
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Signature:
    """One kind of soft error: any of its tests matching is enough.

    `title` is a regex searched in the page's cleaned, case-folded `<title>`; `path` a regex on
    the final URL's path; `any_markers` exact strings of which one must appear in the head of the
    page; `all_markers` strings that must all appear; `max_chars` limits the signature to pages
    no longer than that (challenge pages are small, articles are not). `error_markers` are
    enough on their own in an error answer (4xx/5xx), where a refusal is likely already, but
    too common in ordinary pages to count on a 200 (`challenge_in_error_answer`).
    """

    name: str
    reason: str
    blocked: bool
    title: str | None = None
    path: str | None = None
    any_markers: tuple[str, ...] = ()
    all_markers: tuple[str, ...] = ()
    max_chars: int | None = None
    error_markers: tuple[str, ...] = ()


SIGNATURES: tuple[Signature, ...] = (
    # --- Error pages: the page is missing (blocked=False) -----------------------------------
    # fmprc.gov.cn 302-redirects missing pages (and /robots.txt) to /error.htm, served with 200
    # (real page: tests/fixtures/real-pages/china-error-1.html).
    Signature(
        name="fmprc-error",
        reason="fmprc soft 404: 'Sorry, the page you requested cannot be found' (/error.htm)",
        blocked=False,
        path=r"/error\.html?$",
        any_markers=(
            "对不起，我们没有找到您要的网页",
            "Sorry, the page you requested cannot be found",
        ),
    ),
    # mea.gov.in answers section and detail URLs with a 200 page titled like this.
    Signature(
        name="mea-sorry",
        reason="mea.gov.in soft error page 'Sorry for the inconvenience.'",
        blocked=False,
        title=r"^sorry for the inconvenience",
    ),
    # Plain 404 pages that some CMSs serve with 200.
    Signature(
        name="not-found-title",
        reason="page titled as not found (soft 404)",
        blocked=False,
        title=r"^(?:404\b|page not found\b|not found$|seite nicht gefunden|page introuvable|страница не найдена)",
    ),
    # --- Walls and decoys: we were refused (blocked=True) ------------------------------------
    # state.gov serves a "Technical Difficulties" decoy to clients it takes for bots.
    Signature(
        name="state-decoy",
        reason="state.gov 'Technical Difficulties' decoy page (bot wall)",
        blocked=True,
        title=r"^technical difficulties",
    ),
    # F5 BIG-IP ASM JavaScript challenge (mid.ru). F5 also injects /TSPD/ scripts into normal
    # pages, so both markers are required and only on a small page.
    Signature(
        name="f5-challenge",
        reason='F5 BIG-IP JavaScript challenge (window["bobcmn"], /TSPD/)',
        blocked=True,
        all_markers=('window["bobcmn"]', "/TSPD/"),
        max_chars=60_000,
        error_markers=('window["bobcmn"]', "/TSPD/"),
    ),
    # Cloudflare interstitials. /cdn-cgi/challenge-platform/ alone is no sign: Cloudflare injects
    # it into normal pages too; `_cf_chl_opt` is only set on the challenge itself.
    Signature(
        name="cloudflare",
        reason="Cloudflare challenge ('Just a moment...' / 'Attention Required!')",
        blocked=True,
        title=r"^(?:just a moment\.\.\.|attention required! \| cloudflare)$",
        any_markers=("window._cf_chl_opt", "cf-browser-verification"),
        error_markers=("cf-chl", "cf_chl_opt", "challenge-platform", "Just a moment..."),
    ),
    # Generic CAPTCHA and access walls (PerimeterX, Distil, Akamai "Access Denied").
    Signature(
        name="captcha",
        reason="CAPTCHA or access wall",
        blocked=True,
        title=r"(?:captcha|^are you a robot|^verify you are (?:a )?human|^human verification|^access denied$|^request rejected$)",
        any_markers=('id="px-captcha"', "distil_r_captcha", "/_Incapsula_Resource"),
        error_markers=("captcha",),
    ),
)

_COMPILED = tuple(
    (
        sig,
        re.compile(sig.title) if sig.title else None,
        re.compile(sig.path, re.IGNORECASE) if sig.path else None,
    )
    for sig in SIGNATURES
)


# What makes an error answer a bot challenge: any marker of a wall's signature, as bytes (the
# answer is not decoded), looked for in its first `ERROR_HEAD_BYTES`.
ERROR_HEAD_BYTES = 65_536
_ERROR_MARKERS = tuple(
    dict.fromkeys(
        m.encode()
        for sig in SIGNATURES
        if sig.blocked
        for m in (*sig.error_markers, *sig.any_markers, *sig.all_markers)
    )
)


# Walls a browser can clear by running the page's script (`fetch: challenge`).
JS_CHALLENGES = frozenset({"f5-challenge", "cloudflare"})


def text_is_challenge(text: str) -> bool:
    """Whether a page's text (a rendered DOM) is still a JavaScript challenge or a wall."""
    head = text[:HEAD_CHARS]
    title = page_title(head).casefold()
    for sig, title_re, _ in _COMPILED:
        if not sig.blocked or (sig.max_chars is not None and len(text) > sig.max_chars):
            continue
        if title_re is not None and title and title_re.search(title):
            return True
        if sig.any_markers and any(m in head for m in sig.any_markers):
            return True
        if sig.all_markers and all(m in head for m in sig.all_markers):
            return True
    return False


def challenge_in_error_answer(body: bytes) -> bool:
    """Whether an error answer's (4xx/5xx) body is a bot challenge or wall, by its markers."""
    head = body[:ERROR_HEAD_BYTES]
    return any(m in head for m in _ERROR_MARKERS)


def page_title(head: str) -> str:
    """The cleaned `<title>` text found in `head`, or ''."""
    m = _TITLE.search(head)
    return clean(m.group(1)) if m else ""


# The last page classified and its answer: the pipeline checks a listing page before handing it
# to `parse_listing`, which checks it again. Pages are immutable, so the same object has the same
# answer; a tuple is read and replaced atomically, so threads may share it.
_last: tuple[Page | None, Signature | None] = (None, None)


def classify(page: Page) -> Signature | None:
    """The first signature the page matches, or None for an ordinary page."""
    global _last
    last_page, last_sig = _last
    if last_page is page:
        return last_sig
    sig = _classify(page)
    _last = (page, sig)
    return sig


def _classify(page: Page) -> Signature | None:
    if page.not_modified:
        return None
    head = page.text[:HEAD_CHARS]
    title = page_title(head).casefold()
    path = urlsplit(page.url).path
    for sig, title_re, path_re in _COMPILED:
        if sig.max_chars is not None and len(page.text) > sig.max_chars:
            continue
        if path_re is not None and path_re.search(path):
            return sig
        if title_re is not None and title and title_re.search(title):
            return sig
        if sig.any_markers and any(m in head for m in sig.any_markers):
            return sig
        if sig.all_markers and all(m in head for m in sig.all_markers):
            return sig
    return None


def check(page: Page) -> None:
    """Raise `SoftErrorPage` (reason, `blocked`) when the page is an error page or a bot wall."""
    sig = classify(page)
    if sig is not None:
        raise SoftErrorPage(page.url, f"{sig.reason} [{sig.name}]", blocked=sig.blocked)
