// The review UI's entry point: client-side routing (history.pushState), the active
// navigation link, and the API-token dialog. Each page module exports
// `render(main, ctx)`; `ctx.current()` turns false once the user navigated away, so a
// late answer never draws over the next page.

import { h, replace, link } from "./dom.js";
import { getToken, setToken, invalidate } from "./api.js";
import * as events from "./pages/events.js";
import * as detail from "./pages/detail.js";
import * as review from "./pages/review.js";
import * as dashboard from "./pages/dashboard.js";
import * as config from "./pages/config.js";
import * as audit from "./pages/audit.js";
import * as exporter from "./pages/export.js";

const ROUTES = [
  { pattern: /^\/$/, page: events, nav: "events", title: "Events" },
  { pattern: /^\/events\/(\d+)\/?$/, page: detail, nav: "events", title: "Event" },
  { pattern: /^\/review\/?$/, page: review, nav: "review", title: "Review Queue" },
  { pattern: /^\/dashboard\/?$/, page: dashboard, nav: "dashboard", title: "Dashboard" },
  { pattern: /^\/config\/?$/, page: config, nav: "config", title: "Configuration" },
  { pattern: /^\/export\/?$/, page: exporter, nav: "export", title: "Export" },
  { pattern: /^\/audit\/?$/, page: audit, nav: "audit", title: "Audit Trail" },
];

let generation = 0;

// Script errors and CSP violations, kept for the browser tests (and the console).
window.uiErrors = [];
window.addEventListener("error", (e) => window.uiErrors.push(`error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => window.uiErrors.push(`rejection: ${e.reason}`));
document.addEventListener("securitypolicyviolation", (e) =>
  window.uiErrors.push(`CSP: ${e.violatedDirective} ${e.blockedURI}`),
);

/**
 * Navigates to `url` (path + query) inside the app. `keep`: the page redraws over
 * its current content (a refresh of the same view), so nothing flashes or shifts.
 */
export function navigate(url, { replace: replaceState = false, keep = false } = {}) {
  if (replaceState) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render({ keep });
}

function render({ keep = false } = {}) {
  const main = document.getElementById("main");
  const path = location.pathname;
  const gen = ++generation;
  const ctx = {
    current: () => gen === generation,
    query: new URLSearchParams(location.search),
    navigate,
  };
  const route = ROUTES.find((r) => r.pattern.test(path));
  for (const a of document.querySelectorAll("[data-nav]")) {
    const active = route && a.dataset.nav === route.nav;
    a.classList.toggle("active", Boolean(active));
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!route) {
    document.title = "Page not found · Event Deduplication";
    replace(
      main,
      h("h1", {}, "Page not found"),
      h("p", {}, "There is no page at ", h("code", {}, path), "."),
      link("/", "← Back to the event list"),
    );
    return;
  }
  document.title = `${route.title} · Event Deduplication`;
  ctx.params = route.pattern.exec(path).slice(1);
  if (!keep) replace(main);
  route.page.render(main, ctx);
}

/** Same-origin links marked `data-link` are routed without a page load. */
function onClick(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest("a[data-link]");
  if (!a || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) {
    navigate(url.pathname + url.search);
    document.getElementById("main")?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
}

/** The API-token dialog: stored in localStorage, sent as a bearer token. */
function tokenDialog() {
  const input = h("input", {
    type: "password",
    id: "api-token",
    autocomplete: "off",
    placeholder: getToken() ? "A token is stored (enter a new one to change)" : "Paste a token",
  });
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-labelledby": "token-title" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "token-title" }, "API token"),
      h(
        "p",
        { class: "muted" },
        "Only needed when the service is configured with EVENT_DEDUP_API_TOKENS; without tokens, changes are accepted from this machine. The token is kept in this browser's local storage and sent as a bearer token with every request.",
      ),
      h("label", { for: "api-token" }, "Token"),
      input,
      h(
        "div",
        { class: "dialog-buttons" },
        h("button", { type: "button", class: "btn", onclick: () => dialog.close() }, "Cancel"),
        h(
          "button",
          {
            type: "button",
            class: "btn",
            onclick: () => {
              setToken("");
              invalidate();
              updateTokenButton();
              dialog.close();
            },
          },
          "Forget token",
        ),
        h(
          "button",
          {
            type: "submit",
            class: "btn btn-primary",
            onclick: (e) => {
              e.preventDefault();
              if (input.value.trim()) setToken(input.value.trim());
              invalidate();
              updateTokenButton();
              dialog.close();
            },
          },
          "Save",
        ),
      ),
    ),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
}

function updateTokenButton() {
  const b = document.getElementById("token-button");
  if (b) b.textContent = getToken() ? "API token ✓" : "API token";
}

document.addEventListener("click", onClick);
window.addEventListener("popstate", () => render());
document.getElementById("token-button")?.addEventListener("click", tokenDialog);
updateTokenButton();
render();
