"""A real forward proxy on 127.0.0.1 for tests: HTTP (absolute-form and CONNECT) and SOCKS5.

It records what passed through it (`records`: kind, target, user, request headers) so a test can
see that a source's fetches took the proxy and what they carried. Every host name is connected
to as given, except the names of `hosts` (a mapping name -> (ip, port)), which stand for
"public" sites served on loopback: the proxy resolves, as a real one inside a country would.

- `Proxy(auth=("user", "secret"))` demands credentials: `Proxy-Authorization: Basic` for HTTP
  (407 without), user/password authentication (RFC 1929) for SOCKS5 (refused without).
- `Proxy(deny=True)` answers every request 403 (HTTP) or "connection not allowed" (SOCKS5).

Run `python -m tests.proxy` to serve from another process (prints the port). One thread per
connection; bytes are relayed both ways until either side closes.
"""

from __future__ import annotations

import base64
import select
import socket
import struct
import sys
import threading
from dataclasses import dataclass, field
from socketserver import BaseRequestHandler, ThreadingTCPServer
from types import TracebackType
from urllib.parse import urlsplit


@dataclass
class ProxyRecord:
    """One request the proxy carried (or refused: `refused` says why)."""

    kind: str  # http | connect | socks5
    target: str  # absolute URL (http), host:port (connect, socks5)
    user: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names (http only)
    refused: str | None = None


def _relay(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 30)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The request head (up to the blank line) and what was read after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > 1024 * 1024:
            break
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


class _Handler(BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        sock: socket.socket = self.request
        first = sock.recv(1, socket.MSG_PEEK)
        if not first:
            return
        if first == b"\x05":
            self._socks5(proxy, sock)
        else:
            self._http(proxy, sock)

    # -- HTTP -----------------------------------------------------------------------------

    def _http(self, proxy: Proxy, sock: socket.socket) -> None:
        head, rest = _read_head(sock)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        user = None
        auth = headers.get("proxy-authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                user, password = None, ""
        else:
            password = ""
        kind = "connect" if method == "CONNECT" else "http"
        record = ProxyRecord(kind, target, user, headers)
        proxy._record(record)
        if proxy.deny:
            record.refused = "denied"
            sock.sendall(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        if proxy.auth is not None and (user, password) != proxy.auth:
            record.refused = "no or wrong credentials"
            sock.sendall(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                b"Connection: close\r\n\r\n"
            )
            return
        if kind == "connect":
            host, _, port = target.rpartition(":")
            upstream = self._connect(proxy, host, int(port))
            if upstream is None:
                sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            sock.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            with upstream:
                _relay(sock, upstream)
            return
        parts = urlsplit(target)
        upstream = self._connect(proxy, parts.hostname or "", parts.port or 80)
        if upstream is None:
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        out = [f"{method} {path} HTTP/1.1"]
        for line in lines[1:]:
            name = line.partition(":")[0].strip().lower()
            if name in ("proxy-authorization", "proxy-connection", "connection"):
                continue
            out.append(line)
        out.append("Connection: close")
        upstream.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + rest)
        with upstream:
            _relay(sock, upstream)

    # -- SOCKS5 ---------------------------------------------------------------------------

    def _socks5(self, proxy: Proxy, sock: socket.socket) -> None:
        def read(n: int) -> bytes:
            data = b""
            while len(data) < n:
                chunk = sock.recv(n - len(data))
                if not chunk:
                    raise ConnectionError("closed")
                data += chunk
            return data

        try:
            _, count = read(2)
            methods = read(count)
            user = None
            if proxy.auth is not None:
                if 2 not in methods:
                    sock.sendall(b"\x05\xff")
                    proxy._record(ProxyRecord("socks5", "", None, refused="no credentials"))
                    return
                sock.sendall(b"\x05\x02")
                _, ulen = read(2)
                user = read(ulen).decode()
                (plen,) = read(1)
                password = read(plen).decode()
                if (user, password) != proxy.auth:
                    sock.sendall(b"\x01\x01")
                    proxy._record(ProxyRecord("socks5", "", user, refused="wrong credentials"))
                    return
                sock.sendall(b"\x01\x00")
            else:
                sock.sendall(b"\x05\x00")
            _, cmd, _, atyp = read(4)
            if atyp == 1:
                host = socket.inet_ntoa(read(4))
            elif atyp == 3:
                (length,) = read(1)
                host = read(length).decode()
            else:
                host = socket.inet_ntop(socket.AF_INET6, read(16))
            (port,) = struct.unpack("!H", read(2))
        except (ConnectionError, OSError, ValueError):
            return
        record = ProxyRecord("socks5", f"{host}:{port}", user)
        proxy._record(record)
        reply_tail = b"\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00"
        if proxy.deny or cmd != 1:
            record.refused = "denied"
            sock.sendall(b"\x05\x02" + reply_tail)  # connection not allowed by ruleset
            return
        upstream = self._connect(proxy, host, port)
        if upstream is None:
            sock.sendall(b"\x05\x05" + reply_tail)  # connection refused
            return
        sock.sendall(b"\x05\x00" + reply_tail)
        with upstream:
            _relay(sock, upstream)

    @staticmethod
    def _connect(proxy: Proxy, host: str, port: int) -> socket.socket | None:
        address = proxy.hosts.get(host.lower().strip("[]"), (host, port))
        try:
            return socket.create_connection(address, timeout=10)
        except OSError:
            return None


class _Server(ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)


class Proxy:
    """A loopback forward proxy for tests (see the module docstring)."""

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        deny: bool = False,
        hosts: dict[str, tuple[str, int]] | None = None,
    ) -> None:
        self.auth = auth
        self.deny = deny
        self.hosts = {k.lower(): v for k, v in (hosts or {}).items()}
        self.records: list[ProxyRecord] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _record(self, record: ProxyRecord) -> None:
        with self._lock:
            self.records.append(record)

    def carried(self) -> list[ProxyRecord]:
        """The records of requests the proxy carried (not refused)."""
        with self._lock:
            return [r for r in self.records if r.refused is None]

    def start(self) -> Proxy:
        """Listen on a free loopback port, serving in a daemon thread."""
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, scheme: str = "http", userinfo: str = "") -> str:
        """`scheme://[userinfo@]127.0.0.1:PORT`."""
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}"

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve a proxy until interrupted; print its port."""
    del argv
    with Proxy() as proxy:
        sys.stdout.write(f"{proxy.port}\n")
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
