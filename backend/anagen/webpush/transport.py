"""A small keep-alive HTTP/1.1 connection for POSTing to push services (pooled in pool.py).

Why not `requests` (pywebpush's transport) or `http.client`: push delivery is one tiny POST
per message, and a client's own Python work per request is the bottleneck under the GIL;
against the local push service this client carries several times the requests per second
of either, which is what keeps delivery above half of the encryption-only rate (the
numbers: docs/BENCHMARKS.md, "Web-push building blocks").

What it does: one request at a time per connection, `Content-Length` bodies out; responses
with `Content-Length`, chunked or close-delimited bodies (which are discarded: only the status
and `Retry-After` matter); interim 1xx responses skipped; TLS with certificate and host-name
verification through `ssl`; explicit connect and read timeouts.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
from dataclasses import dataclass

_MAX_LINE = 8192
_MAX_HEADERS = 100
_MAX_DISCARD = 256 * 1024
poll = getattr(select, "poll", None)  # no FD_SETSIZE limit, unlike select()


class TransportError(Exception):
    """`kind` is one of connect-timeout, read-timeout, connection, protocol."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class Stale(Exception):
    """The peer closed a reused connection before any response byte arrived."""


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class Connection:
    __slots__ = ("first_use", "origin", "rfile", "sock", "used")

    def __init__(self, origin: Origin, timeout: tuple[float, float], ctx: ssl.SSLContext | None):
        try:
            sock = socket.create_connection((origin.host, origin.port), timeout=timeout[0])
        except TimeoutError as exc:
            raise TransportError("connect-timeout", f"after {timeout[0]} s") from exc
        except OSError as exc:
            raise TransportError("connection", type(exc).__name__) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if origin.scheme == "https":
                sock = (ctx or ssl.create_default_context()).wrap_socket(sock, server_hostname=origin.host)
            sock.settimeout(timeout[1])
        except TimeoutError as exc:
            sock.close()
            raise TransportError("connect-timeout", "TLS handshake") from exc
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise TransportError("connection", type(exc).__name__) from exc
        self.origin = origin
        self.sock = sock
        self.rfile = sock.makefile("rb", buffering=16384)
        self.used = False
        self.first_use = True

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                self.rfile.close()
            with contextlib.suppress(OSError):
                sock.close()

    def is_dropped(self) -> bool:
        """An idle keep-alive socket that is readable was closed (or spoken to) by the peer."""
        if self.sock is None or self.sock.fileno() < 0:
            return True
        try:
            if poll is not None:
                p = poll()
                p.register(self.sock, select.POLLIN)
                return bool(p.poll(0))
            return bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def send(self, head: bytes, body: bytes) -> bool:
        """Write one request. False: this reused connection had been closed by the peer
        (it is closed here; the caller may retry on a fresh one)."""
        self.first_use, self.used = not self.used, True
        try:
            self.sock.sendall(head + body)
        except TimeoutError as exc:
            self.close()
            raise TransportError("read-timeout", "sending") from exc
        except OSError as exc:
            self.close()
            if not self.first_use and isinstance(exc, ConnectionError):
                return False
            raise TransportError("connection", type(exc).__name__) from exc
        return True

    def read_response(self) -> tuple[int, str | None, bool]:
        """(status, Retry-After or None, reusable); raises `Stale` when a reused connection
        was closed before any response byte (the request may be retried once)."""
        try:
            return self._read_response(self.first_use)
        except TimeoutError as exc:
            self.close()
            raise TransportError("read-timeout", "no response in time") from exc
        except ConnectionError as exc:
            self.close()
            if not self.first_use:
                raise Stale() from exc
            raise TransportError("connection", type(exc).__name__) from exc
        except OSError as exc:
            self.close()
            raise TransportError("connection", type(exc).__name__) from exc
        except ValueError as exc:
            self.close()
            raise TransportError("protocol", "malformed response") from exc
        except (TransportError, Stale):
            self.close()
            raise

    def _read_response(self, first_use: bool) -> tuple[int, str | None, bool]:
        rfile = self.rfile
        while True:
            line = rfile.readline(_MAX_LINE)
            if not line:
                if not first_use:
                    raise Stale()
                raise TransportError("connection", "closed before a response")
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                raise TransportError("protocol", "bad status line")
            status = int(parts[1])
            keep_alive = parts[0] != b"HTTP/1.0"
            length: int | None = None
            chunked = False
            retry_after = None
            for _ in range(_MAX_HEADERS):
                h = rfile.readline(_MAX_LINE)
                if h in (b"\r\n", b"\n"):
                    break
                if not h or not h.endswith(b"\n"):
                    raise TransportError("protocol", "truncated headers")
                name, _, value = h.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    tokens = value.lower()
                    if b"close" in tokens:
                        keep_alive = False
                    elif b"keep-alive" in tokens:
                        keep_alive = True
                elif name == b"retry-after":
                    retry_after = value.strip().decode("latin-1")
            else:
                raise TransportError("protocol", "too many headers")
            if 100 <= status < 200:
                continue  # interim response; the final one follows
            break
        if status in (204, 304):
            return status, retry_after, keep_alive
        if chunked:
            return status, retry_after, keep_alive and self._discard_chunked()
        if length is not None:
            if length > _MAX_DISCARD:
                return status, retry_after, False
            if length and len(rfile.read(length)) != length:
                raise TransportError("connection", "truncated body")
            return status, retry_after, keep_alive
        rfile.read(_MAX_DISCARD)  # close-delimited body
        return status, retry_after, False

    def _discard_chunked(self) -> bool:
        total = 0
        while True:
            size_line = self.rfile.readline(_MAX_LINE)
            size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                break
            total += size
            if total > _MAX_DISCARD:
                return False
            self.rfile.read(size + 2)
        while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return True
