"""The small HTTP/1.1 client against a scripted raw-socket server: framing and keep-alive."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import select
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.pushservice import PushService

from anagen.webpush.messages import Outcome, PushMessage, SubscriptionInfo
from anagen.webpush.pool import ConnectionPool
from anagen.webpush.sender import WebPushSender
from anagen.webpush.transport import Answer, Origin, TransportError
from anagen.webpush.vapid import generate_keys

HEAD = b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"


class Scripted:
    """Answers request number i on connection number c with script(c, i) (bytes), or closes
    the connection without answering when it returns None."""

    def __init__(self, script):
        self.script = script
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests: list[tuple[int, bytes]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True).start()

    def _serve(self, conn, number):
        f = conn.makefile("rb")
        with contextlib.suppress(OSError), conn:
            for i in range(1000):
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = f.readline()
                    if not line:
                        return
                    head += line
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                self.requests.append((number, f.read(length)))
                answer = self.script(number, i)
                if answer is None:
                    return
                conn.sendall(answer)
                if answer.startswith(b"HTTP/1.0") or b"Connection: close" in answer:
                    return

    def close(self):
        self.sock.close()


@pytest.fixture
def scripted():
    servers = []

    def make(script):
        servers.append(Scripted(script))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def pool_for(server, per_origin=4, timeout=(1.0, 1.0)):
    """A pool in local-test mode (the scripted server is on loopback)."""
    return ConnectionPool(timeout, per_origin, allow_private=True), Origin("http", "127.0.0.1", server.port)


def test_chunked_body_with_trailers_keeps_the_connection(scripted):
    srv = scripted(
        lambda c, i: (
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"
        )
    )
    pool, origin = pool_for(srv)
    assert [pool.post(origin, HEAD, b"abc").status for _ in range(3)] == [201] * 3
    assert srv.connections == 1 and pool.opened == 1
    pool.close()


def test_connection_close_and_close_delimited_bodies_are_not_reused(scripted):
    answers = [
        b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 201 Created\r\n\r\nbody until close",
    ]
    srv = scripted(lambda c, i: answers[(c - 1) % 2] if i == 0 else None)
    pool, origin = pool_for(srv)
    assert pool.post(origin, HEAD, b"abc") == Answer(201)
    assert pool.post(origin, HEAD, b"abc") == Answer(201)
    assert pool.post(origin, HEAD, b"abc") == Answer(201)
    assert srv.connections == 3
    pool.close()


def test_interim_responses_are_skipped_and_retry_after_read(scripted):
    srv = scripted(
        lambda c, i: (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nretry-after:  30 \r\n"
            b"Content-Length: 4\r\n\r\nslow"
        )
    )
    pool, origin = pool_for(srv)
    assert pool.post(origin, HEAD, b"abc") == Answer(429, "30", "slow")
    assert pool.post(origin, HEAD, b"abc") == Answer(429, "30", "slow")
    assert srv.connections == 1
    pool.close()


def _ok_then_silent_close(c, i):
    # first connection: answers once, then closes on the next request without answering
    if c == 1 and i == 1:
        return None
    return b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"


def test_reused_connection_closed_before_answering_is_retried_once(scripted):
    srv = scripted(_ok_then_silent_close)
    pool, origin = pool_for(srv)
    assert pool.post(origin, HEAD, b"one").status == 201
    assert pool.post(origin, HEAD, b"two").status == 201  # retried on a fresh connection
    assert srv.connections == 2
    assert [body for _, body in srv.requests] == [b"one", b"two", b"two"]  # at-least-once
    pool.close()


def test_pipeline_retries_a_stale_connection_too(scripted):
    srv = scripted(_ok_then_silent_close)
    pool, origin = pool_for(srv, per_origin=1)
    results = {}

    def done(key, answer, error):
        results[key] = answer.status if error is None else error.kind

    pool.post_many(origin, iter([(k, HEAD, b"abc") for k in range(5)]), done, 1)
    assert results == dict.fromkeys(range(5), 201)
    assert srv.connections == 2
    pool.close()


def _pollers_open() -> int:
    """epoll descriptors this process holds (Linux), -1 where that cannot be seen."""
    if not os.path.isdir("/proc/self/fd"):
        return -1
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return sum("eventpoll" in link for link in links)


@pytest.mark.parametrize("readiness", ["epoll", "poll"])
def test_pipeline_with_epoll_and_without(scripted, monkeypatch, readiness):
    """Answers are awaited with epoll where there is one (Linux), poll() elsewhere; both
    deliver every answer on reused connections, and the pipeline closes its epoll."""
    if readiness == "poll":
        monkeypatch.delattr(select, "epoll", raising=False)
    elif not hasattr(select, "epoll"):
        pytest.skip("no epoll on this platform")
    srv = scripted(lambda c, i: b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    pool, origin = pool_for(srv, per_origin=8)
    results = {}
    pollers = _pollers_open()
    for first in (0, 40):
        requests = iter([(k, HEAD, b"abc") for k in range(first, first + 40)])
        pool.post_many(origin, requests, lambda k, a, e: results.update({k: a.status}), 8)
    assert results == dict.fromkeys(range(80), 201)
    assert srv.connections <= 8
    assert _pollers_open() == pollers
    pool.close()


def test_a_fresh_connection_closed_without_answer_is_an_error(scripted):
    srv = scripted(lambda c, i: None)
    pool, origin = pool_for(srv)
    with pytest.raises(TransportError) as info:
        pool.post(origin, HEAD, b"abc")
    assert info.value.kind == "connection"
    pool.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"SPDY/9 200 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nContent-Length: many\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_responses_are_protocol_errors(scripted, answer):
    srv = scripted(lambda c, i: answer)
    pool, origin = pool_for(srv)
    with pytest.raises(TransportError) as info:
        pool.post(origin, HEAD, b"abc")
    assert info.value.kind == "protocol"
    pool.close()


def test_huge_response_bodies_are_not_read(scripted):
    srv = scripted(lambda c, i: b"HTTP/1.1 500 Oops\r\nContent-Length: 999999999\r\n\r\n")
    pool, origin = pool_for(srv)
    assert pool.post(origin, HEAD, b"abc") == Answer(500)
    assert pool.post(origin, HEAD, b"abc") == Answer(500)
    assert srv.connections == 2  # the unread body made the connection unusable
    pool.close()


def test_read_timeout_in_the_pipeline(scripted):
    srv = scripted(lambda c, i: time.sleep(2) or b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    pool, origin = pool_for(srv, timeout=(1.0, 0.2))
    results = {}
    pool.post_many(
        origin, iter([(k, HEAD, b"abc") for k in range(3)]), lambda k, a, e: results.update({k: e.kind}), 2
    )
    assert results == dict.fromkeys(range(3), "read-timeout")
    pool.close()


def test_host_header_and_ipv6():
    assert Origin("https", "push.example", 443).host_header == "push.example"
    assert Origin("https", "push.example", 8443).host_header == "push.example:8443"
    assert Origin("http", "::1", 8080).host_header == "[::1]:8080"


# -- TLS, through the sender --------------------------------------------------------------
def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_https_push_service(tmp_path):
    keys = generate_keys()
    cert_file, key_file = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_file, key_file)
    client_ctx = ssl.create_default_context(cafile=str(cert_file))
    with PushService.start(ssl_context=server_ctx) as push_service:
        assert push_service.origin.startswith("https://")
        sub = push_service.new_subscription()
        with WebPushSender(keys, SUBJECT, ssl_context=client_ctx, allow_http=True) as s:
            results = [s.send(message(sub, 1)), *s.send_many([message(sub, n) for n in range(2, 30)])]
            assert all(r.outcome is Outcome.SENT for r in results)
            assert s.pool.opened <= s.pool.per_origin
        assert push_service.verify_all()["valid"] == 29
        # (local-test mode for the loopback address; the default CAs do not know this cert)
        with WebPushSender(keys, SUBJECT, allow_http=True) as untrusting:
            refused = untrusting.send(message(sub, 99))
        assert refused.outcome is Outcome.RETRY and "SSL" in refused.reason
        assert len(push_service.received) == 29


def message(sub: dict, n: int) -> PushMessage:
    return PushMessage(f"occ-{n}", SubscriptionInfo.from_dict(sub), {"n": n})


SUBJECT = "mailto:ops@clinic.example"
