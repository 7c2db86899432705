"""Steps the browser tests share: onboarding from an invite and one guided application."""

from __future__ import annotations

from playwright.sync_api import expect

NEW_PASSWORD = "a calm new password 42"


def onboard(page, token, *, check=None):
    """Redeems the invite through the screens, ending on Today. `check(name)` runs per screen."""
    check = check or (lambda name: None)
    page.goto(f"/#/invite/{token}")
    page.heading("Welcome, Pat")
    check("onboarding-welcome")
    page.get_by_role("button", name="Get started").click()
    page.heading("Set your password")
    expect(page.get_by_label("Your email")).to_have_attribute("autocomplete", "username")
    expect(page.get_by_label("Your email")).to_have_attribute("readonly", "")
    expect(page.get_by_label("Choose a password")).to_have_attribute("autocomplete", "new-password")
    check("onboarding-password")
    page.get_by_label("Choose a password").fill("too short")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 10 characters")
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.heading("Sharing your photos")
    check("onboarding-consent")
    page.get_by_label("I agree to share my treatment photos").check()
    page.get_by_role("button", name="Create my account").click()
    page.heading("Add Anagen to your home screen")
    check("onboarding-install")
    page.get_by_role("button", name="Next").click()
    page.heading("Reminders on your phone")
    check("onboarding-notifications")
    page.get_by_role("button", name="Next").click()
    page.heading("Your reminder days")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/London")
    check("onboarding-reminders")
    # Monday and Tuesday are too close: the clinic's rule is shown before the server is asked.
    page.get_by_label("Monday").check()
    page.get_by_label("Thursday").uncheck()
    page.get_by_label("Tuesday").check()
    page.get_by_role("button", name="Save and finish").click()
    expect(page.get_by_role("alert")).to_contain_text("too close together")
    page.get_by_label("Tuesday").uncheck()
    page.get_by_label("Thursday").check()
    page.get_by_role("button", name="Save and finish").click()
    page.heading("Today")


def do_application(
    page, *, check=None, pain=2, fast_forward=None, note="Slight tingling, gone after ten minutes."
):
    """From Today, runs every step of the guided application and finishes it."""
    check = check or (lambda name: None)
    page.get_by_role("button", name="Start application").click()
    page.heading("Get ready")
    expect(page.locator(".course-label").first).to_contain_text("of 24")
    check("session-prepare")
    page.get_by_role("button", name="Next").click()
    page.heading("Part your hair")
    expect(page.locator("svg.scalp-map path.area.target")).to_have_count(2)
    check("session-part")
    page.get_by_role("button", name="Next").click()
    page.heading("Stamp each area")
    check("session-stamp")
    for area in ("Crown", "Parting line"):
        for _ in range(4):
            page.get_by_role("button", name=f"Add a pass to {area}").click()
    expect(page.locator("#count-crown")).to_have_text("4 of 4 passes ✓")
    page.get_by_role("button", name="Next").click()
    page.heading("Apply the serum")
    check("session-apply")
    page.get_by_role("button", name="Next").click()
    page.heading("Massage it in")
    page.get_by_role("button", name="Start timer").click()
    expect(page.locator(".timer")).to_contain_text("left")
    check("session-massage")
    if fast_forward:
        fast_forward()
    expect(page.locator(".timer")).to_have_text("Done", timeout=75_000)
    page.get_by_role("button", name="Next").click()
    page.heading("Aftercare")
    check("session-aftercare")
    page.get_by_role("button", name="Next").click()
    page.heading("How did it go?")
    page.get_by_role("group", name="Redness").get_by_label("Mild").check()
    page.get_by_role("group", name="Irritation").get_by_label("None").check()
    page.get_by_role("group", name="Pain now").get_by_label(str(pain), exact=True).check()
    page.get_by_label("Anything else").fill(note)
    check("session-check-in")
    page.get_by_role("button", name="Finish application").click()
    page.heading("Application done")


def sign_in(page, email, password):
    """The returning patient's sign-in, ending on Today."""
    page.goto("/#/login")
    page.heading("Sign in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.heading("Today")


def wait_for_service_worker(page):
    """Until the service worker controls the page (clients.claim on its first activation)."""
    # A function, not an expression string: the page's CSP forbids eval of strings.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


# -- Web push in a headless browser ---------------------------------------------------------
# Headless Chromium refuses PushManager.subscribe(), so the page gets a stand-in whose
# subscription is one the test's own push service (tests/support/pushservice.py) holds the keys of;
# its state lives in the test process (FakePushDevice), so it survives reloads.
PUSH_STUB = """(() => {
  const SUB = __SUBSCRIPTION__;
  const call = (op, arg) => window.__anagenPushDevice(op, arg === undefined ? null : arg);
  const bytes = (b64) => Uint8Array.from(
    atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (b64.length % 4)) % 4)),
    (c) => c.charCodeAt(0));
  const b64 = (key) => {
    const a = key instanceof ArrayBuffer
      ? new Uint8Array(key)
      : new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
    return btoa(String.fromCharCode(...a)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  };
  const make = (serverKey) => ({
    endpoint: SUB.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: bytes(serverKey).buffer },
    getKey: (name) => (SUB.keys[name] ? bytes(SUB.keys[name]).buffer : null),
    toJSON: () => ({ endpoint: SUB.endpoint, expirationTime: null, keys: { ...SUB.keys } }),
    unsubscribe: () => call("unsubscribe").then(() => true),
  });
  PushManager.prototype.subscribe = async function (options = {}) {
    if (options.userVisibleOnly !== true) {
      throw new DOMException("userVisibleOnly must be true", "NotAllowedError");
    }
    const key = options.applicationServerKey;
    if (!key) throw new DOMException("applicationServerKey is required", "AbortError");
    const serverKey = typeof key === "string" ? key : b64(key);
    await call("subscribe", serverKey);
    return make(serverKey);
  };
  PushManager.prototype.getSubscription = async function () {
    const serverKey = await call("get");
    return serverKey ? make(serverKey) : null;
  };
})();"""


class FakePushDevice:
    """The browser side of one push subscription: `server_key` is the applicationServerKey
    the page subscribed with (None when not subscribed); `calls` records what the page did."""

    def __init__(self, subscription: dict):
        self.subscription = subscription
        self.server_key: str | None = None
        self.calls: list[str] = []

    def __call__(self, _source, op, arg):
        self.calls.append(op)
        if op == "subscribe":
            self.server_key = arg
        elif op == "unsubscribe":
            self.server_key = None
        return self.server_key


def install_push_stub(context, subscription: dict) -> FakePushDevice:
    """Replaces PushManager.subscribe/getSubscription in every page of `context`."""
    import json

    device = FakePushDevice(subscription)
    context.expose_binding("__anagenPushDevice", device)
    context.add_init_script(PUSH_STUB.replace("__SUBSCRIPTION__", json.dumps(subscription)))
    return device


def wait_until(page, condition, timeout=15.0, message="condition"):
    """Polls `condition()` (server-side state) while letting the browser run (not time.sleep:
    the page's calls into the test process are only answered inside Playwright calls)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        page.wait_for_timeout(100)


class PushDelivery:
    """Pushes to the page's real service worker over the DevTools protocol, as a browser's
    push service would (the payload as the worker's `event.data`)."""

    def __init__(self, page, origin: str):
        self.page = page
        self.origin = origin
        self.registrations: dict[str, dict] = {}
        self.cdp = page.context.new_cdp_session(page.page)
        self.cdp.on("ServiceWorker.workerRegistrationUpdated", self._updated)
        self.cdp.send("ServiceWorker.enable")

    def _updated(self, event):
        for reg in event["registrations"]:
            if reg.get("isDeleted"):
                self.registrations.pop(reg["registrationId"], None)
            else:
                self.registrations[reg["registrationId"]] = reg

    def registration_id(self) -> str:
        scope = self.origin + "/"
        found = wait_until(
            self.page,
            lambda: [r for r, reg in self.registrations.items() if reg["scopeURL"] == scope],
            message="the service worker registration",
        )
        return found[0]

    def deliver(self, data: str) -> None:
        self.cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": self.origin, "registrationId": self.registration_id(), "data": data},
        )


def shown_notifications(page) -> list[dict]:
    """What the service worker is showing: registration.getNotifications()."""
    return page.evaluate(
        """async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({
            title: n.title, body: n.body, tag: n.tag, data: n.data, timestamp: n.timestamp,
            actions: (n.actions || []).map((a) => ({ action: a.action, title: a.title })),
            icon: n.icon, badge: n.badge, renotify: n.renotify,
        }))"""
    )


def set_notification_permission(page, setting: str) -> None:
    """ "granted", "denied" or "prompt" for the page's origin, in its own browser context only
    (Playwright can grant or clear, not deny)."""
    info = page.context.new_cdp_session(page.page).send("Target.getTargetInfo")["targetInfo"]
    page.context.browser.new_browser_cdp_session().send(
        "Browser.setPermission",
        {
            "permission": {"name": "notifications"},
            "setting": setting,
            "origin": page.base_url,
            "browserContextId": info["browserContextId"],
        },
    )


def device_storage(page) -> dict:
    """Everything the app keeps in the browser: each IndexedDB database's records (per
    store), localStorage, sessionStorage and the Cache Storage names."""
    return page.evaluate(
        """async () => {
            const dbs = {};
            for (const { name, version } of await indexedDB.databases()) {
                const db = await new Promise((resolve, reject) => {
                    const req = indexedDB.open(name, version);
                    req.onsuccess = () => resolve(req.result);
                    req.onerror = () => reject(req.error);
                });
                const stores = {};
                for (const store of db.objectStoreNames) {
                    stores[store] = await new Promise((resolve) => {
                        const req = db.transaction(store).objectStore(store).getAll();
                        req.onsuccess = () => resolve(req.result);
                    });
                }
                db.close();
                dbs[name] = stores;
            }
            return {
                indexeddb: dbs,
                local: { ...localStorage },
                session: { ...sessionStorage },
                caches: await caches.keys(),
            };
        }"""
    )


def outbox_settled(page) -> None:
    """Waits for the app's outbox to finish a replay of its own (whatever it was sending)."""
    page.evaluate("() => import('/app/js/outbox.js').then((outbox) => outbox.replay())")


def keep_for_offline(page):
    """Opens Plan and Settings (Settings loads the clinic's steps, which the guided application
    needs offline), then comes back to Today."""
    page.get_by_role("link", name="Plan", exact=True).click()
    page.heading("Your plan")
    expect(page.locator(".calendar .day.has").first).to_be_visible()
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")
    expect(page.get_by_role("button", name="Save settings")).to_be_visible()
    page.get_by_role("link", name="Today", exact=True).click()
    page.heading("Today")


def offer_accepted_if_made(page):
    """On Today, once the next application's card is drawn: when it is not yet its day but it
    may be done today instead, takes that offer, so "Start application" is there either way."""
    card = page.locator(".next")
    expect(card.get_by_role("button").first).to_be_visible()
    move = card.get_by_role("button", name="Do it today instead")
    if move.count():
        move.click()
        expect(card).to_contain_text("moves from")
