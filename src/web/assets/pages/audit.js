// The audit trail (storage-and-api.md §6.5): every review and config action, newest
// first, filterable by action and canonical event, 20 per page; the filters live in
// the URL query like the event list's.

import { h, replace, link, errorBox } from "../dom.js";
import { get, withQuery } from "../api.js";
import { formatDateTime, shortId } from "../format.js";
import { auditBadge, auditSummary } from "./detail.js";

const SIZE = 20;
const ACTIONS = [
  ["", "All actions"],
  ["split", "Split"],
  ["merge", "Merge"],
  ["review_dismiss", "Dismissed"],
  ["config_update", "Config update"],
  ["pair_dismiss", "Not duplicates"],
];

export function render(main, ctx) {
  const state = {
    action: ACTIONS.some(([v]) => v && v === ctx.query.get("action_type")) ? ctx.query.get("action_type") : "",
    canonical: /^\d+$/.test(ctx.query.get("canonical_event_id") ?? "") ? ctx.query.get("canonical_event_id") : "",
    page: Math.max(1, Number.parseInt(ctx.query.get("page") ?? "1", 10) || 1),
  };
  const action = h("select", { id: "audit-action" }, ACTIONS.map(([v, t]) => h("option", { value: v }, t)));
  action.value = state.action;
  const canonical = h("input", { type: "text", inputmode: "numeric", id: "audit-canonical", value: state.canonical, placeholder: "e.g. 12" });
  const canonicalError = h("div", { class: "field-error", role: "alert" });
  const status = h("div", { class: "status", role: "status", "aria-live": "polite" });
  const table = h("table", { class: "data audit-table" });
  const pager = h("div", { class: "pager" });

  const go = (next) => {
    Object.assign(state, next);
    const url = withQuery("/audit", [["action_type", state.action], ["canonical_event_id", state.canonical], ["page", state.page > 1 ? state.page : ""]]);
    history.pushState(null, "", url);
    load();
  };
  action.addEventListener("change", () => go({ action: action.value, page: 1 }));

  replace(
    main,
    h("h1", {}, "Audit Trail"),
    h("p", { class: "muted" }, "Every split, merge, dismissal and configuration change, newest first."),
    h(
      "form",
      {
        class: "filters",
        onsubmit: (e) => {
          e.preventDefault();
          const v = canonical.value.trim();
          if (v && !/^\d+$/.test(v)) {
            canonicalError.textContent = "Enter an event number";
            return;
          }
          canonicalError.textContent = "";
          go({ canonical: v, page: 1 });
        },
      },
      h("div", { class: "filter" }, h("label", { for: "audit-action" }, "Action"), action),
      h("div", { class: "filter" }, h("label", { for: "audit-canonical" }, "Canonical event #"), canonical, canonicalError),
      h(
        "div",
        { class: "filter filter-buttons" },
        h("button", { type: "submit", class: "btn btn-primary" }, "Filter"),
        h("button", { type: "button", class: "btn", onclick: () => { action.value = ""; canonical.value = ""; go({ action: "", canonical: "", page: 1 }); } }, "Clear"),
      ),
    ),
    status,
    h("div", { class: "table-wrap" }, table),
    pager,
  );

  async function load() {
    const url = withQuery("/api/audit-log", [["page", state.page], ["size", SIZE], ["action_type", state.action], ["canonical_event_id", state.canonical]]);
    table.classList.add("loading");
    try {
      const data = await get(url);
      if (!ctx.current()) return;
      table.classList.remove("loading");
      replace(status, data.items.length ? null : h("p", { class: "empty" }, "No audit entries."));
      replace(
        table,
        data.items.length
          ? [
              h("thead", {}, h("tr", {}, ["When", "Action", "Event", "Source", "Operator", "Summary"].map((t) => h("th", {}, t)))),
              h(
                "tbody",
                {},
                data.items.map((a) =>
                  h(
                    "tr",
                    { "data-action": a.action_type },
                    h("td", { class: "nowrap" }, formatDateTime(a.created_at)),
                    h("td", {}, auditBadge(a.action_type)),
                    h("td", {}, a.canonical_event_id != null ? link(`/events/${a.canonical_event_id}`, `#${a.canonical_event_id}`) : "-"),
                    h("td", { class: "mono", title: a.source_event_id || "" }, a.source_event_id ? shortId(a.source_event_id) : "-"),
                    h("td", {}, a.operator),
                    h("td", { class: "summary-cell" }, auditSummary(a)),
                  ),
                ),
              ),
            ]
          : [],
      );
      const pages = Math.max(1, data.pages);
      replace(
        pager,
        h("span", { class: "page-info" }, `Page ${state.page} of ${pages} (${data.total} results)`),
        h("button", { type: "button", class: "btn", disabled: state.page <= 1, onclick: () => go({ page: state.page - 1 }) }, "Previous"),
        h("button", { type: "button", class: "btn", disabled: state.page >= pages, onclick: () => go({ page: state.page + 1 }) }, "Next"),
      );
    } catch (e) {
      if (!ctx.current()) return;
      table.classList.remove("loading");
      replace(status, errorBox(`Error loading the audit log: ${e.message}`));
    }
  }
  load();
}
