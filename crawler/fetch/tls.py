"""The crawler's TLS context: httpx's verified default, with its CA bundle read on first use.

`httpx.create_ssl_context()` parses the whole CA bundle (certifi's, or `SSL_CERT_FILE` /
`SSL_CERT_DIR`) when it is built: ~235 M instructions, 7 % of a `crawl --once` that finds nothing
new, and a cost no plain-http source ever needs. `verified_context()` builds the same
context (same protocol, verification, hostname check, key log, CA locations chosen from the same
environment at the same moment) but loads those CA locations just before its first TLS connection
or the first question about its store.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
from typing import Any


class _DeferredCAContext(ssl.SSLContext):
    """A client context that loads its CA locations the first time they are needed."""

    _cafile: str | None
    _capath: str | None
    _pending: bool
    _lock: threading.Lock

    def _load_cas(self) -> None:
        if self._pending:
            with self._lock:
                if self._pending:
                    self.load_verify_locations(cafile=self._cafile, capath=self._capath)
                    self._pending = False

    # Every TLS connection starts in one of these two (asyncio and anyio: wrap_bio).
    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load_cas()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load_cas()
        return super().wrap_bio(*args, **kwargs)

    # What reads the store reads it loaded.
    def get_ca_certs(self, binary_form: bool = False) -> Any:
        self._load_cas()
        return super().get_ca_certs(binary_form)

    def cert_store_stats(self) -> dict[str, int]:
        self._load_cas()
        return super().cert_store_stats()


def verified_context() -> ssl.SSLContext:
    """What `httpx.create_ssl_context()` returns (verify=True, trust_env=True), CA bundle deferred."""
    import certifi  # httpx's own default bundle (a dependency of httpx)

    cafile: str | None = None
    capath: str | None = None
    if os.environ.get("SSL_CERT_FILE"):
        cafile = os.environ["SSL_CERT_FILE"]
    elif os.environ.get("SSL_CERT_DIR"):
        capath = os.environ["SSL_CERT_DIR"]
    else:
        cafile = certifi.where()
    # As ssl.create_default_context(Purpose.SERVER_AUTH, cafile=..., capath=...) builds it.
    ctx = _DeferredCAContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    keylogfile = os.environ.get("SSLKEYLOGFILE")
    if keylogfile and not sys.flags.ignore_environment:
        ctx.keylog_filename = keylogfile
    ctx._cafile, ctx._capath = cafile, capath
    ctx._pending, ctx._lock = True, threading.Lock()
    return ctx
