"""The offline outbox belongs to the patient who queued it (issue 10, item 1): on a shared
phone, what Ben saved offline is never sent with Ava's session and leaves the device when
she signs in; Ben signing in again sends it, once; signing out with something unsent asks first."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from playwright.sync_api import expect

from .flows import (
    device_storage,
    do_application,
    outbox_settled,
    sign_in,
    wait_for_service_worker,
)
from .helpers import end_sessions, logs_for, recorded_check_ins

pytestmark = pytest.mark.browser

NOTE = "Private: scalp bled a little near the crown."
WAITING = "1 application saved on this phone has not been sent yet."


def _ben_and_ava(enrolled):
    ben, ben_course, ben_email, password = enrolled(first_name="Ben")
    ava, ava_course, ava_email, _ = enrolled(first_name="Ava")
    return {
        "ben_id": ben.id,
        "ben_course": ben_course.id,
        "ben_email": ben_email,
        "ava_course": ava_course.id,
        "ava_email": ava_email,
        "password": password,
    }


def _ben_applies_offline(page, context, who):
    """Ben signs in, does application 2 offline (pain 9, a private note): it waits in the outbox."""
    context.clock.install(time=dt.datetime.now(dt.UTC))
    sign_in(page, who["ben_email"], who["password"])
    expect(page.locator(".lead")).to_have_text("Hello Ben.")
    wait_for_service_worker(page)
    _keep_for_offline(page)
    context.set_offline(True)
    do_application(page, pain=9, note=NOTE, fast_forward=lambda: page.clock.fast_forward("01:05"))
    expect(page.locator("#main")).to_contain_text("Saved on this phone")
    expect(page.locator("#sync")).to_have_text("1 change waiting to sync")


def _keep_for_offline(page):
    """Settings loads the clinic's steps (and settings), which the guided application needs offline."""
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")
    expect(page.get_by_role("button", name="Save settings")).to_be_visible()
    page.get_by_role("link", name="Today", exact=True).click()
    page.heading("Today")


def _ben_signed_out_by_the_server(page, context, who, how):
    """Ben's sessions end on the server; the phone comes back online and shows Sign in, either
    on the next start ("reopened") or as soon as the open app hears 401 ("in place")."""
    end_sessions(who["ben_id"])
    context.set_offline(False)
    if how == "reopened":
        page.goto("/")
    else:
        page.get_by_role("button", name="Back to Today").click()
    page.heading("Sign in")
    expect(page.locator("#sync")).to_have_text("")
    expect(page.locator("#main")).to_contain_text(WAITING)
    assert logs_for(who["ben_course"], 2) == 0


def _sign_in_here(page, email, password):
    """Signs in from the Sign in screen already shown (no new page load)."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.heading("Today")


@pytest.mark.parametrize("how", ["reopened", "in place"])
def test_another_patient_signing_in_never_sends_and_removes_the_waiting_item(page, context, enrolled, how):
    who = _ben_and_ava(enrolled)
    _ben_applies_offline(page, context, who)
    _ben_signed_out_by_the_server(page, context, who, how)

    _sign_in_here(page, who["ava_email"], who["password"])
    expect(page.locator(".lead")).to_have_text("Hello Ava.")
    expect(page.locator("#sync")).to_have_text("")
    expect(page.locator(".next .course-label")).to_have_text("Application 2 of 24 · kit 1")
    outbox_settled(page)
    # Not recorded on Ava's course, and not on Ben's while Ben is not signed in.
    assert logs_for(who["ava_course"], 2) == 0
    assert logs_for(who["ben_course"], 2) == 0
    # Nothing of Ben's is left on the device: no item, no copy of his course, no session.
    kept = device_storage(page)
    assert kept["indexeddb"]["anagen"]["outbox"] == []
    everything = json.dumps(kept)
    for trace in (NOTE, "Ben", who["ben_email"], f'"patient:{who["ben_id"]}"'):
        assert trace not in everything, trace
    # Another start as Ava sends nothing either.
    page.reload()
    page.heading("Today")
    outbox_settled(page)
    assert logs_for(who["ava_course"], 2) == 0
    assert logs_for(who["ben_course"], 2) == 0


@pytest.mark.parametrize("how", ["reopened", "in place"])
def test_the_same_patient_signing_in_again_sends_the_waiting_item_once(page, context, enrolled, how):
    who = _ben_and_ava(enrolled)
    _ben_applies_offline(page, context, who)
    _ben_signed_out_by_the_server(page, context, who, how)

    _sign_in_here(page, who["ben_email"], who["password"])
    expect(page.locator(".lead")).to_have_text("Hello Ben.")
    expect(page.locator("#sync")).to_have_text("", timeout=15_000)
    outbox_settled(page)
    assert recorded_check_ins(who["ben_course"], 2) == [(9, NOTE, True)]
    assert logs_for(who["ava_course"], 2) == 0
    assert device_storage(page)["indexeddb"]["anagen"]["outbox"] == []
    page.reload()
    page.heading("Today")
    outbox_settled(page)
    assert logs_for(who["ben_course"], 2) == 1


def test_signing_out_with_something_unsent_asks_first(page, context, enrolled):
    who = _ben_and_ava(enrolled)
    context.clock.install(time=dt.datetime.now(dt.UTC))
    sign_in(page, who["ben_email"], who["password"])
    wait_for_service_worker(page)
    _keep_for_offline(page)
    context.set_offline(True)
    do_application(page, pain=9, note=NOTE, fast_forward=lambda: page.clock.fast_forward("01:05"))
    page.get_by_role("button", name="Back to Today").click()
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")

    sign_out = page.get_by_role("button", name="Sign out")
    sign_out.click()
    dialog = page.get_by_role("dialog", name="1 application not yet sent — sign out anyway?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Signing out removes it, and your clinic will not receive it.")
    expect(dialog.get_by_role("button", name="Stay signed in")).to_be_focused()
    page.check_screen("sign-out-unsent")
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    expect(sign_out).to_be_focused()
    page.heading("Settings")
    expect(page.locator("#sync")).to_have_text("1 change waiting to sync")

    # A settings change saved offline as well: both are named, in the plural where it applies.
    page.get_by_label("No notifications during quiet hours").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#main")).to_contain_text("Saved on this phone")
    sign_out.click()
    dialog = page.get_by_role(
        "dialog", name="1 application and 1 settings change not yet sent — sign out anyway?"
    )
    expect(dialog).to_contain_text("Signing out removes them, and your clinic will not receive them.")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert len(device_storage(page)["indexeddb"]["anagen"]["outbox"]) == 2

    sign_out.click()
    page.get_by_role("dialog").get_by_role("button", name="Sign out anyway").click()
    page.heading("Sign in")
    assert device_storage(page)["indexeddb"] == {}
    context.set_offline(False)


def test_unsent_items_are_described_with_plurals(page):
    page.goto("/")
    page.heading("Sign in")
    said = page.evaluate(
        """() => import("/app/js/outbox.js").then((outbox) => [
            [{ kind: "complete" }],
            [{ kind: "complete" }, { kind: "complete" }],
            [{ kind: "settings" }, { kind: "settings" }],
            [{ kind: "complete" }, { kind: "settings" }, { kind: "complete" }],
        ].map((items) => outbox.describe(items)))"""
    )
    assert said == [
        "1 application",
        "2 applications",
        "2 settings changes",
        "2 applications and 1 settings change",
    ]


# The device as the previous release left it (IndexedDB version 1): records without an owner.
TO_VERSION_1 = """async (keepAccount) => {
    const db = await import("/app/js/db.js");
    const items = (await db.outboxAll()).map(({ owner, ...item }) => item);
    const kv = {};
    for (const key of ["account", "snap:today", "snap:plan", "snap:settings", "snap:protocol"]) {
        const value = await db.get(key);
        if (value && (key !== "account" || keepAccount)) kv[key] = key === "account" ? value : value.data;
    }
    await db.destroy();
    const v1 = await new Promise((resolve, reject) => {
        const req = indexedDB.open("anagen", 1);
        req.onupgradeneeded = () => {
            req.result.createObjectStore("kv");
            req.result.createObjectStore("outbox", { keyPath: "key" });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
    await new Promise((resolve) => {
        const tx = v1.transaction(["kv", "outbox"], "readwrite");
        for (const [key, value] of Object.entries(kv)) tx.objectStore("kv").put(value, key);
        for (const item of items) tx.objectStore("outbox").put(item);
        tx.oncomplete = resolve;
    });
    v1.close();
    return items.length;
}"""


@pytest.mark.parametrize("account_known", [True, False])
def test_an_outbox_from_the_previous_release_goes_to_its_patient_only(page, context, enrolled, account_known):
    who = _ben_and_ava(enrolled)
    _ben_applies_offline(page, context, who)
    assert page.evaluate(TO_VERSION_1, account_known) == 1

    # The app starts offline on the old database: the upgrade files everything under the
    # patient who was signed in (version 1's "account"), if the device still knew who.
    page.goto("/")
    if not account_known:
        # No one to give it to: the next sign-in clears the device, nothing is sent.
        page.heading("Sign in")
        context.set_offline(False)
        page.goto("/#/login")
        page.heading("Sign in")
        _sign_in_here(page, who["ben_email"], who["password"])
        outbox_settled(page)
        assert logs_for(who["ben_course"], 2) == 0
        assert NOTE not in json.dumps(device_storage(page))
        return
    page.heading("Today")
    expect(page.locator("#sync")).to_have_text("1 change waiting to sync")
    context.set_offline(False)
    expect(page.locator("#sync")).to_have_text("", timeout=15_000)
    outbox_settled(page)
    assert recorded_check_ins(who["ben_course"], 2) == [(9, NOTE, True)]
    assert device_storage(page)["indexeddb"]["anagen"]["outbox"] == []
