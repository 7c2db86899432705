"""The local push service checks what real ones check (RFC 8030/8291/8292)."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.jwt import sign
from pywebpush import WebPusher
from support.pushservice import PushService
from support.pushservice_rfc import b64u

from anagen.webpush.vapid import generate_keys

SUB = "mailto:ops@clinic.example"


@pytest.fixture(scope="module")
def keys():
    return generate_keys()


def auth_header(keys, aud, *, exp=None, sub=SUB, signer=None, claims=None) -> str:
    body = claims if claims is not None else {"aud": aud, "exp": exp or int(time.time()) + 3600, "sub": sub}
    token = sign(body, signer or keys.private_key)
    return f"vapid t={token}, k={keys.public_key}"


def encrypted(subscription: dict, data: bytes) -> bytes:
    """Encrypted by pywebpush directly, without the sender."""
    return WebPusher(subscription).encode(data, "aes128gcm")["body"]


def post(push_service, path, body=b"", headers=None, conn=None):
    own = conn is None
    if own:
        parts = urlsplit(push_service.origin)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp
    finally:
        if own:
            conn.close()


def good_headers(push_service, keys, **overrides):
    headers = {
        "Authorization": auth_header(keys, push_service.origin),
        "TTL": "60",
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def test_valid_push_is_created_and_decrypts(push_service, keys):
    sub = push_service.new_subscription()
    path = urlsplit(sub["endpoint"]).path
    resp = post(push_service, path, encrypted(sub, b'{"hello":"world"}'), good_headers(push_service, keys))
    assert resp.status == 201
    assert resp.getheader("Location", "").startswith(push_service.origin + "/")
    (rec,) = push_service.received
    assert rec.status == 201 and rec.path == path
    assert push_service.decrypt(rec) == b'{"hello":"world"}'
    assert push_service.verify_all() == {"valid": 1, "invalid": 0, "reasons": {}}


def test_py_vapid_headers_are_accepted(push_service, keys):
    from py_vapid import Vapid02

    sub = push_service.new_subscription()
    vv = Vapid02.from_pem(keys.private_key_pem)
    header = vv.sign({"aud": push_service.origin, "sub": SUB, "exp": int(time.time()) + 600})["Authorization"]
    resp = post(
        push_service,
        urlsplit(sub["endpoint"]).path,
        encrypted(sub, b"x"),
        good_headers(push_service, keys, Authorization=header),
    )
    assert resp.status == 201


@pytest.mark.parametrize(
    ("make_auth", "status", "why"),
    [
        (lambda push_service, keys: auth_header(keys, "https://fcm.googleapis.com"), 403, "aud"),
        (
            lambda push_service, keys: auth_header(keys, push_service.origin, exp=int(time.time()) - 5),
            403,
            "expired",
        ),
        (
            lambda push_service, keys: auth_header(
                keys, push_service.origin, exp=int(time.time()) + 25 * 3600
            ),
            403,
            "24 h",
        ),
        (
            lambda push_service, keys: auth_header(keys, push_service.origin, sub="http://clinic.example"),
            403,
            "sub",
        ),
        (
            lambda push_service, keys: auth_header(
                keys, push_service.origin, claims={"aud": push_service.origin, "sub": SUB}
            ),
            403,
            "exp",
        ),
        (
            lambda push_service, keys: auth_header(
                keys, push_service.origin, signer=ec.generate_private_key(ec.SECP256R1())
            ),
            401,
            "bad VAPID signature",
        ),
        (
            lambda push_service, keys: auth_header(keys, push_service.origin).replace("t=", "t=x"),
            401,
            "malformed",
        ),
        (lambda push_service, keys: "WebPush abc", 401, "non-vapid"),
        (lambda push_service, keys: None, 401, "non-vapid"),
    ],
)
def test_bad_vapid_is_refused(push_service, keys, make_auth, status, why):
    sub = push_service.new_subscription()
    headers = good_headers(push_service, keys, Authorization=make_auth(push_service, keys))
    resp = post(push_service, urlsplit(sub["endpoint"]).path, encrypted(sub, b"x"), headers)
    assert resp.status == status
    assert why in push_service.received[0].reason


@pytest.mark.parametrize(
    ("override", "status", "why"),
    [
        ({"TTL": None}, 400, "TTL"),
        ({"TTL": "soon"}, 400, "TTL"),
        ({"Content-Encoding": "aesgcm"}, 400, "Content-Encoding"),
        ({"Content-Encoding": None}, 400, "Content-Encoding"),
        ({"Topic": "has spaces"}, 400, "Topic"),
        ({"Topic": "a" * 33}, 400, "Topic"),
    ],
)
def test_bad_headers_are_refused(push_service, keys, override, status, why):
    sub = push_service.new_subscription()
    resp = post(
        push_service,
        urlsplit(sub["endpoint"]).path,
        encrypted(sub, b"x"),
        good_headers(push_service, keys, **override),
    )
    assert resp.status == status
    assert why in push_service.received[0].reason


def test_unknown_path_oversize_body_and_wrong_method(push_service, keys):
    assert post(push_service, "/wpush/v2/nope", b"x", good_headers(push_service, keys)).status == 404
    sub = push_service.new_subscription()
    path = urlsplit(sub["endpoint"]).path
    assert post(push_service, path, b"x" * 4097, good_headers(push_service, keys)).status == 413
    parts = urlsplit(push_service.origin)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", path)
    assert conn.getresponse().status == 405
    conn.close()


def test_keep_alive_and_connection_count(push_service, keys):
    sub = push_service.new_subscription()
    path = urlsplit(sub["endpoint"]).path
    parts = urlsplit(push_service.origin)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    for _ in range(5):
        assert (
            post(push_service, path, encrypted(sub, b"x"), good_headers(push_service, keys), conn=conn).status
            == 201
        )
    conn.close()
    assert push_service.connections == 1 and len(push_service.received) == 5


def test_behaviour_applies_a_number_of_times_then_201(push_service, keys):
    a, b = push_service.new_subscription(), push_service.new_subscription()
    pa, pb = urlsplit(a["endpoint"]).path, urlsplit(b["endpoint"]).path
    push_service.set_behaviour(a["endpoint"], status=429, retry_after=120, times=2)
    first = post(push_service, pa, encrypted(a, b"x"), good_headers(push_service, keys))
    assert first.status == 429 and first.getheader("Retry-After") == "120"
    assert (
        post(push_service, pb, encrypted(b, b"x"), good_headers(push_service, keys)).status == 201
    )  # other endpoint
    assert post(push_service, pa, encrypted(a, b"x"), good_headers(push_service, keys)).status == 429
    assert post(push_service, pa, encrypted(a, b"x"), good_headers(push_service, keys)).status == 201
    push_service.set_behaviour(None, status=503)
    assert post(push_service, pb, encrypted(b, b"x"), good_headers(push_service, keys)).status == 503


def test_deferred_checks_record_now_and_judge_later(keys):
    with PushService.start(defer_checks=True) as push_service:
        sub = push_service.new_subscription()
        path = urlsplit(sub["endpoint"]).path
        assert (
            post(push_service, path, encrypted(sub, b"fine"), good_headers(push_service, keys)).status == 201
        )
        bad_aud = good_headers(
            push_service, keys, Authorization=auth_header(keys, "https://elsewhere.example")
        )
        assert post(push_service, path, encrypted(sub, b"x"), bad_aud).status == 201  # not judged yet
        assert (
            post(push_service, path, b"not encrypted at all", good_headers(push_service, keys)).status == 201
        )
        assert post(push_service, "/nope", b"x", good_headers(push_service, keys)).status == 404
        summary = push_service.verify_all()
    assert summary["valid"] == 1 and summary["invalid"] == 3
    reasons = " | ".join(summary["reasons"])
    assert "aud" in reasons and "decryption failed" in reasons and "unknown subscription" in reasons


def test_spawned_service_in_a_child_process(keys):
    with PushService.spawn(defer_checks=True) as push_service:
        sub = push_service.new_subscription()
        (sub2,) = push_service.new_subscriptions(1)
        payload = json.dumps({"n": 1}).encode()
        resp = post(
            push_service,
            urlsplit(sub["endpoint"]).path,
            encrypted(sub, payload),
            good_headers(push_service, keys),
        )
        assert resp.status == 201
        (rec,) = push_service.received
        assert push_service.decrypt(rec) == payload
        assert push_service.connections == 1
        assert sub2["endpoint"] != sub["endpoint"]
        assert push_service.verify_all()["valid"] == 1


def test_subscription_keys_look_like_a_browser_s(push_service):
    sub = push_service.new_subscription()
    assert "=" not in sub["keys"]["p256dh"] and len(sub["keys"]["auth"]) == len(b64u(bytes(16)))


def test_round_trip_delays_each_answer_without_holding_up_other_connections(keys):
    """`rtt_ms`: every answer comes that long after its request arrived. Requests on
    different connections wait side by side (not one after the other), one connection's
    answers stay in order, and a hang comes on top of the round trip."""
    import threading

    rtt = 0.2
    with PushService.start(defer_checks=True, rtt_ms=rtt * 1000) as push_service:
        sub = push_service.new_subscription()
        path = urlsplit(sub["endpoint"]).path
        body = encrypted(sub, b"x")
        headers = good_headers(push_service, keys)
        took: list[float] = []

        def one() -> None:
            start = time.monotonic()
            assert post(push_service, path, body, headers).status == 201
            took.append(time.monotonic() - start)

        threads = [threading.Thread(target=one) for _ in range(8)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(took) == 8 and min(took) >= rtt
        assert time.monotonic() - start < 2 * rtt  # side by side: 8 in series would take 8 rtt

        parts = urlsplit(push_service.origin)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        start = time.monotonic()
        for _ in range(3):  # one connection: each request waits its own round trip
            assert post(push_service, path, body, headers, conn=conn).status == 201
        assert time.monotonic() - start >= 3 * rtt
        conn.close()

        push_service.set_behaviour(sub["endpoint"], status=503, hang_seconds=0.3, times=1)
        start = time.monotonic()
        assert post(push_service, path, body, headers).status == 503
        assert time.monotonic() - start >= 0.3 + rtt
