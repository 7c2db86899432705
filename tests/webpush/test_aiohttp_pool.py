"""The aiohttp transport (the benchmark's alternative): same outcomes and limits as the
hand-written one, against the real local push service."""

from __future__ import annotations

import socket
import time

import pytest
from support.pushservice import PushService

from anagen.webpush.messages import Outcome, PushMessage, SubscriptionInfo
from anagen.webpush.sender import WebPushSender
from anagen.webpush.vapid import generate_keys

SUBJECT = "mailto:ops@clinic.example"


@pytest.fixture(scope="module")
def keys():
    return generate_keys()


def message(sub: dict, n: int = 1) -> PushMessage:
    return PushMessage(str(n), SubscriptionInfo.from_dict(sub), {"id": str(n)})


def test_sends_decryptable_pushes_in_order_with_the_same_outcomes(push_service, keys):
    subs = push_service.new_subscriptions(5)
    gone = subs[0]
    push_service.set_behaviour(gone["endpoint"], status=410)
    with WebPushSender(keys, SUBJECT, allow_http=True, transport="aiohttp", pool_per_origin=8) as sender:
        results = sender.send_many([message(subs[i % 5], i) for i in range(40)])
        assert [r.occurrence_id for r in results] == [str(i) for i in range(40)]
        assert [r.outcome for r in results] == [
            Outcome.GONE if i % 5 == 0 else Outcome.SENT for i in range(40)
        ]
        assert 0 < sender.pool.opened <= 8
    assert push_service.verify_all() == {"valid": 40, "invalid": 0, "reasons": {}}


def test_a_4xx_reason_and_a_total_deadline(push_service, keys):
    sub = push_service.new_subscription()
    push_service.set_behaviour(status=403, body=b'{"reason":"BadJwtToken"}', times=1)
    with WebPushSender(keys, SUBJECT, allow_http=True, transport="aiohttp", timeout=(1.0, 0.5)) as sender:
        refused = sender.send(message(sub))
        assert (refused.outcome, refused.reason) == (Outcome.CONFIG_ERROR, "HTTP 403 BadJwtToken")
        push_service.set_behaviour(hang_seconds=3)
        started = time.monotonic()
        late = sender.send(message(sub, 2))
        assert late.outcome is Outcome.RETRY and "timeout" in late.reason
        assert time.monotonic() - started < 1.5


def test_only_public_addresses_are_dialled(monkeypatch, keys):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "push.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with PushService.start() as service:
        sub = {**service.new_subscription(), "endpoint": "https://push.example.com/wpush/x"}
        with WebPushSender(keys, SUBJECT, transport="aiohttp") as sender:
            result = sender.send(message(sub))
        assert result.outcome is Outcome.CONFIG_ERROR and "forbidden-address" in result.reason
        assert service.received == []


def test_an_unknown_transport_is_refused(keys):
    with pytest.raises(ValueError, match="transport"):
        WebPushSender(keys, SUBJECT, transport="carrier-pigeon")
