// Boot and the shell: who is signed in, the top navigation, the page for the current path,
// focus on each new page's heading, the idle sign-out warning and the password prompt.
import { html, render, useState, useLayoutEffect } from "./html.js";
import { state, isAdmin, useStore } from "./store.js";
import * as router from "./router.js";
import { loadSession, signOut } from "./api.js";
import "./routes.js";
import { Login } from "./screens/login.js";
import { IdleWarning, ReauthDialog, watchActivity } from "./session.js";
import { Notice } from "./ui.js";

const NAV = [
  ["patients", "/", "Patients"],
  ["photos", "/photos", "Photos to review"],
  ["enrol", "/enrol", "Enrol a patient"],
  ["admin", "/admin/staff", "Admin", true],
];

function useRoute() {
  const [match, setMatch] = useState(router.current());
  const [focusKey, setFocusKey] = useState(0);
  // A layout effect subscribes right after the first render (useEffect waits for the next
  // paint, and a navigation in between would be missed).
  useLayoutEffect(
    () =>
      router.subscribe((info) => {
        setMatch(router.current());
        if (!info || !info.quiet) setFocusKey((k) => k + 1);
      }),
    []
  );
  return [match, focusKey];
}

function Header({ match }) {
  const account = state.account;
  const nav = match.options.nav;
  return html`<header class="topbar">
    <div class="topbar-inner">
      <a class="brand" href=${router.href("/")}>Anagen <span class="brand-sub">clinic</span></a>
      <nav aria-label="Main" class="mainnav">
        <ul>
          ${NAV.filter(([, , , admin]) => !admin || isAdmin()).map(
            ([key, path, label]) => html`<li><a href=${router.href(path)} aria-current=${nav === key ? "page" : undefined}>${label}</a></li>`
          )}
        </ul>
      </nav>
      <div class="who">
        <span><span class="who-name">${account.name}</span> <span class="who-clinic">${account.clinic?.name} · ${account.role}</span></span>
        <button type="button" class="btn secondary small" onClick=${() => signOut().then(() => router.navigate("/"))}>Sign out</button>
      </div>
    </div>
  </header>`;
}

function NotFound() {
  return html`<section class="screen">
    <h1>Page not found</h1>
    <p>There is no page at this address. <a href=${router.href("/")}>Go to the patient list</a>.</p>
  </section>`;
}

function NotAllowed() {
  return html`<section class="screen">
    <h1>Not available to your account</h1>
    <p>Only the clinic's admins can open this page. <a href=${router.href("/")}>Go to the patient list</a>.</p>
  </section>`;
}

function App() {
  useStore();
  const [match, focusKey] = useRoute();
  const title = match.options.title || "Anagen clinic";

  // A new page: its title in the tab, and focus on its heading so a screen reader reads it
  // and the next Tab starts at the top of the page, not where the old page's link was.
  useLayoutEffect(() => {
    document.title = `${state.status === "signed-out" ? "Sign in" : title} · Anagen clinic`;
    if (focusKey === 0) return;
    const h1 = document.querySelector("main h1");
    if (h1) {
      h1.setAttribute("tabindex", "-1");
      h1.focus();
    }
    window.scrollTo(0, 0);
  }, [focusKey, state.status]);

  if (state.status === "loading") return html`<main id="main" tabindex="-1"><p class="loading" role="status">Loading the clinic workspace…</p></main>`;
  if (state.status === "signed-out") {
    return html`<a class="skip" href="#main">Skip to content</a>
      <main id="main" tabindex="-1" class="narrow"><${Login} reason=${state.reason} /></main>`;
  }
  const Screen = match.component;
  let body;
  if (!Screen) body = html`<${NotFound} />`;
  else if (match.options.admin && !isAdmin()) body = html`<${NotAllowed} />`;
  else body = html`<${Screen} key=${match.path} params=${match.params} query=${match.query} />`;
  return html`<a class="skip" href="#main">Skip to content</a>
    <${Header} match=${match} />
    <main id="main" tabindex="-1" class=${match.options.wide === false ? "narrow" : ""}>${body}</main>
    <${IdleWarning} />
    <${ReauthDialog} />`;
}

function Failed({ error }) {
  return html`<main id="main" class="narrow"><h1>The workspace could not start</h1>
    <${Notice} kind="error" role="alert"><p>${error.message}</p></${Notice}>
    <p><a href=${router.href("/")}>Reload</a></p></main>`;
}

async function boot() {
  const root = document.getElementById("root");
  router.start();
  watchActivity();
  render(html`<${App} />`, root);
  try {
    await loadSession();
  } catch (error) {
    render(html`<${Failed} error=${error} />`, root);
  }
}

boot();
