"""Keep-alive connections per push-service origin, and the pipelined bulk sender.

`ConnectionPool.post` sends one request on a pooled connection. `post_many` keeps up to
`in_flight` requests outstanding on as many connections, in the calling thread, and pulls
the next request lazily from an iterator, so the caller encrypts message n+1 while the push
service answers message n: with a thread per request instead, every response waits for the
GIL held by an encrypting thread (docs/BENCHMARKS.md, "Web-push building blocks").
"""

from __future__ import annotations

import select
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from anagen.webpush.transport import Connection, Origin, Stale, TransportError, poll

Done = Callable[[Any, "int | None", "str | None", "TransportError | None"], None]


class ConnectionPool:
    """Idle keep-alive connections per origin: LIFO, at most `per_origin` kept idle."""

    def __init__(
        self,
        timeout: tuple[float, float],
        per_origin: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.timeout = timeout
        self.per_origin = per_origin
        if ssl_context is None:
            ssl_context = ssl.create_default_context()  # verifies certificates and host names
            ssl_context.set_alpn_protocols(["http/1.1"])
        self.ssl_context = ssl_context
        self._idle: dict[Origin, deque[Connection]] = {}
        self._lock = threading.Lock()
        self.opened = 0  # connections opened so far (keep-alive shows as few)

    def _new(self, origin: Origin) -> Connection:
        conn = Connection(origin, self.timeout, self.ssl_context)
        with self._lock:
            self.opened += 1
        return conn

    def _get(self, origin: Origin) -> Connection:
        idle = self._idle.get(origin)
        while idle:
            try:
                conn = idle.pop()
            except IndexError:
                break
            if not conn.is_dropped():
                return conn
            conn.close()
        return self._new(origin)

    def _put(self, conn: Connection) -> None:
        if conn.sock is None:
            return
        idle = self._idle.get(conn.origin)
        if idle is None:
            with self._lock:
                idle = self._idle.setdefault(conn.origin, deque())
        if len(idle) < self.per_origin:
            idle.append(conn)
        else:
            conn.close()

    def post(self, origin: Origin, head: bytes, body: bytes) -> tuple[int, str | None]:
        """POST on a pooled connection; return (status, Retry-After or None).

        A reused connection that the peer had closed before answering is retried once on a
        fresh one: delivery is at-least-once anyway, and the Topic header makes a rare
        duplicate replace the first copy on the device.
        """
        for conn in (self._get(origin), None):
            if conn is None:
                conn = self._new(origin)
            if not conn.send(head, body):
                continue
            try:
                status, retry_after, reusable = conn.read_response()
            except Stale:
                continue
            if reusable:
                self._put(conn)
            else:
                conn.close()
            return status, retry_after
        raise TransportError("connection", "closed before a response")

    def post_many(
        self, origin: Origin, requests: Iterator[tuple[Any, bytes, bytes]], done: Done, in_flight: int
    ) -> None:
        """POST every (key, head, body) from `requests`; `done(key, status, retry_after,
        error)` is called once per request as responses arrive or read deadlines pass."""
        if poll is None:  # no poll() on this platform: one request at a time
            for key, head, body in requests:
                try:
                    status, retry_after = self.post(origin, head, body)
                except TransportError as exc:
                    done(key, None, None, exc)
                else:
                    done(key, status, retry_after, None)
            return
        _Pipeline(self, origin, done, max(1, in_flight)).run(requests)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            while conns:
                conns.pop().close()


class _Pipeline:
    """One origin, one thread, up to `in_flight` requests outstanding."""

    def __init__(self, pool: ConnectionPool, origin: Origin, done: Done, in_flight: int) -> None:
        self.pool = pool
        self.origin = origin
        self.done = done
        self.in_flight = in_flight
        self.poller = poll()
        self.busy: dict[int, tuple[Connection, Any, bytes, bytes, float]] = {}
        # Connections that answered moments ago: reused without the dropped-check (a close
        # racing with reuse still surfaces as Stale and is retried once).
        self.ready: list[Connection] = []

    def run(self, requests: Iterator[tuple[Any, bytes, bytes]]) -> None:
        try:
            for key, head, body in requests:
                while len(self.busy) >= self.in_flight:
                    self.reap()
                self.start(key, head, body)
            while self.busy:
                self.reap()
        finally:
            for conn, *_ in self.busy.values():
                conn.close()
            for conn in self.ready:
                self.pool._put(conn)

    def start(self, key: Any, head: bytes, body: bytes) -> None:
        try:
            conn = self.ready.pop() if self.ready else self.pool._get(self.origin)
            if not conn.send(head, body):  # reused, found closed: once more on a fresh one
                conn = self.pool._new(self.origin)
                conn.send(head, body)
        except TransportError as exc:
            self.done(key, None, None, exc)
            return
        fd = conn.sock.fileno()
        self.busy[fd] = (conn, key, head, body, time.monotonic() + self.pool.timeout[1])
        self.poller.register(fd, select.POLLIN)

    def reap(self) -> None:
        """Wait for at least one response (or the earliest read deadline) and handle all
        that are ready."""
        first_deadline = min(entry[4] for entry in self.busy.values())
        wait_ms = max(0, int((first_deadline - time.monotonic()) * 1000) + 1)
        events = self.poller.poll(wait_ms)
        for fd, _ in events:
            self.finish(fd)
        if not events:
            now = time.monotonic()
            for fd, (conn, key, _h, _b, deadline) in list(self.busy.items()):
                if deadline <= now:
                    self.poller.unregister(fd)
                    del self.busy[fd]
                    conn.close()
                    self.done(key, None, None, TransportError("read-timeout", "no response in time"))

    def finish(self, fd: int) -> None:
        conn, key, head, body, _ = self.busy.pop(fd)
        self.poller.unregister(fd)
        try:
            status, retry_after, reusable = conn.read_response()
        except Stale:
            try:
                status, retry_after = self.pool.post(self.origin, head, body)
            except TransportError as exc:
                self.done(key, None, None, exc)
            else:
                self.done(key, status, retry_after, None)
            return
        except TransportError as exc:
            self.done(key, None, None, exc)
            return
        if reusable:
            self.ready.append(conn)
        else:
            conn.close()
        self.done(key, status, retry_after, None)
