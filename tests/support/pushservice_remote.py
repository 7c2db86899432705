"""`PushService.spawn()`: the local push service in a child process (for benchmarks)."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os

from support.pushservice import PushService


class RemotePushService:
    """A `PushService` in a child process: same methods; attributes are fetched on access."""

    def __init__(
        self, host: str, port: int, defer_checks: bool, cpus: set[int] | None = None, rtt_ms: float = 0
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_child, args=(child, host, port, defer_checks, cpus, rtt_ms), daemon=True
        )
        self._proc.start()
        child.close()
        if not self._conn.poll(30):
            raise RuntimeError("push service process did not start")
        self.origin = self._conn.recv()

    def _call(self, name: str, *args, **kwargs):
        self._conn.send((name, args, kwargs))
        ok, value = self._conn.recv()
        if not ok:
            raise value
        return value

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in ("received", "connections", "defer_checks"):
            return self._call(name)
        return functools.partial(self._call, name)

    def stop(self) -> None:
        if self._proc.is_alive():
            with contextlib.suppress(OSError, EOFError):
                self._call("stop")
            self._proc.join(10)
        self._conn.close()

    def __enter__(self) -> RemotePushService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child(conn, host: str, port: int, defer_checks: bool, cpus: set[int] | None, rtt_ms: float) -> None:
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    push_service = PushService.start(host, port, defer_checks=defer_checks, rtt_ms=rtt_ms)
    conn.send(push_service.origin)
    while True:
        try:
            name, args, kwargs = conn.recv()
        except EOFError:
            break
        if name == "stop":
            conn.send((True, None))
            break
        try:
            attr = getattr(push_service, name)
            conn.send((True, attr(*args, **kwargs) if callable(attr) else attr))
        except Exception as exc:
            conn.send((False, exc))
    push_service.stop()
