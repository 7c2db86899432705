"""A small keep-alive HTTP/1.1 connection for POSTing to push services (pooled in pool.py).

Why not `requests` (pywebpush's transport) or `http.client`: push delivery is one tiny POST
per message, and a client's own Python work per request is the bottleneck under the GIL;
against the local push service this client carries several times the requests per second
of either (the numbers, aiohttp's included: docs/BENCHMARKS.md, "Reminder dispatch").

What it does: one request at a time per connection, `Content-Length` bodies out; responses
with `Content-Length`, chunked or close-delimited bodies; interim 1xx responses skipped; TLS
with certificate and host-name verification through `ssl`. Deadlines are totals, not per
`recv`: the connection (DNS, TCP, TLS) within the connect timeout, and the answer within the
request's deadline however slowly its bytes trickle in. Bodies are discarded, except the
first KB of a 4xx answer, whose `reason` is kept (`reason_of`). Before connecting, the host's
addresses are checked (`public_addresses`): only public ones are dialled (the address checked
is the address connected to), unless the sender runs in local-test mode.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import select
import socket
import ssl
import time
from dataclasses import dataclass

_MAX_LINE = 8192
_MAX_HEADERS = 100
_MAX_DISCARD = 256 * 1024
_MAX_HEAD = 64 * 1024  # a response head longer than this is refused
_HEAD_END = re.compile(rb"\r?\n\r?\n")
REASON_BYTES = 1024  # of a 4xx answer's body, read for its reason
poll = getattr(select, "poll", None)  # no FD_SETSIZE limit, unlike select()


class TransportError(Exception):
    """`kind` is one of connect-timeout, read-timeout, connection, protocol, forbidden-address."""

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


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    retry_after: str | None = None
    reason: str | None = None  # a 4xx answer's reason (e.g. Apple's "BadJwtToken")


def is_public(address: str) -> bool:
    """A globally routable unicast address (not loopback, private, link-local, multicast...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def public_addresses(host: str, port: int, allow_private: bool) -> list[tuple]:
    """The host's socket addresses to dial; TransportError("forbidden-address") when any of
    them is not public (a name that also points inside is refused whole), unless
    `allow_private`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransportError("connection", "name not resolved") from exc
    except OSError as exc:
        raise TransportError("connection", type(exc).__name__) from exc
    if not infos:
        raise TransportError("connection", "name not resolved")
    if not allow_private and not all(is_public(info[4][0]) for info in infos):
        raise TransportError("forbidden-address", "the push service resolves to a non-public address")
    return infos


_REASON_SAFE = re.compile(r"[^A-Za-z0-9 _.,:()'-]")


def reason_of(body: bytes) -> str | None:
    """The reason a push service gives in a 4xx answer's body: Apple's {"reason": ...},
    FCM's {"error": {"status", "message"}}, Mozilla's {"errno", "message"}, else a short
    text. Only plain characters, at most 120, and never anything URL-like (a service may
    echo the endpoint)."""
    text = body[:REASON_BYTES].decode("utf-8", "replace").strip()
    if not text:
        return None
    reason = None
    with contextlib.suppress(ValueError, TypeError):
        data = json.loads(text)
        if isinstance(data, dict):
            error = data.get("error")
            if isinstance(error, dict):
                reason = " ".join(str(error[k]) for k in ("status", "message") if error.get(k))
            elif data.get("reason"):
                reason = str(data["reason"])
            elif data.get("message") or data.get("errno"):
                reason = " ".join(str(data[k]) for k in ("errno", "message") if data.get(k))
            elif error:
                reason = str(error)
    if reason is None and not text.startswith(("{", "[", "<")):
        reason = text
    if not reason:
        return None
    words = [w for w in reason.split() if "/" not in w and "@" not in w]
    cleaned = _REASON_SAFE.sub("", " ".join(words))[:120].strip()
    return cleaned or None


class _Reader:
    """Buffered reads from a socket, every one bounded by one absolute deadline."""

    __slots__ = ("buf", "deadline", "sock")

    def __init__(self, sock) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.deadline = 0.0

    def _fill(self) -> bool:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError()
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def readline(self, limit: int) -> bytes:
        while True:
            end = self.buf.find(b"\n", 0, limit)
            if end >= 0:
                line = bytes(self.buf[: end + 1])
                del self.buf[: end + 1]
                return line
            if len(self.buf) >= limit or not self._fill():
                line = bytes(self.buf[:limit])
                del self.buf[:limit]
                return line

    def read_head(self, limit: int) -> bytes | None:
        """Everything up to and including the blank line that ends a response head (CRLF or
        bare LF line ends), or what came before the peer closed; None if it is longer than
        `limit`. One search per read, not one call per line."""
        start = 0
        while True:
            match = _HEAD_END.search(self.buf, start)
            if match is not None:
                head = bytes(self.buf[: match.end()])
                del self.buf[: match.end()]
                return head
            if len(self.buf) > limit:
                return None
            start = max(0, len(self.buf) - 3)
            if not self._fill():
                head = bytes(self.buf)
                self.buf.clear()
                return head

    def read(self, n: int) -> bytes:
        while len(self.buf) < n and self._fill():
            pass
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def skip(self, n: int) -> int:
        """Discard up to n bytes; how many were discarded."""
        done = 0
        while done < n:
            if not self.buf and not self._fill():
                break
            take = min(n - done, len(self.buf))
            del self.buf[:take]
            done += take
        return done

    def drain(self, limit: int) -> None:
        """Discard until the peer closes (at most `limit` bytes)."""
        self.skip(limit)


class Connection:
    __slots__ = ("first_use", "idle_since", "origin", "reader", "sock", "used")

    def __init__(
        self,
        origin: Origin,
        infos: list[tuple],
        connect_timeout: float,
        ctx: ssl.SSLContext | None,
        deadline: float | None = None,
    ):
        """Dial the origin at one of `infos` (checked by `public_addresses`), TCP and TLS
        within `connect_timeout` (and by `deadline`, a time.monotonic() instant, when given)."""
        start = time.monotonic()
        until = start + connect_timeout if deadline is None else min(start + connect_timeout, deadline)
        sock = None
        last: OSError | None = None
        for family, kind, proto, _name, address in infos:
            remaining = until - time.monotonic()
            if remaining <= 0:
                raise TransportError("connect-timeout", f"after {connect_timeout} s")
            candidate = socket.socket(family, kind, proto)
            try:
                candidate.settimeout(remaining)
                candidate.connect(address)
            except TimeoutError as exc:
                candidate.close()
                raise TransportError("connect-timeout", f"after {connect_timeout} s") from exc
            except OSError as exc:
                candidate.close()
                last = exc
                continue
            sock = candidate
            break
        if sock is None:
            raise TransportError("connection", type(last).__name__ if last else "no address")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if origin.scheme == "https":
                sock.settimeout(max(0.001, until - time.monotonic()))
                sock = (ctx or ssl.create_default_context()).wrap_socket(sock, server_hostname=origin.host)
        except TimeoutError as exc:
            sock.close()
            raise TransportError("connect-timeout", "TLS handshake") from exc
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise TransportError("connection", type(exc).__name__) from exc
        self.origin = origin
        self.sock = sock
        self.reader = _Reader(sock)
        self.used = False
        self.first_use = True
        self.idle_since = 0.0  # time.monotonic() when it last went back to the pool

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def is_dropped(self) -> bool:
        """An idle keep-alive socket that is readable was closed (or spoken to) by the peer."""
        if self.sock is None or self.sock.fileno() < 0:
            return True
        if self.reader.buf:
            return True  # bytes nobody asked for
        try:
            if poll is not None:
                p = poll()
                p.register(self.sock, select.POLLIN)
                return bool(p.poll(0))
            return bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def send(self, head: bytes, body: bytes, deadline: float) -> bool:
        """Write one request by `deadline` (time.monotonic()). False: this reused connection
        had been closed by the peer (it is closed here; the caller may retry on a fresh one)."""
        self.first_use, self.used = not self.used, True
        try:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
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

    def read_response(self, deadline: float) -> tuple[Answer, bool]:
        """(answer, reusable), all of it by `deadline` (time.monotonic()); raises `Stale` when
        a reused connection was closed before any response byte (the request may be retried
        once)."""
        self.reader.deadline = deadline
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

    def _read_response(self, first_use: bool) -> tuple[Answer, bool]:
        reader = self.reader
        while True:
            head = reader.read_head(_MAX_HEAD)
            if head is None:
                raise TransportError("protocol", "response head too long")
            if not head:
                if not first_use:
                    raise Stale()
                raise TransportError("connection", "closed before a response")
            lines = head.split(b"\n")
            if len(lines) < 3 or lines[-1] or lines[-2].strip():
                raise TransportError("protocol", "truncated headers")  # no blank line at the end
            if len(lines) - 3 > _MAX_HEADERS:
                raise TransportError("protocol", "too many headers")
            parts = lines[0].split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                raise TransportError("protocol", "bad status line")
            status = int(parts[1])
            keep_alive = parts[0] != b"HTTP/1.0"
            length: int | None = None
            chunked = False
            retry_after = None
            for h in lines[1:-2]:
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
            if 100 <= status < 200:
                continue  # interim response; the final one follows
            break
        keep = REASON_BYTES if 400 <= status < 500 else 0
        if status in (204, 304):
            return Answer(status, retry_after), keep_alive
        if chunked:
            reusable, body = self._chunked(keep)
            return Answer(status, retry_after, reason_of(body) if keep else None), keep_alive and reusable
        if length is not None:
            if length < 0:
                raise ValueError("negative length")
            body = reader.read(min(length, keep)) if keep else b""
            rest = length - len(body)
            if rest > _MAX_DISCARD:
                return Answer(status, retry_after, reason_of(body) if keep else None), False
            if reader.skip(rest) != rest or len(body) != min(length, keep):
                raise TransportError("connection", "truncated body")
            return Answer(status, retry_after, reason_of(body) if keep else None), keep_alive
        body = reader.read(keep) if keep else b""
        reader.drain(_MAX_DISCARD)  # close-delimited body
        return Answer(status, retry_after, reason_of(body) if keep else None), False

    def _chunked(self, keep: int) -> tuple[bool, bytes]:
        """Read a chunked body, keeping its first `keep` bytes: (reusable, kept bytes)."""
        total = 0
        kept = bytearray()
        reader = self.reader
        while True:
            size_line = reader.readline(_MAX_LINE)
            size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                break
            total += size
            if total > _MAX_DISCARD:
                return False, bytes(kept)
            if len(kept) < keep:
                piece = reader.read(min(size, keep - len(kept)))
                kept += piece
                size -= len(piece)
            reader.skip(size + 2)
        while reader.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return True, bytes(kept)
