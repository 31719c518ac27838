"""The crawler's TLS context: httpx's verified default, its CA bundle read only when first needed."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crawler.fetch.tls import verified_context


def _settings(ctx: ssl.SSLContext) -> tuple[object, ...]:
    return (
        ctx.protocol,
        ctx.verify_mode,
        ctx.check_hostname,
        ctx.options,
        ctx.verify_flags,
        ctx.minimum_version,
        ctx.maximum_version,
        ctx.keylog_filename,
        sorted(c["name"] for c in ctx.get_ciphers()),
    )


def test_same_context_as_httpx_once_loaded() -> None:
    """Settings, and the CA store once read, are those of `httpx.create_ssl_context()`."""
    ours, theirs = verified_context(), httpx.create_ssl_context()
    assert _settings(ours) == _settings(theirs)
    assert ours.cert_store_stats() == theirs.cert_store_stats()
    assert ours.get_ca_certs() == theirs.get_ca_certs()
    assert ours.cert_store_stats()["x509_ca"] > 0


def test_ca_bundle_is_not_read_when_built() -> None:
    """Building the context reads no certificate (plain-http crawls never pay for the bundle)."""
    ctx = verified_context()
    assert ssl.SSLContext.cert_store_stats(ctx)["x509_ca"] == 0
    assert ctx.cert_store_stats()["x509_ca"] > 0  # asking reads it


def test_ca_locations_follow_the_environment(
    monkeypatch: pytest.MonkeyPatch, tls_server: tuple[int, Path]
) -> None:
    """`SSL_CERT_FILE`, read when the context is built, names the bundle, as in httpx."""
    _, cert = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    ctx = verified_context()
    monkeypatch.delenv("SSL_CERT_FILE")
    assert ctx.cert_store_stats()["x509_ca"] == 1


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A loopback TLS server with a self-signed certificate for 127.0.0.1; (port, certificate)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=CA:TRUE"],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"hello")
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], cert
    stop.set()
    thread.join()
    listener.close()


async def _read(port: int, ctx: ssl.SSLContext) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    try:
        return await reader.read(5)
    finally:
        # close() only starts the TLS goodbye; without waiting for its end, asyncio.run() closed
        # the loop first whenever the server thread was slow to hang up (a loaded machine), and
        # the socket was left open, to be reported by some later test as an unclosed socket.
        writer.close()
        with contextlib.suppress(ConnectionResetError):  # the server hangs up without goodbye
            await writer.wait_closed()


def test_a_connection_verifies_against_the_bundle(
    monkeypatch: pytest.MonkeyPatch, tls_server: tuple[int, Path]
) -> None:
    """The first connection loads the bundle before its handshake: a certificate it does not
    vouch for is refused, one it does is accepted (asyncio's path, wrap_bio, as aiohttp's)."""
    port, cert = tls_server
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(_read(port, verified_context()))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    assert asyncio.run(_read(port, verified_context())) == b"hello"


def test_a_blocking_connection_verifies_too(
    monkeypatch: pytest.MonkeyPatch, tls_server: tuple[int, Path]
) -> None:
    """The same through wrap_socket."""
    port, cert = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    ctx = verified_context()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            assert tls.recv(5) == b"hello"
    monkeypatch.delenv("SSL_CERT_FILE")
    with socket.create_connection(("127.0.0.1", port)) as sock:
        with pytest.raises(ssl.SSLCertVerificationError):
            verified_context().wrap_socket(sock, server_hostname="127.0.0.1")
