"""The canonical URL: the identity of an article.

Two URLs that differ only in scheme/host case, a default port, a fragment, tracking parameters,
the order of query parameters, or an index document (`index.html`, `default.shtml`) versus its
directory are the same article. Everything else in the URL is kept as the site wrote it: some
ministries put the article id in the query string (`?dtl/40313/...` on mea.gov.in).

A source may name equivalent hosts (`hosts:` in its config, e.g. www.fmprc.gov.cn and
www.mfa.gov.cn serving the same releases): a URL on any of them is canonical on the first one
named, so the article's identity does not depend on which mirror linked it; the URL as fetched
is kept as an alias.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that only say how a visitor arrived. Grouped by who adds them.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # Google Analytics / generic campaign tags (all utm_* are matched by prefix too)
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "utm_id",
        # ad click ids
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "fbclid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        # mail and social sharing tools
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "igshid",
        "ref_src",
        # analytics session carriers
        "_ga",
        "_gl",
        "spm",
        "isappinstalled",
        "clicktime",
        "enterid",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hmsr", "hmpl", "hmcu", "hmkw")

# Documents a server returns for a bare directory URL.
INDEX_DOCUMENTS: frozenset[str] = frozenset(
    {
        "index.html",
        "index.htm",
        "index.shtml",
        "index.php",
        "default.html",
        "default.htm",
        "default.shtml",
        "default.aspx",
    }
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonical_url(url: str, hosts: Mapping[str, str] | None = None) -> str:
    """The canonical form of an absolute http(s) URL (see module docstring).

    `hosts` maps an equivalent host to the one it stands for (`config.Source.host_map`).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if hosts:
        host = hosts.get(host, host)
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{netloc}"

    path = quote(unquote(parts.path), safe="/%:@!$&'()*+,;=~-._") or "/"
    head, _, last = path.rpartition("/")
    if last.lower() in INDEX_DOCUMENTS:
        path = head + "/"

    raw_query = parts.query
    if raw_query and "=" not in raw_query and "&" not in raw_query:
        query = raw_query  # opaque query such as mea.gov.in's `?dtl/40313/Slug`
    else:
        pairs = [
            (k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if not _is_tracking(k)
        ]
        query = urlencode(sorted(pairs), doseq=True)
    return urlunsplit((scheme, netloc, path, query, ""))
