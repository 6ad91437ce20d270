// The review queue (frontend.md §4) in two tabs:
// * "Flagged groups": the API's order (flagged first, then by rising confidence),
//   20 per page; dismiss (reason, operator), bulk dismiss, merge, split (on the
//   detail page, where the sources are shown).
// * "Missed duplicates": ambiguous pairs whose events the matcher kept in different
//   groups, both events side by side with the decision's scores; one click merges
//   the groups or declares them different.
// Keyboard: j / k move between items, d dismiss, m merge, s split (opens the group),
// x selects for bulk dismiss, Enter opens. After an action the next item has focus;
// after a cancelled dialog focus returns to the item.

import { h, replace, link, badge, ellipsis, errorBox, toast } from "../dom.js";
import { get, send, withQuery, invalidateAfterReview, getOperator, setOperator } from "../api.js";
import { pct, confidenceKind, formatRange, dateLines } from "../format.js";
import { dismissDialog, mergeDialog, bulkDismissDialog } from "../dialogs.js";
import { decisionCard } from "./detail.js";

const SIZE = 20;
/** True when a key press belongs to a text field, a dialog or a shortcut of the browser. */
function notForUs(e) {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return true;
  if (document.querySelector("dialog[open]")) return true;
  const t = e.target;
  return t instanceof HTMLElement && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
}

/**
 * Roving focus over the items (`[data-row]`) of `host`: j / k move, and the page's
 * action keys act on the focused item. `actions`: key → function(item element).
 */
function keyboard(host, ctx, actions) {
  const items = () => [...host.querySelectorAll("[data-row]")];
  const current = () => document.activeElement?.closest?.("[data-row]");
  const focusAt = (i) => {
    const list = items();
    if (list.length === 0) return;
    const el = list[Math.max(0, Math.min(i, list.length - 1))];
    for (const x of list) x.classList.toggle("current", x === el);
    el.focus();
    el.scrollIntoView({ block: "nearest" });
  };
  const onKey = (e) => {
    if (!ctx.current()) {
      document.removeEventListener("keydown", onKey);
      return;
    }
    if (notForUs(e)) return;
    const list = items();
    const at = list.indexOf(current());
    // Enter on a button or link inside an item is that control's own.
    if (e.key === "Enter" && e.target !== list[at]) return;
    if (e.key === "j") focusAt(at + 1);
    else if (e.key === "k") focusAt(at < 0 ? 0 : at - 1);
    else if (actions[e.key] && at >= 0) actions[e.key](list[at]);
    else return;
    e.preventDefault();
  };
  document.addEventListener("keydown", onKey);
  host.addEventListener("focusin", (e) => {
    const row = e.target.closest?.("[data-row]");
    if (row) for (const x of items()) x.classList.toggle("current", x === row);
  });
  return { focusAt, indexOf: (el) => items().indexOf(el) };
}

export function render(main, ctx) {
  const tab = ctx.query.get("tab") === "missed" ? "missed" : "flagged";
  const operator = h("input", { type: "text", id: "review-operator", placeholder: "Your name...", maxlength: 100, autocomplete: "name", value: getOperator() });
  operator.addEventListener("change", () => setOperator(operator.value.trim()));
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": "Review queues" },
    link("/review", ["Flagged groups ", badge("…", "blue", { id: "queue-total" })], { class: tab === "flagged" ? "tab active" : "tab", "aria-current": tab === "flagged" ? "page" : null }),
    link("/review?tab=missed", ["Missed duplicates ", badge("…", "yellow", { id: "missed-total" })], { class: tab === "missed" ? "tab active" : "tab", "aria-current": tab === "missed" ? "page" : null }),
  );
  const body = h("div", { class: "review-body" });
  replace(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Review Queue"), h("div", { class: "operator-field" }, h("label", { for: "review-operator" }, "Operator"), operator)),
    tabs,
    h(
      "p",
      { class: "muted small keys-hint" },
      "Keys: ",
      h("kbd", {}, "j"),
      " / ",
      h("kbd", {}, "k"),
      " next / previous · ",
      h("kbd", {}, "d"),
      tab === "missed" ? " not duplicates · " : " dismiss · ",
      h("kbd", {}, "m"),
      " merge · ",
      tab === "missed" ? null : [h("kbd", {}, "s"), " split · ", h("kbd", {}, "x"), " select · "],
      h("kbd", {}, "Enter"),
      " open",
    ),
    body,
  );
  // Both counts show in the tabs; the inactive one is a one-row request.
  const count = (url, id) =>
    get(url)
      .then((d) => {
        const el = document.getElementById(id);
        if (el && ctx.current()) el.textContent = String(d.total);
      })
      .catch(() => {});
  if (tab === "missed") {
    count(withQuery("/api/review/queue", [["page", 1], ["size", 1], ["min_sources", 1]]), "queue-total");
    missedQueue(body, ctx, () => operator.value.trim());
  } else {
    count(withQuery("/api/review/missed", [["page", 1], ["size", 1]]), "missed-total");
    flaggedQueue(body, ctx);
  }
}

/**
 * The paging and loading both queues share: page `page` of `url(page)` is drawn by
 * `draw(items)` into `host`; the tab's badge `totalId`, the pager and the status line
 * follow; after an action (`afterAction(index)`) the item at that index, i.e. the
 * next one, gets focus. `path(page)` is the page's own URL.
 */
function pagedQueue({ ctx, host, status, pager, url, path, totalId, texts, draw, nav }) {
  let page = Math.max(1, Number.parseInt(ctx.query.get("page") ?? "1", 10) || 1);
  let focusIndex = null;
  const go = (p) => {
    page = p;
    history.pushState(null, "", path(p));
    load();
  };
  async function load() {
    host.classList.add("loading");
    if (!host.firstChild) replace(status, texts.loading);
    try {
      const data = await get(url(page));
      if (!ctx.current()) return;
      host.classList.remove("loading");
      const total = document.getElementById(totalId);
      if (total) total.textContent = String(data.total);
      if (data.items.length === 0 && page > 1 && data.total > 0) {
        go(Math.max(1, data.pages));
        return;
      }
      replace(status, data.items.length === 0 ? h("p", { class: "empty" }, texts.empty) : null);
      draw(data.items);
      const pages = Math.max(1, data.pages);
      replace(
        pager,
        h("span", { class: "page-info" }, `Page ${page} of ${pages} (${data.total} ${texts.noun})`),
        h("button", { type: "button", class: "btn", disabled: page <= 1, onclick: () => go(page - 1) }, "Previous"),
        h("button", { type: "button", class: "btn", disabled: page >= pages, onclick: () => go(page + 1) }, "Next"),
      );
      if (focusIndex !== null) {
        nav.focusAt(focusIndex);
        focusIndex = null;
      }
    } catch (e) {
      if (!ctx.current()) return;
      host.classList.remove("loading");
      replace(status, errorBox(`${texts.error}: ${e.message}`));
    }
  }
  const afterAction = (index) => {
    focusIndex = index;
    invalidateAfterReview();
    load();
  };
  return { load, afterAction };
}

function flaggedQueue(body, ctx) {
  const selected = new Map();
  const status = h("div", { class: "status", role: "status", "aria-live": "polite" });
  const table = h("table", { class: "data queue-table stackable" });
  const pager = h("div", { class: "pager" });
  const bulk = h("button", { type: "button", class: "btn", id: "bulk-dismiss", disabled: true }, "Dismiss selected");
  const syncBulk = () => {
    bulk.disabled = selected.size === 0;
    bulk.textContent = selected.size ? `Dismiss selected (${selected.size})` : "Dismiss selected";
  };
  replace(
    body,
    h("p", { class: "muted" }, "Groups the matcher was unsure about, most uncertain first. Dismiss a group that is correct; merge it into another group; or open it to split off a source. Decisions are kept by later matching runs."),
    h("div", { class: "bulk-bar" }, bulk),
    status,
    h("div", { class: "table-wrap" }, table),
    pager,
  );
  const nav = keyboard(table, ctx, {
    d: (row) => row.querySelector("[data-dismiss]")?.click(),
    m: (row) => row.querySelector("[data-merge]")?.click(),
    s: (row) => row.querySelector("[data-split-link]")?.click(),
    x: (row) => row.querySelector("input.select")?.click(),
    Enter: (row) => row.querySelector("a.row-link")?.click(),
  });
  bulk.addEventListener("click", async () => {
    const items = [...selected.values()];
    const answer = await bulkDismissDialog(items);
    // Some may have been dismissed before a failure: reload either way.
    if (answer) toast(`Dismissed ${answer.dismissed} groups`);
    selected.clear();
    syncBulk();
    acted(0);
  });

  const head = h(
    "thead",
    {},
    h(
      "tr",
      {},
      h("th", {}, h("input", { type: "checkbox", class: "select-all", "aria-label": "Select all on this page", onchange: (e) => {
        for (const box of table.querySelectorAll("tbody input.select")) {
          if (box.checked !== e.target.checked) box.click();
        }
      } })),
      ["Title", "City", "Confidence", "Sources", "Status", "Actions"].map((t, i) => h("th", { class: i === 2 || i === 3 ? "num" : null }, t)),
    ),
  );

  const row = (e) => {
    const tr = h("tr", { "data-id": e.id, "data-row": true, tabindex: -1 });
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
            acted(nav.indexOf(tr));
          } else tr.focus();
        },
      },
      "Dismiss",
    );
    const box = h("input", {
      type: "checkbox",
      class: "select",
      "aria-label": `Select “${e.title}”`,
      checked: selected.has(e.id),
      onchange: (ev) => {
        if (ev.target.checked) selected.set(e.id, e);
        else selected.delete(e.id);
        syncBulk();
      },
    });
    tr.append(
      h("td", { class: "select-cell", "data-label": "Select" }, box),
      h("td", { class: "title-cell", "data-label": "Title", lang: "de" }, link(`/events/${e.id}`, ellipsis(e.title), { class: "row-link" })),
      h("td", { class: "city-cell", "data-label": "City", lang: "de" }, e.location_city || "-"),
      h("td", { class: "num", "data-label": "Confidence" }, badge(pct(e.match_confidence), confidenceKind(e.match_confidence, true))),
      h("td", { class: "num", "data-label": "Sources" }, e.source_count),
      h("td", { "data-label": "Status" }, e.needs_review ? badge("Review", "yellow") : badge("Low confidence", "grey")),
      h(
        "td",
        { class: "row-actions", "data-label": "Actions" },
        dismiss,
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small",
            "data-merge": e.id,
            onclick: async () => {
              const answer = await mergeDialog(e);
              if (answer) {
                toast(`Merged into event #${answer.surviving_canonical_id}`);
                acted(nav.indexOf(tr));
              } else tr.focus();
            },
          },
          "Merge...",
        ),
        link(`/events/${e.id}`, "Split...", { class: "btn btn-small", title: "Open the event to split off a source", "data-split-link": e.id }),
      ),
    );
    return tr;
  };

  const queue = pagedQueue({
    ctx,
    host: table,
    status,
    pager,
    url: (page) => withQuery("/api/review/queue", [["page", page], ["size", SIZE], ["min_sources", 1]]),
    path: (page) => (page === 1 ? "/review" : `/review?page=${page}`),
    totalId: "queue-total",
    texts: { loading: "Loading review queue...", empty: "No events need review.", error: "Error loading review queue", noun: "results" },
    draw: (items) => {
      const box = head.querySelector(".select-all");
      if (box) box.checked = false;
      replace(table, items.length ? [head, h("tbody", {}, items.map((e) => row(e)))] : []);
    },
    nav,
  });
  const acted = queue.afterAction;
  queue.load();
}

/** One side of a missed-duplicate pair: the source event and the group it sits in. */
function pairSide(s) {
  const c = s.canonical;
  return h(
    "div",
    { class: "pair-side", lang: "de", "data-source-id": s.id },
    h("div", { class: "source-head" }, badge(s.source_type, "grey"), h("strong", {}, s.source_code)),
    h("h3", { class: "source-title" }, s.title),
    s.short_description ? h("p", { class: "muted small" }, s.short_description) : null,
    s.location_name || s.location_city ? h("div", {}, [s.location_name, s.location_city].filter(Boolean).join(", ")) : null,
    h("div", { class: "source-dates" }, dateLines(s.dates).map((l) => h("div", {}, l))),
    (s.categories || []).length ? h("div", { class: "chips" }, s.categories.map((x) => badge(x, "blue"))) : null,
    c
      ? h(
          "div",
          { class: "small pair-group", lang: "en" },
          "In group ",
          link(`/events/${c.id}`, `#${c.id}`),
          ` · ${c.source_count} source(s) · ${formatRange(c.first_date, c.last_date)}`,
        )
      : null,
  );
}

function missedQueue(body, ctx, operator) {
  const status = h("div", { class: "status", role: "status", "aria-live": "polite" });
  const list = h("div", { class: "missed-list" });
  const pager = h("div", { class: "pager" });
  replace(
    body,
    h("p", { class: "muted" }, "Pairs the matcher found ambiguous and kept in different groups, strongest first. Merge the two groups if they are the same event; otherwise mark them as different, and no later run joins them."),
    status,
    list,
    pager,
  );
  const nav = keyboard(list, ctx, {
    m: (item) => item.querySelector("[data-merge-pair]")?.click(),
    d: (item) => item.querySelector("[data-dismiss-pair]")?.click(),
    Enter: (item) => item.querySelector(".pair-group a")?.click(),
  });
  /** Runs a one-click action of `item`; on success the next item gets focus. */
  const act = async (item, buttons, call, done) => {
    for (const b of buttons) b.disabled = true;
    const index = nav.indexOf(item);
    try {
      const answer = await call();
      toast(done(answer));
      queue.afterAction(index);
    } catch (e) {
      for (const b of buttons) b.disabled = false;
      replace(item.querySelector(".pair-error"), errorBox(e.message));
      item.focus();
    }
  };

  const entry = (x) => {
    const { a, b, decision } = x;
    const ca = a.canonical;
    const cb = b.canonical;
    // The smaller group goes into the larger one (ties: into the older id).
    const [donor, target] = ca.source_count < cb.source_count || (ca.source_count === cb.source_count && ca.id > cb.id) ? [ca, cb] : [cb, ca];
    const item = h("article", { class: "missed-item card", "data-row": true, tabindex: -1, "data-pair": `${ca.id}-${cb.id}` });
    const merge = h("button", { type: "button", class: "btn btn-primary btn-small", "data-merge-pair": `${ca.id}-${cb.id}`, title: `Merge group #${donor.id} into #${target.id}` }, "Merge groups");
    const dismiss = h("button", { type: "button", class: "btn btn-small", "data-dismiss-pair": `${ca.id}-${cb.id}` }, "Not duplicates");
    const who = () => (operator() ? { operator: operator() } : {});
    merge.addEventListener("click", () =>
      act(item, [merge, dismiss], () => send("POST", "/api/review/merge", { source_canonical_id: donor.id, target_canonical_id: target.id, ...who() }), (r) => `Merged #${donor.id} into #${r.surviving_canonical_id}`),
    );
    dismiss.addEventListener("click", () =>
      act(item, [merge, dismiss], () => send("POST", "/api/review/missed/dismiss", { canonical_a: ca.id, canonical_b: cb.id, ...who() }), () => `Kept #${ca.id} and #${cb.id} apart`),
    );
    const titles = { [a.id]: a.title, [b.id]: b.title };
    item.append(
      h("div", { class: "pair" }, pairSide(a), pairSide(b)),
      decisionCard(decision, titles),
      h("div", { class: "pair-error" }),
      h("div", { class: "actions" }, merge, dismiss),
    );
    return item;
  };

  const queue = pagedQueue({
    ctx,
    host: list,
    status,
    pager,
    url: (page) => withQuery("/api/review/missed", [["page", page], ["size", SIZE]]),
    path: (page) => (page === 1 ? "/review?tab=missed" : `/review?tab=missed&page=${page}`),
    totalId: "missed-total",
    texts: { loading: "Loading missed duplicates...", empty: "No likely missed duplicates.", error: "Error loading missed duplicates", noun: "pairs" },
    draw: (items) => replace(list, items.map(entry)),
    nav,
  });
  queue.load();
}
