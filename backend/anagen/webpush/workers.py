"""`ProcessSender`: web push encrypted and sent by worker processes, off the dispatcher's core."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Iterable

from anagen.webpush.messages import Outcome, PushMessage, PushResult, SubscriptionInfo
from anagen.webpush.sender import WebPushSender
from anagen.webpush.vapid import VapidKeys


def default_sender_processes() -> int:
    """The dispatcher process's default: a sender worker per core (at most 4) on a machine
    with two or more, none (all in one process) on one core."""
    cores = os.cpu_count() or 1
    return min(4, cores) if cores >= 2 else 0


class ProcessSender:
    """`send_many` in worker processes, each with its own `WebPushSender` (own keep-alive
    connections and VAPID header cache): the dispatcher's process keeps only the database
    work, and encryption + HTTP use other cores. The same interface as `WebPushSender`
    (`send`, `send_many`, `close`, context manager; thread-safe), results in input order.

    One call runs on one worker; `parallelism` calls (one per worker) run at once, from as
    many threads (the dispatcher keeps that many batches sending). Messages and results cross
    the pipe as plain tuples. Workers log their own outcomes (occurrence id, status, origin)
    to their stderr, like the sender does. If a worker dies, the call raises and a new worker
    takes its place (the batch's leases run out and it is sent again: at-least-once); a
    worker whose dispatcher is gone sees its pipe close and exits.
    """

    def __init__(self, keys: VapidKeys, subject: str, processes: int = 1, **sender_kwargs) -> None:
        self.keys = keys
        self.subject = subject
        self.parallelism = max(1, processes)
        self.sender_kwargs = sender_kwargs
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._all: set = set()
        self._lock = threading.Lock()
        self._closed = False
        started = []
        try:
            for _ in range(self.parallelism):
                started.append(self._spawn())
            for worker in started:
                self._ready(worker)
                self._idle.put(worker)
        except Exception:
            self.close()
            raise

    def _spawn(self):
        """Start a worker (the caller holds `_lock` or is the constructor)."""
        ctx = multiprocessing.get_context("spawn")  # no fork of a threaded, DB-connected process
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_sender_worker,
            args=(child, self.keys, self.subject, self.sender_kwargs, logging.getLogger().level),
            name="push-sender-worker",
            daemon=True,
        )
        proc.start()
        child.close()
        worker = (proc, parent)
        self._all.add(worker)
        return worker

    def _ready(self, worker) -> None:
        """Wait until the worker has imported everything and built its sender."""
        _proc, conn = worker
        if not conn.poll(60) or conn.recv() != "ready":
            raise RuntimeError("push sender worker did not start")

    def _retire(self, worker) -> None:
        proc, conn = worker
        with self._lock:
            self._all.discard(worker)
        with contextlib.suppress(OSError):
            conn.send(None)
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        conn.close()

    def send(self, msg: PushMessage) -> PushResult:
        return self.send_many([msg])[0]

    def _acquire(self):
        """An idle worker; a new one when a worker died and none is idle."""
        while True:
            try:
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                pass
            if self._closed:
                raise RuntimeError("sender is closed")
            with self._lock:
                if len(self._all) >= self.parallelism:
                    continue  # all busy: wait for one
                worker = self._spawn()
            try:
                self._ready(worker)
            except Exception:
                self._retire(worker)
                raise
            return worker

    def send_many(self, msgs: Iterable[PushMessage]) -> list[PushResult]:
        if self._closed:
            raise RuntimeError("sender is closed")
        msgs = list(msgs)
        if not msgs:
            return []
        worker = self._acquire()
        _proc, conn = worker
        try:
            conn.send(
                [
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
            )
            results = [
                PushResult(occ, Outcome(outcome), status, retry_after, reason)
                for occ, outcome, status, retry_after, reason in conn.recv()
            ]
        except (EOFError, OSError) as exc:
            self._retire(worker)  # a new one starts on a later call
            raise RuntimeError("a push sender worker died") from exc
        except BaseException:
            # Interrupted mid-call: the worker's answer would be read by the next caller.
            self._retire(worker)
            raise
        self._idle.put(worker)
        return results

    def close(self) -> None:
        """Stop the workers (waiting for calls in progress to finish)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            self._retire(worker)

    def __enter__(self) -> ProcessSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sender_worker(conn, keys: VapidKeys, subject: str, sender_kwargs: dict, log_level: int) -> None:
    """A `ProcessSender` worker: batches of message tuples in, result tuples out, until None/EOF."""
    # Ctrl-C reaches the whole process group: the dispatcher decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=log_level or logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    sender = WebPushSender(keys, subject, **sender_kwargs)
    try:
        conn.send("ready")
        while True:
            try:
                batch = conn.recv()
            except (EOFError, OSError):  # the dispatcher is gone
                break
            if batch is None:
                break
            msgs = [
                PushMessage(occ, SubscriptionInfo(endpoint, p256dh, auth), payload, ttl, urgency, topic)
                for occ, endpoint, p256dh, auth, payload, ttl, urgency, topic in batch
            ]
            results = [
                (r.occurrence_id, r.outcome.value, r.status_code, r.retry_after_s, r.reason)
                for r in sender.send_many(msgs)
            ]
            try:
                conn.send(results)
            except OSError:  # the dispatcher died while this batch was out
                break
    finally:
        sender.close()
