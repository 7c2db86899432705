"""Web Push delivery: aes128gcm payload (RFC 8291), VAPID (RFC 8292), POST (RFC 8030).

Pure of the database and of Flask: the dispatcher passes `PushMessage`s and gets one
`PushResult` per message back, in order, and decides what to store or retry.

Libraries where they do the job, own code where the hot path needs it:
- the payload is ece.py's aes128gcm (RFC 8291), on `cryptography`'s primitives (see there
  why not pywebpush's `WebPusher.encode`), with each subscription's keys decoded and checked
  once per device, not once per message (`Receiver`);
- the VAPID header is py-vapid's JWT, signed once per push-service origin (`VapidHeaderCache`);
- requests go over pooled keep-alive connections of transport.py (see there why not
  `requests`, pywebpush's transport), with request heads built as one bytes string;
- `send_many` pipelines each push-service origin's messages in one thread (pool.py),
  origins in parallel on an executor the sender owns, all of them stopping at the caller's
  deadline; an origin that timed out is paused for `pause_after_timeout` seconds (its
  messages come back as RETRY at once), so a hanging push service delays only its own.
docs/BENCHMARKS.md has the measurements behind these choices.

Logging names only the occurrence id, the status, a 4xx answer's reason and the push-service
origin: the endpoint path is a capability URL, and keys and payloads are never logged.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from anagen.webpush import ece
from anagen.webpush.endpoints import endpoint_problem
from anagen.webpush.messages import (
    MAX_ENCRYPTED_BYTES,
    URGENCIES,
    Outcome,
    PushMessage,
    PushResult,
    SubscriptionInfo,
    classify,
    safe_topic,
)
from anagen.webpush.pool import ConnectionPool
from anagen.webpush.transport import Answer, Origin, TransportError
from anagen.webpush.vapid import VapidHeaderCache, VapidKeys

log = logging.getLogger(__name__)

_PATH_SAFE = re.compile(r"^/[!-~]*$")  # printable ASCII, no space/CR/LF (no header injection)
_HOST_SAFE = re.compile(r"^[a-z0-9.:_-]+$")
_CACHE_LIMIT = 100_000
_RECEIVER_LIMIT = 20_000  # decoded keys of so many devices (about 300 bytes each)
# Requests in flight per origin (and idle connections kept per origin): push services are
# 50-150 ms away, and one request at a time per connection. 256 per sender worker carries
# 256 / 0.15 s = 1,700 msg/s per worker at the farthest, more than a core encrypts, with half
# the cold connections of a whole batch in flight (docs/BENCHMARKS.md, "Reminder dispatch").
DEFAULT_IN_FLIGHT = 256
# Messages encrypted in one run before their requests go out. Encrypting one message, then
# sending it and reading answers, then encrypting the next, made each message cost ~255 µs
# of CPU against ~130 µs for encryption alone and ~40 µs for the HTTP: the two kept evicting
# each other's code and data from the core's caches. In runs of 64 it is ~175 µs, at 0 and
# at 100 ms, and the first request of a batch waits ~10 ms (docs/BENCHMARKS.md).
ENCRYPT_AHEAD = 64
_TIMEOUTS = ("connect-timeout", "read-timeout")


class _Invalid(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Route:
    origin: Origin
    aud: str  # scheme://host[:port], the JWT audience and the only part that is logged
    head_prefix: str  # "POST <path> HTTP/1.1\r\nHost: ...\r\n"


_FIXED_HEADERS = "Content-Encoding: aes128gcm\r\nContent-Type: application/octet-stream\r\n"


class WebPushSender:
    """Encrypts, signs and sends push messages over pooled keep-alive connections.

    `timeout` is (connect, request) in seconds: TCP and TLS within the first, each answer
    within the second from the request's sending (a total, however slowly it trickles in).
    `pool_per_origin` is both how many requests `send_many` keeps in flight per push-service
    origin and how many idle connections are kept per origin (default `DEFAULT_IN_FLIGHT`).
    `max_workers` bounds how many origins `send_many` serves at once (the sender's own
    executor). `allow_http` is the local-test mode: it admits the local test push service's
    endpoints (http, IP literals, any port, loopback and private addresses); otherwise only
    `https://<public DNS name>` is called (endpoints.py). `ssl_context` replaces the default
    (system CAs, host-name checks), e.g. for a test service's self-signed certificate.
    `pause_after_timeout`: seconds an origin that timed out gets no requests. `transport`:
    "native" (pool.py) or "aiohttp" (aiohttp_pool.py, the measured alternative). Thread-safe;
    `close()` when done.
    """

    def __init__(
        self,
        vapid_keys: VapidKeys,
        subject: str,
        *,
        max_workers: int = 16,
        timeout: tuple[float, float] = (3.05, 10.0),
        pool_per_origin: int | None = None,
        allow_http: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        header_cache: VapidHeaderCache | None = None,
        pause_after_timeout: float = 30.0,
        transport: str = "native",
    ) -> None:
        self.headers = header_cache or VapidHeaderCache(vapid_keys, subject)
        self.max_workers = max_workers
        self.allow_http = allow_http
        self.pause_after_timeout = pause_after_timeout
        self._paused: dict[Origin, float] = {}
        if transport == "aiohttp":  # the measured alternative (aiohttp_pool.py)
            from anagen.webpush.aiohttp_pool import AiohttpPool

            pool_class = AiohttpPool
        elif transport == "native":
            pool_class = ConnectionPool
        else:
            raise ValueError(f"unknown push transport {transport!r}")
        self.pool = pool_class(
            timeout, pool_per_origin or DEFAULT_IN_FLIGHT, ssl_context, allow_private=allow_http
        )
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="push-sender")
        self._routes: dict[str, _Route] = {}
        self._receivers: dict[SubscriptionInfo, ece.Receiver] = {}
        self._closed = False

    # -- building blocks ---------------------------------------------------------------
    def _route(self, endpoint: str) -> _Route:
        route = self._routes.get(endpoint)
        if route is None:
            try:
                parts = urlsplit(endpoint)
                port = parts.port
                host = parts.hostname
            except ValueError:
                raise _Invalid("invalid endpoint URL") from None
            scheme = parts.scheme.lower()
            problem = endpoint_problem(endpoint, self.allow_http)
            if problem is not None:
                raise _Invalid(f"endpoint refused: {problem}")
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            bad_host = not host or not _HOST_SAFE.match(host) or parts.username or parts.password
            if bad_host or not _PATH_SAFE.match(path):
                raise _Invalid("invalid endpoint URL")
            origin = Origin(scheme, host, port or (443 if scheme == "https" else 80))
            aud = f"{scheme}://{origin.host_header}"  # no default port: it must equal the origin
            prefix = f"POST {path} HTTP/1.1\r\nHost: {origin.host_header}\r\n"
            route = _Route(origin, aud, prefix)
            if len(self._routes) >= _CACHE_LIMIT:
                self._routes.clear()
            self._routes[endpoint] = route
        return route

    def _receiver(self, sub: SubscriptionInfo) -> ece.Receiver:
        """The subscription's decoded keys, made (and checked) on first use."""
        receiver = self._receivers.get(sub)
        if receiver is None:
            try:
                receiver = ece.Receiver.from_subscription(sub.p256dh, sub.auth)
            except ece.InvalidKeys as exc:
                what = "auth secret" if exc.key == "auth" else "keys"
                raise _Invalid(f"invalid subscription {what}") from None
            if len(self._receivers) >= _RECEIVER_LIMIT:
                self._receivers.clear()
            self._receivers[sub] = receiver
        return receiver

    def _plaintext(self, msg: PushMessage) -> bytes:
        try:
            return msg.plaintext()
        except (TypeError, ValueError):
            raise _Invalid("payload is not JSON-serialisable") from None

    def encrypt_only(self, msg: PushMessage) -> bytes:
        """The aes128gcm body exactly as `send` makes it (the benchmark's crypto baseline)."""
        return ece.encrypt(self._plaintext(msg), self._receiver(msg.subscription))

    def _request(self, msg: PushMessage) -> tuple[_Route, bytes, bytes]:
        if msg.urgency not in URGENCIES:
            raise _Invalid("invalid Urgency")
        if not isinstance(msg.ttl, int) or msg.ttl < 0:
            raise _Invalid("invalid TTL")
        route = self._route(msg.subscription.endpoint)
        body = self.encrypt_only(msg)
        if len(body) > MAX_ENCRYPTED_BYTES:
            raise _Invalid(f"payload too large ({len(body)} bytes encrypted, max 4096)")
        head = (
            f"{route.head_prefix}Authorization: {self.headers.header(route.aud)}\r\n"
            f"TTL: {msg.ttl}\r\nUrgency: {msg.urgency}\r\n"
            f"Topic: {safe_topic(msg.topic or msg.occurrence_id)}\r\n"
            f"{_FIXED_HEADERS}Content-Length: {len(body)}\r\n\r\n"
        )
        return route, head.encode("latin-1"), body

    # -- sending -----------------------------------------------------------------------
    def _result(self, occ: str, aud: str, answer: Answer | None, error: Exception | None) -> PushResult:
        if isinstance(error, _Invalid):
            log.error("push not sent (configuration): occurrence=%s origin=%s %s", occ, aud, error)
            return PushResult(occ, Outcome.CONFIG_ERROR, None, None, str(error))
        if isinstance(error, TransportError) and error.kind == "forbidden-address":
            log.error("push not sent (configuration): occurrence=%s origin=%s %s", occ, aud, error)
            return PushResult(occ, Outcome.CONFIG_ERROR, None, None, str(error))
        if isinstance(error, TransportError):
            log.info("push to retry: occurrence=%s origin=%s %s", occ, aud, error.kind)
            return PushResult(occ, Outcome.RETRY, None, None, str(error))
        if error is not None or answer is None:
            log.error("push failed: occurrence=%s origin=%s %s", occ, aud, type(error).__name__)
            return PushResult(occ, Outcome.RETRY, None, None, f"internal error {type(error).__name__}")
        status = answer.status
        outcome, retry_after_s = classify(status, answer.retry_after)
        reason = f"HTTP {status}" if not answer.reason else f"HTTP {status} {answer.reason}"
        if outcome is Outcome.CONFIG_ERROR:
            log.error(
                "push refused (configuration): occurrence=%s status=%s origin=%s reason=%s",
                occ,
                status,
                aud,
                answer.reason or "-",
            )
        elif outcome is not Outcome.SENT:
            log.info(
                "push %s: occurrence=%s status=%s origin=%s reason=%s",
                outcome,
                occ,
                status,
                aud,
                answer.reason or "-",
            )
        return PushResult(occ, outcome, status, retry_after_s, reason)

    def send(self, msg: PushMessage) -> PushResult:
        """Send one message; never raises for a message that cannot be sent."""
        if self._closed:
            raise RuntimeError("sender is closed")
        aud = "-"
        try:
            route, head, body = self._request(msg)
            aud = route.aud
            answer = self.pool.post(route.origin, head, body)
        except Exception as exc:  # _Invalid, TransportError, or a bug: never raise per message
            return self._result(msg.occurrence_id, aud, None, exc)
        return self._result(msg.occurrence_id, aud, answer, None)

    def send_many(self, msgs: Iterable[PushMessage], timeout: float | None = None) -> list[PushResult]:
        """Send all; results in the input order, within `timeout` seconds when given (what
        is not answered by then comes back as RETRY).

        Messages are grouped by push-service origin; each group runs on one of the sender's
        workers as a pipeline (`ConnectionPool.post_many`): up to `pool_per_origin` requests
        in flight on keep-alive connections while the next messages are being encrypted (in
        runs of `ENCRYPT_AHEAD`; none once the deadline has passed).
        Groups (FCM, Mozilla, Apple, ...) run in parallel, so a slow one delays only its own.
        """
        if self._closed:
            raise RuntimeError("sender is closed")
        stop_at = None if timeout is None else time.monotonic() + timeout
        msgs = list(msgs)
        results: list[PushResult | None] = [None] * len(msgs)
        groups: dict[Origin, list[int]] = {}
        for i, msg in enumerate(msgs):
            try:
                groups.setdefault(self._route(msg.subscription.endpoint).origin, []).append(i)
            except _Invalid as exc:
                results[i] = self._result(msg.occurrence_id, "-", None, exc)
        futures = [
            self._executor.submit(self._send_group, origin, idxs, msgs, results, stop_at)
            for origin, idxs in groups.items()
        ]
        for f in futures:
            f.result()
        for i, r in enumerate(results):
            if r is None:  # only if a group died of a bug: make it visible, retry later
                results[i] = self._result(msgs[i].occurrence_id, "-", None, RuntimeError())
        return results  # type: ignore[return-value]

    def _send_group(
        self, origin: Origin, idxs: list[int], msgs: list[PushMessage], results: list, stop_at: float | None
    ) -> None:
        aud = self._route(msgs[idxs[0]].subscription.endpoint).aud
        paused_until = self._paused.get(origin, 0.0)
        wait = paused_until - time.monotonic()
        if wait > 0:
            log.info("push origin paused after a timeout: origin=%s messages=%d", aud, len(idxs))
            for i in idxs:
                results[i] = PushResult(msgs[i].occurrence_id, Outcome.RETRY, None, wait, "origin paused")
            return
        timed_out = False

        def requests() -> Iterator[tuple[int, bytes, bytes]]:
            for start in range(0, len(idxs), ENCRYPT_AHEAD):
                if stop_at is not None and time.monotonic() >= stop_at:
                    for i in idxs[start:]:  # not encrypted for nothing: it could not be sent
                        done(i, None, TransportError("read-timeout", "batch deadline"))
                    return
                run = []
                for i in idxs[start : start + ENCRYPT_AHEAD]:
                    try:
                        _route, head, body = self._request(msgs[i])
                    except Exception as exc:
                        results[i] = self._result(msgs[i].occurrence_id, aud, None, exc)
                        continue
                    run.append((i, head, body))
                yield from run

        def done(i: int, answer: Answer | None, error: Exception | None) -> None:
            nonlocal timed_out
            if isinstance(error, TransportError) and error.kind in _TIMEOUTS:
                timed_out = True
            results[i] = self._result(msgs[i].occurrence_id, aud, answer, error)

        try:
            self.pool.post_many(origin, requests(), done, self.pool.per_origin, stop_at)
        except Exception:
            log.exception("push pipeline failed: origin=%s", aud)
        if timed_out and self.pause_after_timeout > 0:
            self._paused[origin] = time.monotonic() + self.pause_after_timeout

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=True)
        self.pool.close()

    def __enter__(self) -> WebPushSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
