// One photo view (#/photos/<checkpoint>/<view>): line up, take, check, send.
// Line up: the live camera (getUserMedia) under the view's outline and a see-through copy of the
// patient's last photo of the same view; or the phone's own camera app through a file input
// (always offered: iOS home-screen apps have had an unreliable getUserMedia). Check: the photo
// as taken, before anything leaves the phone. Send: the photo goes into the outbox first (kept
// on this phone for the signed-in patient) and is sent from there with a progress bar, so a
// photo taken offline or during a failed upload is never lost: it waits and is sent later.
import * as camera from "../camera.js";
import * as outbox from "../outbox.js";
import { h, show, alert, notice, button } from "/shared/dom.js";
import { go, lease } from "../router.js";
import { outline } from "../outlines.js";
import { loadPhotos, ghostFor, ghostImage, clinicName, photosPath, viewsOf, capturable, waitingPhotos } from "../photodata.js";

const TIMER_SECONDS = 5;

let preview = null; // the object URL of the photo being checked, released when replaced
let ghostUrl = null; // the last photo's, released when the screen changes
const release = () => {
  if (preview) URL.revokeObjectURL(preview);
  preview = null;
};
window.addEventListener("hashchange", () => {
  release();
  if (ghostUrl) URL.revokeObjectURL(ghostUrl);
  ghostUrl = null;
});

export async function render({ checkpoint, view }) {
  const live = lease();
  show(h("section", { class: "screen" }, h("h1", {}, "Progress photos"), h("p", { class: "loading", role: "status" }, "Loading…")));
  let result;
  try {
    result = await loadPhotos();
  } catch (err) {
    if (!live()) return;
    if (err.status === 401) return go("/login", { replace: true });
    show(h("section", { class: "screen" }, h("h1", {}, "Progress photos"), alert(err.message), button("Try again", () => render({ checkpoint, view }))));
    return;
  }
  const data = result.data;
  const cp = (data.checkpoints || []).find((c) => c.key === checkpoint);
  const views = cp ? viewsOf(data, cp) : [];
  const index = views.findIndex((v) => v.key === view);
  if (!cp || index < 0 || !capturable(cp)) return go("/photos", { replace: true });
  const v = views[index];
  if (data.consent_given === false) {
    // The server would refuse the photo: first the patient's agreement, on the Photos screen.
    const name = await clinicName(data);
    if (!live()) return;
    show(
      h("section", { class: "screen" },
        h("h1", {}, v.label),
        alert(`You have not agreed to share your photos with ${name}, so the app cannot send them.`, "warn"),
        h("a", { class: "btn primary", href: `#${photosPath()}` }, "Decide on the Photos screen"))
    );
    return;
  }
  const ghost = ghostFor(data, checkpoint, view);
  const ghostSrc = ghost ? await ghostImage(ghost, view) : null;
  const clinic = await clinicName(data);
  const queued = await waitingPhotos();
  if (!live()) {
    if (ghostSrc) URL.revokeObjectURL(ghostSrc);
    return;
  }
  ghostUrl = ghostSrc;
  new Capture({ data, cp, v, views, index, ghostSrc, clinic, queued }).show();
}

class Capture {
  constructor({ data, cp, v, views, index, ghostSrc, clinic, queued }) {
    Object.assign(this, { data, cp, v, views, index, ghostSrc, clinic, queued });
    this.facing = "environment";
    this.photo = null; // { blob, name, taken_at }
    this.timer = false; // the self-timer
    this.finished = new Set(); // views sent (or saved to send) from this screen
  }

  show() {
    const { v, cp, views, index } = this;
    const general = this.data.tips || {};
    const tips = [general.lighting, general.distance, ...(v.tips || [])].filter(Boolean);
    this.video = h("video", { class: "live", "aria-hidden": "true", muted: true, playsinline: true, hidden: true });
    this.review = h("img", { class: "review", alt: `Your photo: ${v.label}`, hidden: true });
    this.review.addEventListener("error", () => {
      // HEIC and other formats the browser cannot draw: still sent as they are.
      if (!this.photo) return;
      this.review.hidden = true;
      this.hint.textContent = "This phone's photo format cannot be shown here. It will be sent as it is; the clinic's service turns it into a standard photo.";
      this.hint.hidden = false;
    });
    this.ghost = this.ghostSrc ? h("img", { class: "ghost", alt: "", src: this.ghostSrc }) : null;
    if (this.ghost) this.ghost.addEventListener("error", () => this.ghost && (this.ghost.hidden = true));
    this.hint = h("p", { class: "stage-hint" });
    this.count = h("p", { class: "stage-count", "aria-hidden": "true", hidden: true });
    this.stage = h("div", { class: "stage" }, this.video, this.review, this.ghost, outline(v), this.hint, this.count);
    // What the screen says: shown in `status`, and read out through one live region that is
    // there from the start (a region added with its text is not reliably announced).
    this.status = h("div", { class: "capture-status" });
    this.live = h("p", { class: "visually-hidden", role: "status" });
    this.controls = h("div", { class: "capture-controls" });

    const ghostToggle = this.ghost
      ? h("div", { class: "check" },
          h("input", { type: "checkbox", id: "ghost-toggle", checked: true, onchange: (e) => (this.ghost.hidden = !e.currentTarget.checked) }),
          h("label", { for: "ghost-toggle" }, "Show my last photo of this view to line up with"))
      : null;

    show(
      h("section", { class: "screen capture" },
        h("div", { class: "capture-head" },
          h("h1", {}, v.label),
          h("p", { class: "course-label" }, cp.ad_hoc ? cp.label : `${cp.label} · view ${index + 1} of ${views.length}`),
          h("p", { class: "step-text" }, v.guidance),
          tips.length ? h("details", { class: "tips" }, h("summary", {}, "Tips for a photo your clinic can compare"), h("ul", {}, tips.map((t) => h("li", {}, t)))) : null),
        this.stage,
        h("div", { class: "capture-side" }, ghostToggle, this.live, this.status, this.controls, h("a", { class: "leave", href: `#${photosPath()}` }, "Back to your photos")))
    );
    this.aim();
  }

  say(message, kind) {
    this.status.replaceChildren(notice(message, kind));
    this.live.textContent = message;
  }

  // Lining up: the camera if it runs, else the buttons to start it or use the camera app.
  aim(message = null) {
    this.photo = null;
    release();
    this.review.hidden = true;
    this.review.removeAttribute("src");
    const running = camera.live();
    this.video.hidden = !running;
    this.hint.hidden = running;
    this.hint.textContent = "Start the camera, or take a photo with your phone's camera app.";
    if (message) this.say(message, "warn");
    else this.status.replaceChildren();
    const buttons = [];
    if (running) {
      buttons.push(button("Take photo", (e) => this.shoot(e.currentTarget), { kind: "primary big" }));
      buttons.push(
        h("div", { class: "check" },
          h("input", { type: "checkbox", id: "self-timer", checked: !!this.timer, onchange: (e) => (this.timer = e.currentTarget.checked) }),
          h("label", { for: "self-timer" }, `Wait ${TIMER_SECONDS} seconds before taking it (for photos you cannot see the screen for)`))
      );
      buttons.push(button("Switch camera", () => this.start(this.facing === "environment" ? "user" : "environment"), { kind: "secondary" }));
    } else if (camera.supported()) {
      buttons.push(button("Start the camera", () => this.start(this.facing), { kind: camera.iosHomeScreen() ? "secondary" : "primary big" }));
    }
    buttons.push(this.fileInput(running || (camera.supported() && !camera.iosHomeScreen()) ? "secondary" : "primary big"));
    this.controls.replaceChildren(...buttons);
  }

  // The phone's camera app (or its photo library): a file input styled as a button.
  fileInput(kind) {
    const input = h("input", { type: "file", id: "photo-file", accept: "image/*", capture: "environment", class: "visually-hidden" });
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      if (!file) return;
      if (!file.size) return this.aim("That file is empty. Take the photo again.");
      camera.close();
      this.check({ blob: file, name: file.name || `${this.v.key}.jpg`, taken_at: new Date(file.lastModified || Date.now()).toISOString() });
    });
    return h("div", { class: "file-pick" }, input, h("label", { for: "photo-file", class: `btn ${kind}` }, "Take or choose a photo"));
  }

  async start(facing) {
    this.say("Starting the camera…", "ok");
    try {
      await camera.open(this.video, facing);
      this.facing = facing;
      this.stage.classList.toggle("mirrored", facing === "user");
      camera.onStop(() => this.photo || this.aim());
      this.aim();
      this.controls.querySelector("button").focus();
    } catch (err) {
      const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      this.aim(
        denied
          ? "The camera is blocked for Anagen. Use “Take or choose a photo” instead, or allow the camera in your browser's settings."
          : "The camera could not be started. Use “Take or choose a photo” instead."
      );
    }
  }

  async shoot(btn) {
    btn.disabled = true;
    try {
      if (this.timer) await this.wait();
      const blob = await camera.snap(this.video);
      camera.close();
      this.stage.classList.remove("mirrored");
      this.check({ blob, name: `${this.v.key}.jpg`, taken_at: new Date().toISOString() });
    } catch (err) {
      this.aim(err.message);
    } finally {
      btn.disabled = false;
    }
  }

  wait() {
    return new Promise((resolve) => {
      let left = TIMER_SECONDS;
      this.count.hidden = false;
      const tick = () => {
        this.count.textContent = String(left);
        this.say(`Taking the photo in ${left}…`, "ok");
        if (left-- === 0) {
          this.count.hidden = true;
          resolve();
        } else setTimeout(tick, 1000);
      };
      tick();
    });
  }

  // Checking the photo before it leaves the phone.
  check(photo) {
    this.photo = photo;
    release();
    preview = URL.createObjectURL(photo.blob);
    this.video.hidden = true;
    this.hint.hidden = true;
    this.review.src = preview;
    this.review.hidden = false;
    this.live.textContent = "Check your photo before sending it.";
    this.status.replaceChildren(
      h("p", { class: "callout" }, "Check your photo"),
      h("ul", { class: "checklist" },
        h("li", {}, "Sharp, not blurred"),
        h("li", {}, "Evenly lit, no shadow across the area"),
        h("li", {}, "Lines up with the outline and your last photo"))
    );
    this.controls.replaceChildren(
      button(`Send to ${this.clinic}`, () => this.send(), { kind: "primary big" }),
      button("Take it again", () => this.aim(), { kind: "secondary" })
    );
    this.controls.querySelector("button").focus();
  }

  async send() {
    const { blob, name, taken_at } = this.photo;
    let item;
    try {
      item = await outbox.enqueue({
        kind: "photo",
        method: "POST",
        path: "/api/me/photos",
        label: `Photo: ${this.v.label} (${this.cp.label})`,
        file: { data: await blob.arrayBuffer(), type: blob.type || "application/octet-stream", name },
        fields: { checkpoint: this.cp.key, view: this.v.key, taken_at },
      });
    } catch {
      return this.failed("This phone has no room left to keep the photo while it is sent. Free some space, then take it again.", null);
    }
    this.deliver(item.key);
  }

  // Sends what waits in the outbox (this photo included, `retry`: after it was refused) with a
  // progress bar, then says where the photo is: sent, refused (why), or waiting on this phone.
  async deliver(key, { retry = false } = {}) {
    const bar = h("progress", { max: 100, value: 0, "aria-label": "Sending the photo" });
    const label = h("p", { class: "progress-label" }, "Sending…");
    this.controls.replaceChildren(h("div", { class: "progress" }, label, bar));
    this.say("Sending your photo…", "ok");
    let announced = 0;
    const stop = outbox.onProgress((k, fraction) => {
      if (k !== key) return;
      const percent = Math.round(fraction * 100);
      bar.value = percent;
      label.textContent = `Sending… ${percent} %`;
      // The live region hears quarters, not every percent.
      if (percent >= announced + 25) {
        announced = percent - (percent % 25);
        this.say(`Sending your photo: ${announced} %`, "ok");
      }
    });
    try {
      if (retry) await outbox.retry(key).catch(() => null);
      await outbox.flush().catch(() => null);
    } finally {
      stop();
    }
    const left = (await outbox.pending()).find((i) => i.key === key);
    if (!left) return this.sent();
    if (left.status === "failed") return this.failed(left.error.message, key);
    this.waiting(key);
  }

  // A view is done when the clinic has an active photo of it at this checkpoint, or one waits to be sent.
  isDone(key) {
    return this.finished.has(key) || this.queued.has(`${this.cp.key}/${key}`) || (this.cp.views || []).some((v) => v.view === key && v.done);
  }

  sent() {
    release();
    this.finished.add(this.v.key);
    // The checkpoint's next view still to take (an extra photo is one photo: no next).
    const later = this.views.slice(this.index + 1).concat(this.views.slice(0, this.index));
    const next = this.cp.ad_hoc ? null : later.find((v) => !this.isDone(v.key));
    this.say(`Sent to ${this.clinic}.`, "ok");
    this.controls.replaceChildren(
      next
        ? h("a", { class: "btn primary big", href: `#${photosPath(this.cp.key, next.key)}` }, `Next: ${next.label}`)
        : h("p", {}, this.cp.ad_hoc ? "Thank you." : `That was the last view of ${this.cp.label}. Thank you.`),
      h("a", { class: `btn ${next ? "secondary" : "primary"}`, href: `#${photosPath()}` }, "See your photos")
    );
    this.controls.querySelector("a").focus();
  }

  waiting(key) {
    this.finished.add(this.v.key);
    this.say(
      navigator.onLine
        ? `Saved on this phone. ${this.clinic}'s service could not be reached; it will be sent automatically.`
        : `Saved on this phone. You are offline; it will be sent to ${this.clinic} when you are back online.`,
      "warn"
    );
    this.controls.replaceChildren(
      button("Try sending now", () => this.deliver(key)),
      h("a", { class: "btn secondary", href: `#${photosPath()}` }, "See your photos")
    );
  }

  failed(message, key) {
    this.live.textContent = "";
    this.status.replaceChildren(alert(`Not accepted: ${message}`)); // role "alert": said at once
    const buttons = [
      button("Take it again", async () => {
        if (key) await outbox.remove(key);
        this.aim();
      }),
    ];
    if (key) buttons.push(button("Try again", () => this.deliver(key, { retry: true }), { kind: "secondary" }));
    this.controls.replaceChildren(...buttons);
  }
}
