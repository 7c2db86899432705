"""The push transport's limits (issue 10, item 4): a total deadline per request, a 4xx
answer's reason logged without endpoint or payload, and only public addresses dialled."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from anagen.webpush.endpoints import endpoint_problem
from anagen.webpush.messages import Outcome, PushMessage, SubscriptionInfo
from anagen.webpush.pool import ConnectionPool
from anagen.webpush.sender import WebPushSender
from anagen.webpush.transport import Origin, TransportError, is_public, public_addresses, reason_of
from anagen.webpush.vapid import generate_keys

SUBJECT = "mailto:ops@clinic.example"
HEAD = b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"


@pytest.fixture(scope="module")
def keys():
    return generate_keys()


def message(sub: dict, n: int = 1) -> PushMessage:
    payload = {"id": str(n), "title": "Anagen", "body": "secret-payload-text"}
    return PushMessage(str(n), SubscriptionInfo.from_dict(sub), payload)


@contextlib.contextmanager
def trickling_server(interval: float):
    """Answers every request with a valid 201, one byte every `interval` seconds."""
    server = socket.create_server(("127.0.0.1", 0))
    answer = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"

    def serve():
        with contextlib.suppress(OSError):
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                for byte in answer:
                    conn.sendall(bytes([byte]))
                    time.sleep(interval)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_the_request_deadline_is_a_total_not_per_read():
    """A service that keeps trickling bytes (each well inside the timeout) is still cut off
    at the request's deadline."""
    with trickling_server(0.1) as port:  # the whole answer would take ~4.5 s
        pool = ConnectionPool((1.0, 1.0), 1, allow_private=True)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            pool.post(Origin("http", "127.0.0.1", port), HEAD, b"abc")
        assert info.value.kind == "read-timeout"
        assert time.monotonic() - started < 1.6
        pool.close()


def test_the_pipeline_deadline_is_a_total_too():
    with trickling_server(0.1) as port:
        pool = ConnectionPool((1.0, 1.0), 1, allow_private=True)
        results = {}
        started = time.monotonic()
        pool.post_many(
            Origin("http", "127.0.0.1", port),
            iter([(1, HEAD, b"abc")]),
            lambda k, a, e: results.update({k: e.kind if e else a.status}),
            4,
        )
        assert results == {1: "read-timeout"} and time.monotonic() - started < 1.6
        pool.close()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"reason":"BadJwtToken"}', "BadJwtToken"),  # Apple
        (
            b'{"error":{"code":403,"message":"The JWT is not valid","status":"PERMISSION_DENIED"}}',
            "PERMISSION_DENIED The JWT is not valid",
        ),  # FCM
        (b'{"code":401,"errno":109,"error":"Unauthorized","message":"Request did not validate"}', None),
        (b"Invalid VAPID header", "Invalid VAPID header"),
    ],
)
def test_a_4xx_reason_is_read_and_logged_without_endpoint_or_payload(
    push_service, keys, caplog, body, reason
):
    sub = push_service.new_subscription()
    push_service.set_behaviour(status=403, body=body)
    caplog.set_level(logging.INFO)
    with WebPushSender(keys, SUBJECT, allow_http=True, timeout=(1.0, 2.0)) as sender:
        result = sender.send(message(sub))
        assert result.outcome is Outcome.CONFIG_ERROR
        expected = reason or "109 Request did not validate"  # Mozilla: errno and message
        assert result.reason == f"HTTP 403 {expected}"
        (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert f"reason={expected}" in line and "status=403" in line
        for record in caplog.records:
            text = record.getMessage()
            for secret in (urlsplit(sub["endpoint"]).path, sub["keys"]["auth"], "secret-payload-text"):
                assert secret not in text
        # The connection stays usable: the body was read, not left in the socket.
        push_service.set_behaviour(status=201)
        assert sender.send(message(sub, 2)).outcome is Outcome.SENT
        assert sender.pool.opened == 1


def test_a_reason_echoing_the_endpoint_is_cleaned(push_service, keys):
    sub = push_service.new_subscription()
    echo = json.dumps({"reason": f"unknown subscription {sub['endpoint']} for user@example.com"}).encode()
    push_service.set_behaviour(status=400, body=echo + b" " * 3000)
    with WebPushSender(keys, SUBJECT, allow_http=True) as sender:
        result = sender.send(message(sub))
    assert result.reason == "HTTP 400 unknown subscription for"
    assert urlsplit(sub["endpoint"]).path not in result.reason


def test_reason_of_is_short_and_plain():
    assert reason_of(b"") is None
    assert reason_of(b"<html><body>nope</body></html>") is None
    assert reason_of(b'{"reason": "BadDeviceToken\\r\\nX-Evil: 1"}') == "BadDeviceToken X-Evil: 1"
    assert len(reason_of(b"x" * 5000)) == 120


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2607:f8b0:4005:80a::200a", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
    ],
)
def test_is_public(address, public):
    assert is_public(address) is public


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    """Names resolve to the given addresses (instead of asking a DNS server)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        out = []
        for address in answers[host]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return out

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_that_resolves_inside_is_refused_before_connecting(monkeypatch, keys, push_service):
    """The endpoint passed registration (a public-looking name), but now points at the
    loopback interface: nothing is dialled, and it is a configuration error, not a retry."""
    fake_dns(monkeypatch, {"push.example.com": ["127.0.0.1"], "mixed.example.com": ["8.8.8.8", "10.0.0.1"]})
    sub = push_service.new_subscription()
    path = urlsplit(sub["endpoint"]).path
    with WebPushSender(keys, SUBJECT) as strict:
        for host in ("push.example.com", "mixed.example.com"):
            moved = {**sub, "endpoint": f"https://{host}{path}"}
            result = strict.send(message(moved))
            assert result.outcome is Outcome.CONFIG_ERROR and "forbidden-address" in result.reason
        assert strict.pool.opened == 0
    assert push_service.received == []
    with pytest.raises(TransportError):
        public_addresses("push.example.com", 443, allow_private=False)
    assert public_addresses("push.example.com", 443, allow_private=True)[0][4][0] == "127.0.0.1"


@pytest.mark.parametrize(
    ("endpoint", "ok"),
    [
        ("https://fcm.googleapis.com/fcm/send/x", True),
        ("https://FCM.googleapis.com.:443/fcm/send/x", True),
        ("https://127.0.0.1/x", False),
        ("https://[fe80::1%25eth0]/x", False),
        ("https://017700000001/x", False),
        ("https://user:pw@fcm.googleapis.com/x", False),
        ("https://fcm.googleapis.com:80/x", False),
        ("https://-bad-.example.com/x", False),
        ("https://corp.intranet/x", False),
        ("ftp://fcm.googleapis.com/x", False),
    ],
)
def test_endpoint_rules(endpoint, ok):
    assert (endpoint_problem(endpoint) is None) is ok
    assert endpoint_problem("http://127.0.0.1:8080/x", local_test=True) is None
