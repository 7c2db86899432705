"""The sender against the real local push service (no mocks of HTTP or crypto)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import time
from email.utils import format_datetime
from urllib.parse import urlsplit

import pytest
from support.pushservice import PushService
from support.pushservice_rfc import b64u

from anagen.webpush import ece
from anagen.webpush.messages import Outcome, PushMessage, SubscriptionInfo, safe_topic
from anagen.webpush.sender import ENCRYPT_AHEAD, WebPushSender
from anagen.webpush.vapid import generate_keys

SUBJECT = "mailto:ops@clinic.example"


@pytest.fixture(scope="module")
def keys():
    return generate_keys()


@pytest.fixture
def sender(keys):
    s = WebPushSender(keys, SUBJECT, allow_http=True, timeout=(1.0, 2.0), max_workers=4, pool_per_origin=4)
    yield s
    s.close()


def message(sub: dict, n: int = 1, **kw) -> PushMessage:
    kw.setdefault(
        "payload", {"occurrence": f"occ-{n}", "title": "Application due", "body": f"Application {n}"}
    )
    return PushMessage(f"0193a5c2-7d4e-7000-8000-{n:012d}", SubscriptionInfo.from_dict(sub), **kw)


def test_sent_decrypts_to_the_exact_payload_with_all_headers(push_service, sender):
    sub = push_service.new_subscription()
    msg = message(sub, 7, ttl=3600, urgency="high")
    result = sender.send(msg)
    assert (result.outcome, result.status_code, result.occurrence_id) == (
        Outcome.SENT,
        201,
        msg.occurrence_id,
    )
    (rec,) = push_service.received
    assert json.loads(push_service.decrypt(rec)) == msg.payload
    h = rec.headers
    assert h["ttl"] == "3600" and h["urgency"] == "high"
    assert h["content-type"] == "application/octet-stream" and h["content-encoding"] == "aes128gcm"
    assert h["topic"] == safe_topic(msg.occurrence_id)
    assert h["authorization"].startswith("vapid t=")
    assert push_service.verify_all()["valid"] == 1  # VAPID, TTL, encoding, decryption all checked


def test_explicit_topic_is_used_when_safe(push_service, sender):
    sub = push_service.new_subscription()
    sender.send(message(sub, topic="reminder-7"))
    sender.send(message(sub, topic="not safe/topic"))
    assert [r.headers["topic"] for r in push_service.received] == ["reminder-7", safe_topic("not safe/topic")]


@pytest.mark.parametrize("status", [404, 410])
def test_gone(push_service, sender, status):
    sub = push_service.new_subscription()
    push_service.set_behaviour(sub["endpoint"], status=status)
    result = sender.send(message(sub))
    assert (result.outcome, result.status_code) == (Outcome.GONE, status)


def test_429_with_retry_after_seconds(push_service, sender):
    sub = push_service.new_subscription()
    push_service.set_behaviour(sub["endpoint"], status=429, retry_after=120)
    result = sender.send(message(sub))
    assert (result.outcome, result.status_code, result.retry_after_s) == (Outcome.RETRY, 429, 120.0)


def test_503_with_retry_after_http_date(push_service, sender):
    sub = push_service.new_subscription()
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=300)
    push_service.set_behaviour(sub["endpoint"], status=503, retry_after=format_datetime(when, usegmt=True))
    result = sender.send(message(sub))
    assert result.outcome is Outcome.RETRY and 290 <= result.retry_after_s <= 301


@pytest.mark.parametrize("status", [500, 502, 408])
def test_server_errors_are_retried(push_service, sender, status):
    sub = push_service.new_subscription()
    push_service.set_behaviour(None, status=status)
    result = sender.send(message(sub))
    assert (result.outcome, result.status_code, result.retry_after_s) == (Outcome.RETRY, status, None)


def test_hanging_service_times_out_as_retry(push_service, keys):
    sub = push_service.new_subscription()
    push_service.set_behaviour(None, hang_seconds=3)
    with WebPushSender(keys, SUBJECT, allow_http=True, timeout=(1.0, 0.3)) as s:
        started = time.monotonic()
        one = s.send(message(sub, 1))
        many = s.send_many([message(sub, n) for n in range(2, 6)])
        elapsed = time.monotonic() - started
    assert one.outcome is Outcome.RETRY and "read-timeout" in one.reason
    assert all(r.outcome is Outcome.RETRY and "read-timeout" in r.reason for r in many)
    assert elapsed < 2.5


def test_nothing_is_encrypted_once_the_batch_deadline_has_passed(push_service, keys, monkeypatch):
    """A hanging push service: what could not be sent by the deadline comes back as RETRY,
    and the messages after it are not encrypted for nothing (at most the run in hand)."""
    encrypted = []
    original = ece.encrypt

    def counting(plaintext, receiver, **kw):
        encrypted.append(plaintext)
        return original(plaintext, receiver, **kw)

    monkeypatch.setattr(ece, "encrypt", counting)
    sub = push_service.new_subscription()
    push_service.set_behaviour(None, hang_seconds=3)
    n = 3 * ENCRYPT_AHEAD
    with WebPushSender(keys, SUBJECT, allow_http=True, timeout=(1.0, 5.0), pool_per_origin=4) as s:
        started = time.monotonic()
        results = s.send_many([message(sub, i) for i in range(n)], timeout=0.3)
        elapsed = time.monotonic() - started
    assert [r.outcome for r in results] == [Outcome.RETRY] * n
    assert all("read-timeout" in r.reason for r in results)
    assert len(encrypted) == ENCRYPT_AHEAD
    assert len(push_service.received) <= 4
    assert elapsed < 1.5


def test_unreachable_service_is_retried(keys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sub = {
        "endpoint": f"http://127.0.0.1:{port}/wpush/x",
        "keys": PushService.start().new_subscription()["keys"],
    }
    with WebPushSender(keys, SUBJECT, allow_http=True, timeout=(0.5, 0.5)) as s:
        result = s.send(message(sub))
        (again,) = s.send_many([message(sub, 2)])
    assert result.outcome is Outcome.RETRY and result.status_code is None and "connection" in result.reason
    assert again.outcome is Outcome.RETRY


@pytest.mark.parametrize("status", [400, 401, 403, 413, 418])
def test_config_errors_are_logged_without_secrets(push_service, sender, caplog, status):
    sub = push_service.new_subscription()
    push_service.set_behaviour(sub["endpoint"], status=status)
    msg = message(sub, payload={"occurrence": "occ-1", "title": "SECRET-TITLE-TEXT"})
    with caplog.at_level(logging.DEBUG, logger="anagen"):
        result = sender.send(msg)
    assert (result.outcome, result.status_code) == (Outcome.CONFIG_ERROR, status)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "a configuration error must be logged at error level"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert str(status) in text and push_service.origin in text and msg.occurrence_id in text
    path = urlsplit(sub["endpoint"]).path
    for secret in (
        path,
        path.rsplit("/", 1)[-1],
        "SECRET-TITLE-TEXT",
        sub["keys"]["p256dh"],
        sub["keys"]["auth"],
    ):
        assert secret not in text


def test_nothing_secret_in_logs_for_any_outcome(push_service, sender, caplog):
    subs = [push_service.new_subscription() for _ in range(4)]
    for sub, status in zip(subs, (201, 410, 429, 401), strict=True):
        push_service.set_behaviour(sub["endpoint"], status=status)
    with caplog.at_level(logging.DEBUG):
        sender.send_many([message(s, i, payload={"t": "PAYLOAD-TEXT"}) for i, s in enumerate(subs)])
        sender.send(message(subs[0], payload={"t": "x" * 5000}))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "PAYLOAD-TEXT" not in text and "/wpush/" not in text
    assert not any(s["keys"]["auth"] in text for s in subs)


def test_oversized_payload_is_refused_without_sending(push_service, sender):
    sub = push_service.new_subscription()
    result = sender.send(message(sub, payload={"t": "x" * 4000}))
    assert result.outcome is Outcome.CONFIG_ERROR and "too large" in result.reason
    assert push_service.received == []
    ok = sender.send(message(sub, payload={"t": "x" * 3900}))  # just under 4096 encrypted
    assert ok.outcome is Outcome.SENT and len(push_service.received[0].body) <= 4096


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"urgency": "urgent"}, "Urgency"),
        ({"ttl": -1}, "TTL"),
        ({"payload": {"when": object()}}, "JSON"),
    ],
)
def test_invalid_messages_are_config_errors(push_service, sender, change, why):
    result = sender.send(message(push_service.new_subscription(), **change))
    assert result.outcome is Outcome.CONFIG_ERROR and why in result.reason
    assert push_service.received == []


def test_invalid_subscriptions_are_config_errors(push_service, sender, keys):
    good = push_service.new_subscription()
    auth = good["keys"]["auth"]
    bad_keys = {"endpoint": good["endpoint"], "keys": {"p256dh": "AAAA", "auth": auth}}
    no_key = {"endpoint": good["endpoint"], "keys": {"p256dh": "", "auth": auth}}
    # 65 bytes, as a point should be, but not on the curve: refused up front, not at encode()
    off_curve = {"endpoint": good["endpoint"], "keys": {"p256dh": b64u(b"\x04" + bytes(64)), "auth": auth}}
    bad_auth = {"endpoint": good["endpoint"], "keys": {"p256dh": good["keys"]["p256dh"], "auth": "AAAA"}}
    injected = {"endpoint": good["endpoint"] + "\r\nX-Evil: 1", "keys": good["keys"]}
    results = sender.send_many([message(s) for s in (bad_keys, no_key, off_curve, bad_auth, injected)])
    assert [r.outcome for r in results] == [Outcome.CONFIG_ERROR] * 5
    assert [r.reason for r in results[:4]] == ["invalid subscription keys"] * 3 + [
        "invalid subscription auth secret"
    ]
    with WebPushSender(keys, SUBJECT) as strict:  # https only by default
        assert strict.send(message(good)).reason == "endpoint refused: Must be https"
    assert push_service.received == []


def test_send_many_500_messages_to_50_subscriptions(push_service, sender):
    subs = [push_service.new_subscription() for _ in range(50)]
    msgs = [message(subs[n % 50], n) for n in range(500)]
    results = sender.send_many(msgs)
    assert [r.occurrence_id for r in results] == [m.occurrence_id for m in msgs]
    assert all(r.outcome is Outcome.SENT for r in results)
    assert len(push_service.received) == 500
    by_path = {urlsplit(s["endpoint"]).path: s for s in subs}
    got = sorted(json.loads(push_service.decrypt(rec))["occurrence"] for rec in push_service.received)
    assert got == sorted(m.payload["occurrence"] for m in msgs)
    for rec in push_service.received:  # each went to the subscription it was encrypted for
        n = int(json.loads(push_service.decrypt(rec))["occurrence"].split("-")[1])
        assert by_path[rec.path] is subs[n % 50]
    assert push_service.verify_all() == {"valid": 500, "invalid": 0, "reasons": {}}
    # keep-alive: a handful of connections carried all of it
    assert push_service.connections <= 4 and sender.pool.opened <= 4


def test_send_many_mixed_outcomes_keep_their_order(push_service, sender):
    subs = [push_service.new_subscription() for _ in range(4)]
    push_service.set_behaviour(subs[1]["endpoint"], status=410)
    push_service.set_behaviour(subs[2]["endpoint"], status=429, retry_after=7)
    push_service.set_behaviour(subs[3]["endpoint"], status=403)
    results = sender.send_many([message(subs[n % 4], n) for n in range(40)])
    expected = [Outcome.SENT, Outcome.GONE, Outcome.RETRY, Outcome.CONFIG_ERROR] * 10
    assert [r.outcome for r in results] == expected
    assert {r.retry_after_s for r in results if r.outcome is Outcome.RETRY} == {7.0}


def test_send_many_across_push_services(keys):
    with (
        PushService.start() as a,
        PushService.start() as b,
        WebPushSender(keys, SUBJECT, allow_http=True) as s,
    ):
        msgs = [message((a if n % 2 else b).new_subscription(), n) for n in range(20)]
        results = s.send_many(msgs)
        assert all(r.outcome is Outcome.SENT for r in results)
        assert len(a.received) == len(b.received) == 10
        assert a.verify_all()["valid"] == b.verify_all()["valid"] == 10  # each got its own aud


@pytest.mark.parametrize("recent_idle_s", [1.0, 0.0])
def test_connections_closed_by_the_service_are_reopened(push_service, sender, monkeypatch, recent_idle_s):
    """Reused at once (the close is found when the answer does not come: retried once), or
    after the kernel was asked whether the peer closed it: either way nothing is lost."""
    from anagen.webpush import pool

    monkeypatch.setattr(pool, "RECENT_IDLE_S", recent_idle_s)
    sub = push_service.new_subscription()
    assert sender.send(message(sub, 1)).outcome is Outcome.SENT
    assert all(r.outcome is Outcome.SENT for r in sender.send_many([message(sub, n) for n in range(2, 12)]))
    push_service.drop_connections()
    time.sleep(0.05)
    assert sender.send(message(sub, 20)).outcome is Outcome.SENT
    push_service.drop_connections()
    time.sleep(0.05)
    assert all(r.outcome is Outcome.SENT for r in sender.send_many([message(sub, n) for n in range(30, 40)]))
    assert len(push_service.received) == 22  # nothing lost, nothing doubled


def test_encrypt_only_gives_a_body_the_service_decrypts(push_service, sender):
    sub = push_service.new_subscription()
    msg = message(sub)
    body = sender.encrypt_only(msg)
    assert body != sender.encrypt_only(msg)  # fresh ephemeral key and salt every time
    from support.pushservice import Received

    rec = Received(urlsplit(sub["endpoint"]).path, {}, body, 0.0)
    assert json.loads(push_service.decrypt(rec)) == msg.payload


def test_keys_decoded_once_per_subscription(push_service, sender, monkeypatch):
    """A subscription's keys are decoded and checked when first used: once per device."""
    made = []
    original = ece.Receiver.from_subscription.__func__

    def counting(cls, p256dh, auth):
        made.append(p256dh)
        return original(cls, p256dh, auth)

    monkeypatch.setattr(ece.Receiver, "from_subscription", classmethod(counting))
    a, b = push_service.new_subscription(), push_service.new_subscription()
    results = sender.send_many([message(a if n % 3 else b, n) for n in range(9)])
    assert all(r.outcome is Outcome.SENT for r in results)
    assert sorted(made) == sorted([a["keys"]["p256dh"], b["keys"]["p256dh"]])
    assert push_service.verify_all() == {"valid": 9, "invalid": 0, "reasons": {}}


def test_closed_sender_refuses_work(keys, push_service):
    s = WebPushSender(keys, SUBJECT, allow_http=True)
    s.close()
    with pytest.raises(RuntimeError):
        s.send_many([])
    with pytest.raises(RuntimeError):
        s.send(message(push_service.new_subscription()))


def test_audience_is_the_origin_without_default_port(keys):
    with WebPushSender(keys, SUBJECT) as s:
        assert s._route("https://Push.Example:443/wpush/x").aud == "https://push.example"
    with WebPushSender(keys, SUBJECT, allow_http=True) as local:  # other ports: local-test mode only
        assert local._route("https://push.example:8443/wpush/x").aud == "https://push.example:8443"
