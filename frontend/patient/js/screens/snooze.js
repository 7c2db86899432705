// A tapped application reminder (#/reminder/<id>): start now, or "remind me in an hour" —
// the snooze for platforms whose notifications have no action buttons (Safari, iOS).
// #/snooze/<id> is the same without the start button (the notification's own snooze failed).
import * as push from "../push.js";
import { h, show, screen, notice, button, busy, link } from "/shared/dom.js";
import { when } from "/shared/format.js";
import { go } from "../router.js";

export function reminder({ id }) {
  render({ id }, { offerStart: true });
}

export function render({ id }, { offerStart = false } = {}) {
  const status = h("div", { role: "status" });
  const say = (text, kind) => status.replaceChildren(notice(text, kind));
  const btn = button("Remind me in 1 hour", () => busy(btn, "Snoozing…", async () => {
    try {
      const snoozed = await push.snooze(id);
      btn.hidden = true;
      say(`Done. We will remind you again at ${when(snoozed.due_at).split(", ").pop()}.`, "ok");
    } catch (err) {
      if (err.code === "already_done") {
        btn.hidden = true;
        say("This application is already done, so there is nothing to remind you about.", "ok");
      } else if (err.status === 404) {
        btn.hidden = true;
        say("This reminder can no longer be snoozed.", "warn");
      } else {
        say(err.offline ? "You are offline. Connect to the internet, then try again." : err.message, "error");
      }
    }
  }));
  if (offerStart) {
    btn.className = "btn secondary";
    show(
      screen(
        "Time for your treatment",
        h("p", {}, "Start now, or if this is not a good moment we will remind you again in an hour."),
        button("Start application", () => go("/today")),
        btn,
        status
      )
    );
    return;
  }
  show(
    screen(
      "Remind me later",
      h("p", {}, "Not a good moment? We will send this reminder again in an hour."),
      btn,
      status,
      link("Go to Today", "#/today")
    )
  );
}
