"""A local Web Push service for tests and benchmarks (not shipped in the package).

Speaks enough of RFC 8030 (POST to the subscription URL, 201 Created with a Location) and
checks RFC 8292 VAPID (`Authorization: vapid t=<ES256 JWT>, k=<public key>`; `aud` equals
this service's origin, `exp` in the future and at most 24 h away, `sub` mailto: or https:),
the `TTL` header and `Content-Encoding: aes128gcm`. It keeps each subscription's private
key and auth secret, so `decrypt()` proves what a browser would have read (RFC 8291).

A small asyncio HTTP/1.1 server with keep-alive (an `asyncio.Protocol`: the streams API
costs this stand-in for a remote service about twice the CPU per request, which on a
benchmark's shared cores is taken from the sender), in a background thread::

    push_service = PushService.start()
    sub = push_service.new_subscription()      # {"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}
    ...
    push_service.stop()

`defer_checks=True` only records requests (the timed loop of a benchmark stays cheap) and
`verify_all()` does every check and decryption afterwards. The checks: pushservice_rfc.

Benchmarks: use `PushService.spawn()` (same API, child process, see pushservice_remote). In
a thread of the sender's own process the service's parsing and recording take GIL time that
is then counted against the sender (docs/BENCHMARKS.md has both rows); a real push service
never shares the sender's process.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from support.pushservice_rfc import Rejected, b64u, check_request

if TYPE_CHECKING:
    from support.pushservice_remote import RemotePushService


class Received:
    """One request as the service saw it: `headers` (lower-case names) are parsed from the
    raw head when first read, so recording a request costs the timed loop little."""

    __slots__ = ("_head", "_headers", "arrived", "body", "method", "path", "reason", "status")

    def __init__(
        self,
        path: str,
        headers: dict[str, str] | None,
        body: bytes,
        arrived: float,
        method: str = "POST",
        status: int = 0,
        reason: str = "",
        head: bytes = b"",
    ) -> None:
        self.path, self._headers, self.body, self.arrived = path, headers, body, arrived
        self.method, self.status, self.reason, self._head = method, status, reason, head

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = parse_headers(self._head)
        return self._headers


def parse_headers(head: bytes) -> dict[str, str]:
    """The header fields of a request head (without its request line), lower-case names."""
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


@dataclass
class _Subscription:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes


@dataclass
class _Behaviour:
    status: int
    retry_after: str | None
    hang_seconds: float | None
    times: int | None
    body: bytes = b""


@dataclass
class PushService:
    origin: str
    defer_checks: bool = False
    delay_s: float = 0.0  # every answer waits this long (a push service across the internet)
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    _subs: dict[str, _Subscription] = field(default_factory=dict)
    _behaviour: dict[str | None, _Behaviour] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tokens: dict[tuple[str, str], dict] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.AbstractServer | None = None
    _thread: threading.Thread | None = None
    _open: set[_Connection] = field(default_factory=set)
    _counter: int = 0
    # The delay line: answers waiting out `delay_s`, due in arrival order, so one timer (for
    # the first) serves them all; a timer per answer cost this stand-in about a third more
    # CPU per request at 100 ms, taken from the sender on a benchmark's shared cores.
    _delayed: collections.deque = field(default_factory=collections.deque)
    _delay_timer: asyncio.TimerHandle | None = None
    # Where every connection's reads land (the loop is one thread, and each read is copied
    # out at once): one buffer, not 64 KB per connection.
    _read_buffer: memoryview = field(default_factory=lambda: memoryview(bytearray(65536)))

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        defer_checks: bool = False,
        ssl_context=None,
        rtt_ms: float = 0,
    ) -> PushService:
        """Serve in a background thread (`ssl_context`: serve https; `rtt_ms`: answer each
        request that many milliseconds after it arrived, without holding up the others)."""
        push_service = cls(origin="", defer_checks=defer_checks, delay_s=rtt_ms / 1000)
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        async def serve() -> None:
            push_service._server = await loop.create_server(
                lambda: _Connection(push_service), host, port, backlog=1024, ssl=ssl_context
            )
            bound = push_service._server.sockets[0].getsockname()
            push_service.origin = f"{'https' if ssl_context else 'http'}://{host}:{bound[1]}"
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve())
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        push_service._loop = loop
        push_service._thread = threading.Thread(target=run, name="pushservice", daemon=True)
        push_service._thread.start()
        if not ready.wait(10):
            raise RuntimeError("push service did not start")
        return push_service

    @classmethod
    def spawn(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        defer_checks: bool = True,
        cpus: set[int] | None = None,
        rtt_ms: float = 0,
    ) -> RemotePushService:
        """The same service in a child process, for benchmarks: a real push service never
        shares the sender's CPU and GIL, and in a thread this one's own Python work is
        counted against the sender (a benchmark script needs an `if __name__ == "__main__"`
        guard, as the child is started with multiprocessing's spawn). `cpus` pins the child
        (Linux), e.g. the service on CPU 1 while the benchmark pins itself to CPU 0."""
        from support.pushservice_remote import RemotePushService

        return RemotePushService(host, port, defer_checks, cpus, rtt_ms)

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            self._server.close()
            for conn in list(self._open):
                conn.close()
            await self._server.wait_closed()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> PushService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls -----------------------------------------------------------------
    def new_subscription(self) -> dict:
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        path = "/wpush/v2/" + secrets.token_urlsafe(24)
        self._subs[path] = _Subscription(key, auth)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.origin + path, "keys": {"p256dh": b64u(public), "auth": b64u(auth)}}

    def new_subscriptions(self, n: int) -> list[dict]:
        return [self.new_subscription() for _ in range(n)]

    def set_behaviour(
        self,
        endpoint: str | None = None,
        status: int = 201,
        retry_after: float | str | None = None,
        hang_seconds: float | None = None,
        times: int | None = None,
        body: bytes = b"",
    ) -> None:
        """Answer `status` (after `hang_seconds`, with `body`) for one endpoint, or all when None.

        `times` limits how many requests it applies to; then the service answers 201 again.
        """
        key = None if endpoint is None else urlsplit(endpoint).path
        ra = None if retry_after is None else str(retry_after)
        with self._lock:
            self._behaviour[key] = _Behaviour(status, ra, hang_seconds, times, body)

    def drop_connections(self) -> None:
        """Close every open client connection (as a push service does with idle ones)."""

        async def drop() -> None:
            for conn in list(self._open):
                conn.close()

        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(5)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self._behaviour.clear()
        self.connections = 0

    # -- verification ------------------------------------------------------------------
    def check(self, rec: Received, now: float | None = None) -> None:
        """Raise `Rejected(status, reason)` when the request breaks RFC 8030/8291/8292."""
        now = time.time() if now is None else now
        check_request(
            rec.method, rec.path in self._subs, rec.headers, rec.body, self.origin, now, self._tokens
        )

    def decrypt(self, rec: Received) -> bytes:
        sub = self._subs[rec.path]
        return http_ece.decrypt(
            rec.body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm"
        )

    def verify_all(self) -> dict:
        """Check and decrypt every recorded request: {valid, invalid, reasons}."""
        reasons: Counter[str] = Counter()
        valid = 0
        for rec in list(self.received):
            try:
                self.check(rec, now=time.time())
                self.decrypt(rec)
            except Rejected as exc:
                reasons[exc.reason] += 1
            except Exception as exc:  # decryption failure
                reasons[f"decryption failed: {type(exc).__name__}"] += 1
            else:
                valid += 1
        return {"valid": valid, "invalid": sum(reasons.values()), "reasons": dict(reasons)}

    # -- HTTP --------------------------------------------------------------------------
    def _answer_after_delay(self, conn: _Connection, answer: bytes) -> None:
        loop = asyncio.get_running_loop()
        self._delayed.append((loop.time() + self.delay_s, conn, answer))
        if self._delay_timer is None:
            self._delay_timer = loop.call_at(self._delayed[0][0], self._release_delayed)

    def _release_delayed(self) -> None:
        """Send every answer whose delay is over, then wait for the next one's."""
        self._delay_timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        delayed = self._delayed
        while delayed and delayed[0][0] <= now:
            _due, conn, answer = delayed.popleft()
            conn._answer_later(answer)  # may queue that connection's next answer, due later
        if delayed:
            self._delay_timer = loop.call_at(delayed[0][0], self._release_delayed)

    def _respond_for(self, rec: Received) -> tuple[int, str | None, float | None, bytes]:
        if not self.defer_checks:
            try:
                self.check(rec)
            except Rejected as exc:
                rec.reason = exc.reason
                return exc.status, None, None, b""
        elif rec.path not in self._subs:
            rec.reason = "unknown subscription"
            return 404, None, None, b""
        with self._lock:
            for key in (rec.path, None):
                b = self._behaviour.get(key)
                if b is not None:
                    if b.times is not None:
                        b.times -= 1
                        if b.times <= 0:
                            del self._behaviour[key]
                    rec.reason = f"behaviour {b.status}"
                    return b.status, b.retry_after, b.hang_seconds, b.body
        return 201, None, None, b""

    def _response(self, status: int, retry_after: str | None, body: bytes = b"") -> bytes:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "X"
        extra = ""
        if status == 201:
            self._counter += 1
            extra = f"Location: {self.origin}/m/{self._counter}\r\n"
        if retry_after is not None:
            extra += f"Retry-After: {retry_after}\r\n"
        head = f"HTTP/1.1 {status} {phrase}\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
        return head.encode("latin-1") + body


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]+)[ \t]*(?:\r\n|$)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close[ \t]*(?:\r\n|$)", re.IGNORECASE)


def _content_length(head: bytes) -> int:
    match = _CONTENT_LENGTH.search(head)
    return int(match[1]) if match else 0


class _Connection(asyncio.BufferedProtocol):
    """One client connection: requests parsed as they arrive, answered in order (a request
    that waits for its answer, `delay_s` or a hang, holds back the ones behind it). Reads go
    into the service's read buffer (a plain Protocol gets a new 256 KB bytes object per
    read, which the allocator maps and unmaps each time)."""

    def __init__(self, service: PushService) -> None:
        self.service = service
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiting = False  # an answer is scheduled: parse nothing more until it is sent
        self.closing = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.service.connections += 1
        self.service._open.add(self)

    def connection_lost(self, exc) -> None:
        self.service._open.discard(self)
        self.transport = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.service._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.buf += self.service._read_buffer[:nbytes]
        if not self.waiting:
            self._serve()

    def _serve(self) -> None:
        """Answer every complete request in the buffer (stopping at one whose answer waits)."""
        service = self.service
        while self.transport is not None and not self.closing:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            try:
                method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
                length = _content_length(head)
            except ValueError:
                self.close()
                return
            if len(self.buf) < end + 4 + length:
                return  # the body is still coming
            body = bytes(self.buf[end + 4 : end + 4 + length])
            del self.buf[: end + 4 + length]
            path = target.split("?", 1)[0] if target.startswith("/") else urlsplit(target).path
            rec = Received(path, None, body, time.monotonic(), method, head=head)
            service.received.append(rec)
            status, retry_after, hang, answer_body = service._respond_for(rec)
            rec.status = status
            answer = service._response(status, retry_after, answer_body)
            self.closing = _CLOSE.search(head) is not None
            if hang:
                self.waiting = True
                asyncio.get_running_loop().call_later(hang + service.delay_s, self._answer_later, answer)
                return
            if service.delay_s:
                self.waiting = True
                service._answer_after_delay(self, answer)
                return
            self.transport.write(answer)
        if self.closing:
            self.close()

    def _answer_later(self, answer: bytes) -> None:
        self.waiting = False
        if self.transport is None:
            return
        self.transport.write(answer)
        if self.closing:
            self.close()
            return
        self._serve()
