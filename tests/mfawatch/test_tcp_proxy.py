"""The cuttable TCP proxy of the PostgreSQL-outage test (tests/tcp_proxy.py) itself."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.tcp_proxy import TcpProxy


@pytest.fixture
def echo() -> Iterator[int]:
    """A loopback server that echoes what each connection sends until it closes; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(100):
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join(5)


def _echoed(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"ping")
        return sock.recv(100)


def test_cut_refuses_every_connection_and_restore_relays_again_on_the_same_port(
    echo: int,
) -> None:
    """Right after `cut()` no connection gets through (not even the first one, which a closed but
    still accepting listener would take), the port stays ours, and `restore()` relays again."""
    proxy = TcpProxy(echo).start()
    try:
        port = proxy.port
        assert _echoed(port) == b"ping"
        proxy.cut()
        for _ in range(3):
            with pytest.raises(ConnectionRefusedError):
                _echoed(port)
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))  # held while cut: nobody else can take it
        proxy.restore()
        assert proxy.port == port
        assert _echoed(port) == b"ping"
    finally:
        proxy.stop()


def test_cut_resets_the_open_connections(echo: int) -> None:
    """A connection relayed through the proxy is closed by `cut()`."""
    proxy = TcpProxy(echo).start()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"one")
            assert sock.recv(100) == b"one"
            proxy.cut()
            try:
                sock.sendall(b"two")
                assert sock.recv(100) == b""
            except ConnectionResetError:
                pass
    finally:
        proxy.stop()
