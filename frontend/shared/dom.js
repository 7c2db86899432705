// Tiny DOM builder: h("p", {class: "x", onclick: fn}, "text", child). Never uses innerHTML,
// so text from the server (clinic messages, names) is always inert.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value != null && value !== false) el.setAttribute(name, value);
  }
  return append(el, children);
}

// Replaces the main region with a screen and moves focus to its heading, so screen
// readers announce the new screen and keyboard users start at the top.
export function show(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children.flat().filter(Boolean));
  const heading = main.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
    document.title = `${heading.textContent} · Anagen`;
  }
  window.scrollTo(0, 0);
}

export function screen(title, ...children) {
  return h("section", { class: "screen" }, h("h1", {}, title), ...children);
}

export function button(label, onclick, { kind = "primary", type = "button", ...rest } = {}) {
  return h("button", { type, class: `btn ${kind}`, onclick, ...rest }, label);
}

export function link(label, href, kind = "secondary") {
  return h("a", { class: `btn ${kind}`, href }, label);
}

export function alert(message, kind = "error") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

// The same look without its own role, for use inside a live region that already exists.
export function notice(message, kind = "error") {
  return h("p", { class: `notice ${kind}` }, message);
}

export function progress(step, total, label) {
  return h(
    "div",
    { class: "progress" },
    h("p", { class: "progress-label" }, label || `Step ${step} of ${total}`),
    h("progress", { max: total, value: step, "aria-hidden": "true" })
  );
}

// Marks a button busy while an async action runs: the wait is visible and double taps do nothing.
export async function busy(btn, text, fn) {
  const original = btn.textContent;
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  btn.textContent = text;
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
    btn.textContent = original;
  }
}

// A question in a modal <dialog> (focus stays inside it, Escape answers no). The safe
// answer `no` has the focus first; resolves true only for `yes`. Focus then returns to
// where it was.
export function ask({ title, text, yes, no, danger = true }) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const dialog = h(
      "dialog",
      { class: "ask", "aria-labelledby": "ask-title", "aria-describedby": "ask-text" },
      h("h2", { id: "ask-title" }, title),
      h("p", { id: "ask-text" }, text),
      button(no, () => dialog.close("no"), { autofocus: true }),
      button(yes, () => dialog.close("yes"), { kind: danger ? "secondary danger" : "secondary" })
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (back && back.isConnected) back.focus();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
