// "Remind me later" for a reminder (#/snooze/<id>): where notifications have no action
// buttons (Safari, iOS) or the notification's own snooze did not get through.
import * as push from "../push.js";
import { h, show, screen, notice, button, busy, link } from "../dom.js";
import { when } from "../format.js";

export function render({ id }) {
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
