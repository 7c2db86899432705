"""The same pool interface as pool.ConnectionPool, on aiohttp's client (`transport="aiohttp"`).

Kept as the measured alternative to the hand-written client (docs/BENCHMARKS.md, "Reminder
dispatch", compares them at 0 and 100 ms from the push service). One event loop per pool, in
a thread of its own; `post_many` hands it the caller's lazy request iterator, so encryption
runs on the loop between I/O events, as in the pipelined pool. The same limits hold: a total
deadline per request (`ClientTimeout`), a 4xx answer's first KB read for its reason, and a
resolver that dials only public addresses (transport.public_addresses) unless local-test
mode allows others.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver

from anagen.webpush.pool import Done
from anagen.webpush.transport import REASON_BYTES, Answer, Origin, TransportError, public_addresses, reason_of

_SKIP = {b"host", b"content-length"}


class _CheckingResolver(AbstractResolver):
    """Resolves with getaddrinfo (in a thread) and refuses non-public addresses."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        infos = await asyncio.get_running_loop().run_in_executor(
            None, public_addresses, host, port, self.allow_private
        )
        return [
            {
                "hostname": host,
                "host": info[4][0],
                "port": info[4][1],
                "family": info[0],
                "proto": info[2],
                "flags": socket.AI_NUMERICHOST,
            }
            for info in infos
        ]

    async def close(self) -> None:
        return None


def _split(head: bytes) -> tuple[str, dict[str, str]]:
    """The path and headers of a request head built by the sender."""
    lines = head.split(b"\r\n")
    path = lines[0].split(b" ", 2)[1].decode("latin-1")
    headers = {}
    for line in lines[1:]:
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() not in _SKIP:
            headers[name.strip().decode("latin-1")] = value.strip().decode("latin-1")
    return path, headers


class AiohttpPool:
    """`post` / `post_many` / `close` with `opened`, `per_origin` and `timeout` as in
    pool.ConnectionPool."""

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
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.opened = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="push-aiohttp", daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession = asyncio.run_coroutine_threadsafe(
            self._make_session(), self._loop
        ).result()

    async def _make_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=0,
            limit_per_host=self.per_origin,
            ssl=self.ssl_context,
            resolver=_CheckingResolver(self.allow_private),
            ttl_dns_cache=60,
        )
        trace = aiohttp.TraceConfig()

        async def counted(_session, _ctx, _params) -> None:
            self.opened += 1

        trace.on_connection_create_end.append(counted)
        return aiohttp.ClientSession(
            connector=connector,
            trace_configs=[trace],
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            auto_decompress=False,
        )

    async def _one(self, origin: Origin, head: bytes, body: bytes, stop_at: float | None) -> Answer:
        total = self.timeout[1]
        if stop_at is not None:
            total = min(total, stop_at - time.monotonic())
            if total <= 0:
                raise TransportError("read-timeout", "batch deadline")
        path, headers = _split(head)
        url = f"{origin.scheme}://{origin.host_header}{path}"
        timeout = aiohttp.ClientTimeout(total=total, connect=self.timeout[0])
        try:
            async with self._session.post(url, data=body, headers=headers, timeout=timeout) as response:
                reason = None
                if 400 <= response.status < 500:
                    reason = reason_of(await response.content.read(REASON_BYTES))
                return Answer(response.status, response.headers.get("Retry-After"), reason)
        except TimeoutError as exc:
            raise TransportError("read-timeout", "no response in time") from exc
        except TransportError:
            raise
        except aiohttp.ClientConnectorError as exc:
            cause = exc.__cause__ or exc.os_error
            if isinstance(cause, TransportError):
                raise cause from exc
            raise TransportError("connection", type(cause).__name__) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError("connection", type(exc).__name__) from exc

    async def _many(self, origin, requests, done: Done, in_flight: int, stop_at) -> None:
        gate = asyncio.Semaphore(in_flight)
        tasks = set()

        async def one(key, head, body) -> None:
            try:
                answer = await self._one(origin, head, body, stop_at)
            except TransportError as exc:
                done(key, None, exc)
            else:
                done(key, answer, None)
            finally:
                gate.release()

        for key, head, body in requests:
            await gate.acquire()
            task = asyncio.create_task(one(key, head, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    def post(self, origin: Origin, head: bytes, body: bytes, stop_at: float | None = None) -> Answer:
        """POST one request and return its answer."""
        return asyncio.run_coroutine_threadsafe(self._one(origin, head, body, stop_at), self._loop).result()

    def post_many(
        self,
        origin: Origin,
        requests: Iterator[tuple[Any, bytes, bytes]],
        done: Done,
        in_flight: int,
        stop_at: float | None = None,
    ) -> None:
        """As ConnectionPool.post_many: `done(key, answer, error)` once per request."""
        asyncio.run_coroutine_threadsafe(
            self._many(origin, requests, done, max(1, in_flight), stop_at), self._loop
        ).result()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
