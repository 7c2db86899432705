"""`ProcessSender`: web push encrypted and sent by worker processes, off the dispatcher's core."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from anagen.webpush.messages import Outcome, PushMessage, PushResult, SubscriptionInfo
from anagen.webpush.sender import WebPushSender
from anagen.webpush.vapid import VapidKeys

_sender: WebPushSender | None = None  # a worker process's own sender


def default_sender_processes() -> int:
    """The dispatcher process's default: two sender workers per core, at most 8. Two per core,
    because a batch's last answers take a push service's round trip (50-150 ms), during which
    the other worker on the core encrypts its batch (docs/BENCHMARKS.md, "Reminder dispatch")."""
    return min(8, 2 * (os.cpu_count() or 1))


class ProcessSender:
    """`send_many` in worker processes (a `concurrent.futures.ProcessPoolExecutor`), each
    with its own `WebPushSender` (own keep-alive connections and VAPID header cache): the
    dispatcher's process keeps only the database work, and encryption + HTTP use other
    cores. The same interface as `WebPushSender` (`send`, `send_many`, `close`, context
    manager; thread-safe), results in input order.

    `parallelism` calls run at once (one per worker), from as many threads (the dispatcher
    keeps that many batches sending). Messages and results cross as plain tuples. Workers
    log their own outcomes (occurrence id, status, origin) to their stderr, like the sender
    does. If a worker dies, the pool is broken: the call raises, and the next call gets a
    new pool (the batch's leases run out and it is sent again: at-least-once); a worker
    whose dispatcher is gone exits.
    """

    def __init__(self, keys: VapidKeys, subject: str, processes: int = 1, **sender_kwargs) -> None:
        self.keys = keys
        self.subject = subject
        self.parallelism = max(1, processes)
        self.sender_kwargs = sender_kwargs
        self._lock = threading.Lock()
        self._closed = False
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            self.parallelism,
            # no fork of a threaded, DB-connected process
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.keys, self.subject, self.sender_kwargs, logging.getLogger().level),
        )
        try:
            # Start every worker now (each submit without an idle worker starts one), so the
            # first batch does not wait for imports and key loading.
            for future in [executor.submit(_ready) for _ in range(self.parallelism)]:
                future.result(timeout=60)
        except Exception:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return executor

    def send(self, msg: PushMessage) -> PushResult:
        return self.send_many([msg])[0]

    def send_many(self, msgs: Iterable[PushMessage], timeout: float | None = None) -> list[PushResult]:
        """Send all on one worker; results in the input order, within `timeout` seconds when given."""
        if self._closed:
            raise RuntimeError("sender is closed")
        msgs = list(msgs)
        if not msgs:
            return []
        batch = [
            (
                m.occurrence_id,
                m.subscription.endpoint,
                m.subscription.p256dh,
                m.subscription.auth,
                m.payload,
                m.ttl,
                m.urgency,
                m.topic,
            )
            for m in msgs
        ]
        with self._lock:
            executor = self._executor
        try:
            rows = executor.submit(_send_batch, batch, timeout).result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._executor is executor and not self._closed:
                    executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = self._new_executor()
            raise RuntimeError("a push sender worker died") from exc
        return [
            PushResult(occ, Outcome(outcome), status, retry_after, reason)
            for occ, outcome, status, retry_after, reason in rows
        ]

    def close(self) -> None:
        """Stop the workers (waiting for calls in progress to finish)."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ProcessSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _init_worker(keys: VapidKeys, subject: str, sender_kwargs: dict, log_level: int) -> None:
    """A worker's start: its own sender, and an exit as soon as the dispatcher is gone."""
    global _sender
    # Ctrl-C and SIGTERM reach the whole process group: the dispatcher decides when its
    # workers stop (it finishes the batch in flight first).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=log_level or logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _sender = WebPushSender(keys, subject, **sender_kwargs)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    """Exit when the parent process ends (a killed dispatcher leaves no worker sending)."""
    from multiprocessing.connection import wait

    wait([sentinel])
    os._exit(0)


def _ready() -> int:
    time.sleep(0.05)  # long enough that each warm-up call lands on a worker of its own
    return os.getpid()


def _send_batch(batch: list[tuple], timeout: float | None) -> list[tuple]:
    """A batch of message tuples in, result tuples out (in a worker)."""
    msgs = [
        PushMessage(occ, SubscriptionInfo(endpoint, p256dh, auth), payload, ttl, urgency, topic)
        for occ, endpoint, p256dh, auth, payload, ttl, urgency, topic in batch
    ]
    return [
        (r.occurrence_id, r.outcome.value, r.status_code, r.retry_after_s, r.reason)
        for r in _sender.send_many(msgs, timeout)
    ]
