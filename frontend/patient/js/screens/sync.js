// What is waiting to reach the clinic, and what the server refused (never dropped silently).
import * as outbox from "../outbox.js";
import { h, show, screen, alert, notice, button, busy, ask } from "/shared/dom.js";

export async function render() {
  const items = await outbox.pending();
  const status = h("div", { role: "status" });
  const list = items.map((item) =>
    h("li", { class: `card ${item.status}` },
      h("p", {}, h("strong", {}, item.label)),
      h("p", { class: "hint" }, `Saved on this phone ${new Date(item.queued_at).toLocaleString("en-GB", { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" })}.`),
      item.status === "failed"
        ? [
            alert(`Not accepted: ${item.error.message} If this keeps happening, contact your clinic.`),
            h("div", { class: "row" },
              button("Try again", (e) => busy(e.currentTarget, "Trying…", () => outbox.retry(item.key).then(render))),
              button("Remove", async () => {
                if (await ask({ title: "Remove this from your phone?", text: "Your clinic will not receive it.", yes: "Remove", no: "Keep it" })) {
                  await outbox.remove(item.key);
                  render();
                }
              }, { kind: "secondary" })),
          ]
        : h("p", {}, "Waiting for a connection.")));
  show(
    screen(
      "Waiting to sync",
      items.length
        ? h("p", {}, "These are saved on this phone and will be sent to your clinic automatically when you are online.")
        : alert("Everything is saved with your clinic.", "ok"),
      h("ul", { class: "plain-list stack" }, list),
      items.length ? button("Send now", (e) => busy(e.currentTarget, "Sending…", async () => {
        await outbox.replay().catch(() => null);
        const left = await outbox.pending();
        if (left.some((i) => i.status === "waiting")) status.replaceChildren(notice(navigator.onLine ? "Your clinic's service could not be reached. We will keep trying." : "You are offline. We will send them when you are back online.", "warn"));
        else render();
      })) : null,
      status,
      h("a", { class: "btn secondary", href: "#/today" }, "Back to Today")
    )
  );
}
