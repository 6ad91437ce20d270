// The review queue (frontend.md §4): the API's order (flagged first, then by rising
// confidence, i.e. most uncertain first), 20 rows per page, and the three actions:
// dismiss (with reason and operator), merge (search for the target), and split
// (on the event's detail page, where the sources are shown).

import { h, replace, link, badge, ellipsis, errorBox, toast } from "../dom.js";
import { get, withQuery } from "../api.js";
import { pct, confidenceKind } from "../format.js";
import { dismissDialog, mergeDialog } from "../dialogs.js";

const SIZE = 20;

export function render(main, ctx) {
  let page = Math.max(1, Number.parseInt(ctx.query.get("page") ?? "1", 10) || 1);
  const total = badge("…", "blue", { id: "queue-total" });
  const status = h("div", { class: "status", role: "status", "aria-live": "polite" });
  const table = h("table", { class: "data queue-table" });
  const pager = h("div", { class: "pager" });
  replace(
    main,
    h("h1", {}, "Review Queue ", total),
    h(
      "p",
      { class: "muted" },
      "Groups the matcher was unsure about, most uncertain first. Dismiss a group that is correct; merge it into another group; or open it to split off a source. Decisions are kept by later matching runs.",
    ),
    status,
    h("div", { class: "table-wrap" }, table),
    pager,
  );

  const head = h(
    "thead",
    {},
    h("tr", {}, ["Title", "City", "Confidence", "Sources", "Status", "Actions"].map((t, i) => h("th", { class: i === 2 || i === 3 ? "num" : null }, t))),
  );

  const row = (e) => {
    const dismiss = h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        "data-dismiss": e.id,
        onclick: async () => {
          dismiss.disabled = true;
          const answer = await dismissDialog(e);
          dismiss.disabled = false;
          if (answer) {
            toast(`Dismissed “${e.title}”`);
            load();
          }
        },
      },
      "Dismiss",
    );
    return h(
      "tr",
      { "data-id": e.id },
      h("td", { class: "title-cell" }, link(`/events/${e.id}`, ellipsis(e.title))),
      h("td", { class: "city-cell" }, e.location_city || "-"),
      h("td", { class: "num" }, badge(pct(e.match_confidence), confidenceKind(e.match_confidence, true))),
      h("td", { class: "num" }, e.source_count),
      h("td", {}, e.needs_review ? badge("Review", "yellow") : badge("Low confidence", "grey")),
      h(
        "td",
        { class: "row-actions" },
        dismiss,
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small",
            onclick: async () => {
              const answer = await mergeDialog(e);
              if (answer) {
                toast(`Merged into event #${answer.surviving_canonical_id}`);
                load();
              }
            },
          },
          "Merge...",
        ),
        link(`/events/${e.id}`, "Split...", { class: "btn btn-small", title: "Open the event to split off a source" }),
      ),
    );
  };

  const go = (p) => {
    page = p;
    history.pushState(null, "", p === 1 ? "/review" : `/review?page=${p}`);
    load();
  };

  async function load() {
    const url = withQuery("/api/review/queue", [["page", page], ["size", SIZE], ["min_sources", 1]]);
    table.classList.add("loading");
    if (!table.firstChild) replace(status, "Loading review queue...");
    try {
      const data = await get(url);
      if (!ctx.current()) return;
      table.classList.remove("loading");
      total.textContent = String(data.total);
      if (data.items.length === 0 && page > 1 && data.total > 0) {
        go(Math.max(1, data.pages));
        return;
      }
      replace(status, data.items.length === 0 ? h("p", { class: "empty" }, "No events need review.") : null);
      replace(table, data.items.length ? [head, h("tbody", {}, data.items.map(row))] : []);
      const pages = Math.max(1, data.pages);
      replace(
        pager,
        h("span", { class: "page-info" }, `Page ${page} of ${pages} (${data.total} results)`),
        h("button", { type: "button", class: "btn", disabled: page <= 1, onclick: () => go(page - 1) }, "Previous"),
        h("button", { type: "button", class: "btn", disabled: page >= pages, onclick: () => go(page + 1) }, "Next"),
      );
    } catch (e) {
      if (!ctx.current()) return;
      table.classList.remove("loading");
      replace(status, errorBox(`Error loading review queue: ${e.message}`));
    }
  }
  load();
}
