"""A TCP proxy on 127.0.0.1 that a test can cut and restore (a database "going away" for a while).

`TcpProxy(target_port).start()` listens on a free port and relays every connection to
127.0.0.1:target_port. `cut()` closes every relayed connection and stops listening (new
connections are refused, as from a host that is down); `restore()` listens on the same port
again. Threads only; every socket is closed by `stop()`.

While cut, the port stays bound by a socket that does not listen: connections to it are refused,
and nothing else on the machine (another test's server, an outgoing connection's ephemeral port)
can take it before `restore()` binds it again (both sockets set SO_REUSEPORT).
"""

from __future__ import annotations

import contextlib
import socket
import threading


def _bound(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class TcpProxy:
    """Relays 127.0.0.1:port to 127.0.0.1:target_port until cut."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._hold: socket.socket | None = None  # keeps the port while cut
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        """Listen (on a free port the first time, on the same port after a cut)."""
        sock = _bound(self.port)
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._acceptor = threading.Thread(target=self._accept, args=(sock,), daemon=True)
        self._acceptor.start()
        if self._hold is not None:
            self._hold.close()
            self._hold = None
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
                with self._lock:
                    self._conns.discard(s)

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        if self._listener is not None:
            if self._hold is None:
                self._hold = _bound(self.port)
            # close() alone would not stop listening: the accept thread, blocked in accept(),
            # keeps the socket alive and would relay one more connection (and a restore() before
            # it would find the port in use). shutdown() stops listening and wakes that thread.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
            if self._acceptor is not None:
                self._acceptor.join(5)
                assert not self._acceptor.is_alive(), "the proxy's accept thread did not stop"
                self._acceptor = None
        with self._lock:
            conns = list(self._conns)
            self._conns.clear()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        if self._listener is None:
            self.start()

    def stop(self) -> None:
        """Close everything."""
        self.cut()
        if self._hold is not None:
            self._hold.close()
            self._hold = None
