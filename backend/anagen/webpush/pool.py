"""Keep-alive connections per push-service origin, and the pipelined bulk sender.

`ConnectionPool.post` sends one request on a pooled connection. `post_many` keeps up to
`in_flight` requests outstanding on as many connections, in the calling thread, and pulls
the next request lazily from an iterator, so the caller encrypts the next messages while the
push service answers the earlier ones: with a thread per request instead, every response
waits for the GIL held by an encrypting thread (docs/BENCHMARKS.md, "Reminder dispatch").

Each request has a total deadline (`timeout[1]` seconds from when it is sent, and never
past the caller's `stop_at`); a host's addresses are resolved and checked
(transport.public_addresses) once a minute per origin, and only checked addresses dialled.
"""

from __future__ import annotations

import select
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from anagen.webpush.transport import Answer, Connection, Origin, Stale, TransportError, poll, public_addresses

Done = Callable[[Any, "Answer | None", "TransportError | None"], None]
RESOLVE_TTL_S = 60.0
RECENT_IDLE_S = 1.0


class ConnectionPool:
    """Idle keep-alive connections per origin: LIFO, at most `per_origin` kept idle.

    `timeout` is (connect, request): the connection (TCP and TLS) within the first, each
    request's answer within the second from its sending. `allow_private`: dial loopback,
    private and link-local addresses too (the local test push service only)."""

    def __init__(
        self,
        timeout: tuple[float, float],
        per_origin: int,
        ssl_context: ssl.SSLContext | None = None,
        *,
        allow_private: bool = False,
    ) -> None:
        self.timeout = timeout
        self.per_origin = per_origin
        self.allow_private = allow_private
        if ssl_context is None:
            ssl_context = ssl.create_default_context()  # verifies certificates and host names
            ssl_context.set_alpn_protocols(["http/1.1"])
        self.ssl_context = ssl_context
        self._idle: dict[Origin, deque[Connection]] = {}
        self._resolved: dict[Origin, tuple[float, list[tuple]]] = {}
        self._lock = threading.Lock()
        self.opened = 0  # connections opened so far (keep-alive shows as few)

    def addresses(self, origin: Origin) -> list[tuple]:
        """The origin's checked addresses (cached for a minute)."""
        now = time.monotonic()
        cached = self._resolved.get(origin)
        if cached is not None and cached[0] > now:
            return cached[1]
        infos = public_addresses(origin.host, origin.port, self.allow_private)
        self._resolved[origin] = (now + RESOLVE_TTL_S, infos)
        return infos

    def _new(self, origin: Origin, deadline: float | None = None) -> Connection:
        conn = Connection(origin, self.addresses(origin), self.timeout[0], self.ssl_context, deadline)
        with self._lock:
            self.opened += 1
        return conn

    def _get(self, origin: Origin, deadline: float | None = None) -> Connection:
        idle = self._idle.get(origin)
        while idle:
            try:
                conn = idle.pop()
            except IndexError:
                break
            # A connection idle for under a second is reused without asking the kernel
            # whether the peer closed it (push services close idle ones after minutes; a
            # close racing with reuse surfaces as Stale and is retried once).
            recent = time.monotonic() - conn.idle_since < RECENT_IDLE_S and not conn.reader.buf
            if recent or not conn.is_dropped():
                return conn
            conn.close()
        return self._new(origin, deadline)

    def _put(self, conn: Connection) -> None:
        if conn.sock is None:
            return
        idle = self._idle.get(conn.origin)
        if idle is None:
            with self._lock:
                idle = self._idle.setdefault(conn.origin, deque())
        if len(idle) < self.per_origin:
            conn.idle_since = time.monotonic()
            idle.append(conn)
        else:
            conn.close()

    def post(self, origin: Origin, head: bytes, body: bytes, stop_at: float | None = None) -> Answer:
        """POST on a pooled connection and return the answer, within the request deadline.

        A reused connection that the peer had closed before answering is retried once on a
        fresh one: delivery is at-least-once anyway, and the Topic header makes a rare
        duplicate replace the first copy on the device.
        """
        deadline = time.monotonic() + self.timeout[1]
        if stop_at is not None:
            deadline = min(deadline, stop_at)
        for conn in (self._get(origin, deadline), None):
            if conn is None:
                conn = self._new(origin, deadline)
            if not conn.send(head, body, deadline):
                continue
            try:
                answer, reusable = conn.read_response(deadline)
            except Stale:
                continue
            if reusable:
                self._put(conn)
            else:
                conn.close()
            return answer
        raise TransportError("connection", "closed before a response")

    def post_many(
        self,
        origin: Origin,
        requests: Iterator[tuple[Any, bytes, bytes]],
        done: Done,
        in_flight: int,
        stop_at: float | None = None,
    ) -> None:
        """POST every (key, head, body) from `requests`; `done(key, answer, error)` is called
        once per request as answers arrive or deadlines pass. Past `stop_at` (a
        time.monotonic() instant) nothing more is sent and what is unanswered is abandoned
        (a read-timeout error each)."""
        if poll is None:  # no poll() on this platform: one request at a time
            for key, head, body in requests:
                try:
                    if stop_at is not None and time.monotonic() >= stop_at:
                        raise TransportError("read-timeout", "batch deadline")
                    answer = self.post(origin, head, body, stop_at)
                except TransportError as exc:
                    done(key, None, exc)
                else:
                    done(key, answer, None)
            return
        _Pipeline(self, origin, done, max(1, in_flight), stop_at).run(requests)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            while conns:
                conns.pop().close()


class _Poller:
    """Readiness of the connections in flight: epoll where there is one (Linux), whose wait
    costs by the answers ready, not by the connections waiting (a push service 100 ms away
    keeps hundreds in flight, and poll() would scan them all after every request); poll()
    elsewhere. Timeouts in milliseconds."""

    def __init__(self) -> None:
        epoll = getattr(select, "epoll", None)
        self._epoll = epoll() if epoll is not None else None
        self._poll = poll() if self._epoll is None else None

    def register(self, fd: int) -> None:
        if self._epoll is not None:
            self._epoll.register(fd, select.EPOLLIN)
        else:
            self._poll.register(fd, select.POLLIN)

    def unregister(self, fd: int) -> None:
        (self._epoll or self._poll).unregister(fd)

    def poll(self, timeout_ms: int) -> list[tuple[int, int]]:
        if self._epoll is not None:
            return self._epoll.poll(timeout_ms / 1000)
        return self._poll.poll(timeout_ms)

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()


class _Pipeline:
    """One origin, one thread, up to `in_flight` requests outstanding."""

    def __init__(
        self, pool: ConnectionPool, origin: Origin, done: Done, in_flight: int, stop_at: float | None
    ) -> None:
        self.pool = pool
        self.origin = origin
        self.done = done
        self.in_flight = in_flight
        self.stop_at = stop_at
        self.poller = _Poller()
        self.busy: dict[int, tuple[Connection, Any, bytes, bytes, float]] = {}
        # Connections that answered moments ago: reused without the dropped-check (a close
        # racing with reuse still surfaces as Stale and is retried once).
        self.ready: list[Connection] = []

    def _deadline(self) -> float:
        deadline = time.monotonic() + self.pool.timeout[1]
        return deadline if self.stop_at is None else min(deadline, self.stop_at)

    def run(self, requests: Iterator[tuple[Any, bytes, bytes]]) -> None:
        try:
            for key, head, body in requests:
                while len(self.busy) >= self.in_flight:
                    self.reap()
                if self.stop_at is not None and time.monotonic() >= self.stop_at:
                    self.done(key, None, TransportError("read-timeout", "batch deadline"))
                    continue
                self.start(key, head, body)
                # Collect the answers already in (no wait): their connections carry the
                # next requests, so a fast push service is served by a few connections,
                # not one per request in the window.
                if self.busy:
                    self.reap(0)
            while self.busy:
                self.reap()
        finally:
            for conn, *_ in self.busy.values():
                conn.close()
            for conn in self.ready:
                self.pool._put(conn)
            self.poller.close()

    def start(self, key: Any, head: bytes, body: bytes) -> None:
        deadline = self._deadline()
        try:
            conn = self.ready.pop() if self.ready else self.pool._get(self.origin, deadline)
            if not conn.send(head, body, deadline):  # reused, found closed: once more on a fresh one
                conn = self.pool._new(self.origin, deadline)
                conn.send(head, body, deadline)
        except TransportError as exc:
            self.done(key, None, exc)
            return
        fd = conn.sock.fileno()
        self.busy[fd] = (conn, key, head, body, deadline)
        self.poller.register(fd)

    def reap(self, wait_ms: int | None = None) -> None:
        """Wait for at least one response (or the earliest deadline; at most `wait_ms`
        when given) and handle all that are ready."""
        # `busy` is in sending order, and deadlines never decrease in sending order (each is
        # the send time plus the same timeout, capped by the same stop_at): the first entry
        # has the earliest deadline, and the expired ones are a prefix. A scan of every
        # request in flight per answer made a batch quadratic in its size.
        first_deadline = next(iter(self.busy.values()))[4]
        until_deadline_ms = max(0, int((first_deadline - time.monotonic()) * 1000) + 1)
        events = self.poller.poll(until_deadline_ms if wait_ms is None else min(wait_ms, until_deadline_ms))
        for fd, _ in events:
            self.finish(fd)
        now = time.monotonic()
        while self.busy:
            fd, (conn, key, _h, _b, deadline) = next(iter(self.busy.items()))
            if deadline > now:
                break
            self.poller.unregister(fd)
            del self.busy[fd]
            conn.close()
            self.done(key, None, TransportError("read-timeout", "no response in time"))

    def finish(self, fd: int) -> None:
        conn, key, head, body, deadline = self.busy.pop(fd)
        self.poller.unregister(fd)
        try:
            answer, reusable = conn.read_response(deadline)
        except Stale:
            try:
                answer = self.pool.post(self.origin, head, body, self.stop_at)
            except TransportError as exc:
                self.done(key, None, exc)
            else:
                self.done(key, answer, None)
            return
        except TransportError as exc:
            self.done(key, None, exc)
            return
        if reusable:
            self.ready.append(conn)
        else:
            conn.close()
        self.done(key, answer, None)
