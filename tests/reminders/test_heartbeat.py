"""/healthz tells whether a dispatcher has ticked lately (the heartbeat it stores)."""

import datetime as dt

import time_machine

from anagen.clock import utcnow
from anagen.reminders.heartbeat import beat


def health(client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200
    return response.get_json()


def test_no_dispatcher_ever_is_degraded(client, app_ctx):
    body = health(client)
    assert body["status"] == "degraded" and body["dispatcher"] == "stale"
    assert body["dispatcher_last_seen"] is None and body["database"] == "ok"


def test_a_recent_heartbeat_is_ok_and_a_stale_one_degraded(client, app_ctx):
    now = utcnow()
    with time_machine.travel(now, tick=False):
        beat("host-a:1", now=now)
        assert health(client)["status"] == "ok"
    stale = dt.timedelta(seconds=app_ctx.config["DISPATCHER_STALE_SECONDS"])
    with time_machine.travel(now + stale + dt.timedelta(seconds=5), tick=False):
        body = health(client)
        assert body["status"] == "degraded" and body["dispatcher"] == "stale"
        assert body["dispatcher_last_seen"] == now.replace(microsecond=0).isoformat().replace("+00:00", "Z")
        beat("host-b:2")  # another dispatcher is alive
        assert health(client)["status"] == "ok"


def test_a_dispatcher_tick_leaves_a_heartbeat(client, app_ctx):
    from anagen.reminders.loop import tick

    class NoSender:
        def send_many(self, messages):
            return []

    tick(app_ctx, NoSender(), 10, {"ticks": 1})
    assert health(client)["status"] == "ok"
