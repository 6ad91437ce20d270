// DOM helpers of the review UI. Every piece of data reaches the page as a text node
// or an attribute value set through the DOM API, never as HTML, so nothing a source
// event contains can become markup or script.

/**
 * Creates an element. `attrs`: `class`, `text`, `on<event>` handlers, `dataset`,
 * booleans (set when true) and other attributes; `children`: nodes, strings (text
 * nodes), arrays, or null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = Boolean(value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An internal link handled by the client-side router. */
export function link(href, text, attrs = {}) {
  return h("a", { href, "data-link": true, ...attrs }, text);
}

/** A coloured pill. `kind`: green, yellow, red, grey, blue, purple, orange, amber. */
export function badge(text, kind = "grey", attrs = {}) {
  return h("span", { class: `badge badge-${kind}`, ...attrs }, text);
}

/** A text that is cut with an ellipsis by CSS and shows the whole text on hover. */
export function ellipsis(text, cls = "") {
  return h("span", { class: `ellipsis ${cls}`.trim(), title: text }, text);
}

/** A red error message. */
export function errorBox(message) {
  return h("div", { class: "error-box", role: "alert" }, message);
}

/** Shows a toast for `ms` milliseconds. */
export function toast(message, kind = "success", ms = 3000) {
  const host = document.getElementById("toasts");
  if (!host) return;
  const t = h("div", { class: `toast toast-${kind}` }, message);
  host.appendChild(t);
  setTimeout(() => t.remove(), ms);
}

/** A labelled form field wrapper: label, control, hint and an error slot. */
export function field(id, label, control, hint) {
  control.id = id;
  const error = h("div", { class: "field-error", id: `${id}-error`, role: "alert" });
  control.setAttribute("aria-describedby", `${id}-error${hint ? ` ${id}-hint` : ""}`);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("div", { class: "hint", id: `${id}-hint` }, hint) : null,
    error,
  );
}

/** Debounces `fn` by `ms` milliseconds. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
