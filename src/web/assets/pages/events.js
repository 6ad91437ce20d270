// The event list (frontend.md §2): filters, sortable columns and paging, with the
// whole state in the URL query so a view can be shared. While a page loads, the
// previous rows stay visible (dimmed).
//
// Layout stability: the columns have fixed widths (`table-layout: fixed`, one
// <colgroup>) and rows a fixed height, so a new page or sort order never moves the
// columns; the status line overlays instead of pushing the table. The ALL view is
// virtualised: only the rows near the viewport exist in the DOM (spacer rows keep
// the page's height), so sorting thousands of rows redraws a few dozen.

import { h, replace, link, badge, ellipsis, errorBox } from "../dom.js";
import { get, withQuery, LISTS_FRESH_MS } from "../api.js";
import { pct, confidenceKind, dateBounds, formatRange } from "../format.js";

const SIZES = [25, 50, 100, 200, 0];
const DEFAULT_SIZE = 25;
/** The API's largest page, sent for "ALL". */
const ALL = 10000;

const COLUMNS = [
  { key: "title", label: "Title", col: "col-title" },
  { key: "city", label: "City", col: "col-city" },
  { key: "date", label: "Date", col: "col-date" },
  { key: "categories", label: "Categories", col: "col-categories" },
  { key: "source_count", label: "Sources", cls: "num", col: "col-sources" },
  { key: "confidence", label: "Confidence", cls: "num", col: "col-confidence" },
  { key: "review", label: "Review", col: "col-review" },
];

/** Rows above which a page is virtualised (the ALL view). */
const VIRTUAL_MIN = 100;
/** Rows drawn beyond the viewport on each side while scrolling. */
const OVERSCAN = 15;

/** The list state from the URL query (defaults for missing keys). */
export function stateFromQuery(q) {
  const size = Number.parseInt(q.get("size") ?? "", 10);
  const page = Number.parseInt(q.get("page") ?? "", 10);
  return {
    q: q.get("q") ?? "",
    city: q.getAll("city"),
    category: q.getAll("category"),
    date_from: q.get("date_from") ?? "",
    date_to: q.get("date_to") ?? "",
    review: ["true", "false"].includes(q.get("review")) ? q.get("review") : "",
    sort_by: COLUMNS.some((c) => c.key === q.get("sort_by")) ? q.get("sort_by") : "title",
    sort_dir: q.get("sort_dir") === "desc" ? "desc" : "asc",
    size: SIZES.includes(size) ? size : DEFAULT_SIZE,
    page: page >= 1 ? page : 1,
  };
}

/** The URL query of a state; keys at their defaults are omitted (frontend.md §2). */
export function queryFromState(s) {
  const pairs = [["q", s.q]];
  for (const c of s.city) pairs.push(["city", c]);
  for (const c of s.category) pairs.push(["category", c]);
  pairs.push(["date_from", s.date_from], ["date_to", s.date_to], ["review", s.review]);
  if (s.sort_by !== "title") pairs.push(["sort_by", s.sort_by]);
  if (s.sort_dir !== "asc") pairs.push(["sort_dir", s.sort_dir]);
  if (s.size !== DEFAULT_SIZE) pairs.push(["size", s.size]);
  if (s.page !== 1) pairs.push(["page", s.page]);
  return withQuery("/", pairs);
}

function apiUrl(s) {
  const pairs = [
    ["page", s.page],
    ["size", s.size === 0 ? ALL : s.size],
    ["q", s.q],
  ];
  for (const c of s.city) pairs.push(["city", c]);
  for (const c of s.category) pairs.push(["category", c]);
  pairs.push(["date_from", s.date_from], ["date_to", s.date_to], ["review", s.review]);
  pairs.push(["sort_by", s.sort_by], ["sort_dir", s.sort_dir]);
  return withQuery("/api/canonical-events", pairs);
}

/**
 * A chip selector with type-ahead over `options` (case-insensitive substring, chosen
 * values hidden). `onChange(values)` fires on every pick or removal.
 */
function chipSelector({ id, label, placeholder, values, options, onChange }) {
  const chips = h("div", { class: "chips" });
  const input = h("input", {
    type: "text",
    id,
    placeholder,
    autocomplete: "off",
    role: "combobox",
    "aria-expanded": "false",
    "aria-controls": `${id}-options`,
  });
  const list = h("ul", { class: "typeahead", id: `${id}-options`, role: "listbox", hidden: true });
  let all = [];

  const drawChips = () =>
    replace(
      chips,
      values.map((v) =>
        h(
          "span",
          { class: "chip chip-removable" },
          v,
          h(
            "button",
            { type: "button", class: "chip-x", "aria-label": `Remove ${v}`, title: `Remove ${v}`, onclick: () => remove(v) },
            "×",
          ),
        ),
      ),
    );
  const matches = () => {
    const needle = input.value.trim().toLocaleLowerCase();
    return all.filter((o) => !values.includes(o) && o.toLocaleLowerCase().includes(needle)).slice(0, 50);
  };
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
  };
  const open = () => {
    const found = matches();
    replace(
      list,
      found.length
        ? found.map((o) =>
            h(
              "li",
              { role: "option" },
              h("button", { type: "button", class: "option", onmousedown: (e) => e.preventDefault(), onclick: () => pick(o), onkeydown: optionKeys }, o),
            ),
          )
        : h("li", { class: "muted option-empty" }, "No matches"),
    );
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  };
  const pick = (o) => {
    values = [...values, o];
    input.value = "";
    close();
    drawChips();
    onChange(values);
  };
  const remove = (v) => {
    values = values.filter((x) => x !== v);
    drawChips();
    onChange(values);
  };
  function optionKeys(e) {
    const buttons = [...list.querySelectorAll("button.option")];
    const i = buttons.indexOf(e.target);
    if (e.key === "ArrowDown") buttons[Math.min(i + 1, buttons.length - 1)]?.focus();
    else if (e.key === "ArrowUp") (i <= 0 ? input : buttons[i - 1]).focus();
    else if (e.key === "Escape") {
      close();
      input.focus();
    } else return;
    e.preventDefault();
  }
  input.addEventListener("input", open);
  input.addEventListener("focus", open);
  input.addEventListener("blur", () => setTimeout(() => {
    if (!list.contains(document.activeElement)) close();
  }, 100));
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      if (list.hidden) open();
      list.querySelector("button.option")?.focus();
    } else if (e.key === "Enter") {
      e.preventDefault();
      const first = matches()[0];
      if (first && input.value.trim()) pick(first);
    } else if (e.key === "Escape") close();
  });
  list.addEventListener("focusout", () => setTimeout(() => {
    if (!list.contains(document.activeElement) && document.activeElement !== input) close();
  }, 100));
  options.then((o) => {
    all = o;
  }).catch(() => {
    all = [];
  });
  drawChips();
  return h("div", { class: "filter chip-filter" }, h("label", { for: id }, label), h("div", { class: "typeahead-wrap" }, input, list), chips);
}

export function render(main, ctx) {
  let state = stateFromQuery(ctx.query);
  const go = (next, resetPage = true) => {
    state = { ...state, ...next, page: resetPage ? 1 : next.page ?? state.page };
    history.pushState(null, "", queryFromState(state));
    load();
  };

  const q = h("input", { type: "search", id: "f-q", placeholder: "Search events...", value: state.q });
  const from = h("input", { type: "date", id: "f-from", value: state.date_from });
  const to = h("input", { type: "date", id: "f-to", value: state.date_to });
  const review = h(
    "select",
    { id: "f-review" },
    h("option", { value: "" }, "All"),
    h("option", { value: "true" }, "Needs review"),
    h("option", { value: "false" }, "No review needed"),
  );
  review.value = state.review;
  review.addEventListener("change", () => go({ review: review.value }));
  const applyText = () => go({ q: q.value.trim(), date_from: from.value, date_to: to.value });
  q.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      applyText();
    }
  });

  const filters = h(
    "form",
    { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); applyText(); } },
    h("div", { class: "filter filter-wide" }, h("label", { for: "f-q" }, "Title search"), q),
    chipSelector({
      id: "f-city",
      label: "City",
      placeholder: "Add city...",
      values: state.city,
      options: get("/api/canonical-events/cities", LISTS_FRESH_MS),
      onChange: (city) => go({ city }),
    }),
    chipSelector({
      id: "f-category",
      label: "Category",
      placeholder: "Add category...",
      values: state.category,
      options: get("/api/canonical-events/categories", LISTS_FRESH_MS),
      onChange: (category) => go({ category }),
    }),
    h("div", { class: "filter" }, h("label", { for: "f-from" }, "Date from"), from),
    h("div", { class: "filter" }, h("label", { for: "f-to" }, "Date to"), to),
    h("div", { class: "filter" }, h("label", { for: "f-review" }, "Review status"), review),
    h(
      "div",
      { class: "filter filter-buttons" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Search"),
      h(
        "button",
        {
          type: "button",
          class: "btn",
          id: "f-clear",
          onclick: () => {
            history.pushState(null, "", queryFromState({ ...stateFromQuery(new URLSearchParams()), size: state.size }));
            replace(main);
            render(main, { ...ctx, query: new URLSearchParams(location.search) });
          },
        },
        "Clear",
      ),
    ),
  );

  const status = h("div", { class: "status", role: "status", "aria-live": "polite" });
  const table = h("table", { class: "data events-table stackable" });
  const pager = h("div", { class: "pager" });
  replace(main, h("h1", {}, "Events"), filters, status, h("div", { class: "table-wrap" }, table), pager);

  const header = () =>
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        COLUMNS.map((c) => {
          const active = state.sort_by === c.key;
          const arrow = active ? (state.sort_dir === "asc" ? "▲" : "▼") : "↕";
          return h(
            "th",
            { class: c.cls, "aria-sort": active ? (state.sort_dir === "asc" ? "ascending" : "descending") : "none" },
            h(
              "button",
              {
                type: "button",
                class: "sort",
                "data-sort": c.key,
                onclick: () =>
                  go({ sort_by: c.key, sort_dir: active && state.sort_dir === "asc" ? "desc" : "asc" }),
              },
              c.label,
              h("span", { class: active ? "arrow active" : "arrow", "aria-hidden": "true" }, arrow),
            ),
          );
        }),
      ),
    );

  const colgroup = () => h("colgroup", {}, COLUMNS.map((c) => h("col", { class: c.col })));

  const row = (e) => {
    // The sort key of the Date column: first_date (and last_date for ranges).
    const bounds = e.first_date ? { first: e.first_date, last: e.last_date } : dateBounds(e.dates);
    return h(
      "tr",
      { "data-id": e.id },
      h(
        "td",
        { class: "title-cell", "data-label": "Title", lang: "de" },
        h("div", { class: "title-line" }, link(`/events/${e.id}`, ellipsis(e.title), { class: "row-link" }), e.ai_assisted ? badge("AI", "purple", { lang: "en" }) : null),
      ),
      h("td", { class: "city-cell", "data-label": "City", lang: "de" }, e.location_city || "-"),
      h("td", { class: "nowrap", "data-label": "Date" }, formatRange(bounds.first, bounds.last)),
      h("td", { "data-label": "Categories", lang: "de", title: (e.categories || []).join(", ") }, h("div", { class: "chips" }, (e.categories || []).map((c) => badge(c, "blue")))),
      h("td", { class: "num", "data-label": "Sources" }, e.source_count),
      h("td", { class: "num", "data-label": "Confidence" }, badge(pct(e.match_confidence), confidenceKind(e.match_confidence))),
      h("td", { "data-label": "Review" }, e.needs_review ? badge("Review", "yellow") : null),
    );
  };

  /**
   * A virtualised body for `items`: only rows near the viewport exist; two spacer
   * rows stand in for the others. Row height is measured from the drawn rows (a
   * phone's stacked cards are taller than a desktop row).
   */
  let detachScroll = () => {};
  const virtualBody = (items) => {
    const tbody = h("tbody", { class: "virtual", "data-total": items.length });
    const spacer = () => h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: COLUMNS.length }));
    const top = spacer();
    const bottom = spacer();
    let rowPx = 44;
    let drawn = [-1, -1];
    const draw = () => {
      if (!tbody.isConnected) return;
      const offset = -tbody.getBoundingClientRect().top;
      const first = Math.max(0, Math.floor(offset / rowPx) - OVERSCAN);
      const count = Math.ceil(window.innerHeight / rowPx) + 2 * OVERSCAN;
      const last = Math.min(items.length, first + count);
      if (first === drawn[0] && last === drawn[1]) return;
      drawn = [first, last];
      replace(tbody, top, items.slice(first, last).map(row), bottom);
      const rows = tbody.querySelectorAll("tr:not(.spacer)");
      if (rows.length) {
        const measured = (rows[rows.length - 1].getBoundingClientRect().bottom - rows[0].getBoundingClientRect().top) / rows.length;
        if (measured > 0) rowPx = measured;
      }
      top.firstChild.style.height = `${first * rowPx}px`;
      bottom.firstChild.style.height = `${(items.length - last) * rowPx}px`;
    };
    let pending = false;
    const onScroll = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        if (!ctx.current()) return detachScroll();
        draw();
      });
    };
    detachScroll();
    window.addEventListener("scroll", onScroll, { passive: true });
    window.addEventListener("resize", onScroll, { passive: true });
    detachScroll = () => {
      window.removeEventListener("scroll", onScroll);
      window.removeEventListener("resize", onScroll);
    };
    return { tbody, draw };
  };

  const drawPager = (data) => {
    const sizeSelect = h(
      "select",
      { id: "page-size", "aria-label": "Rows per page" },
      SIZES.map((s) => h("option", { value: s }, s === 0 ? "ALL" : String(s))),
    );
    sizeSelect.value = String(state.size);
    sizeSelect.addEventListener("change", () => go({ size: Number(sizeSelect.value) }));
    const pages = data ? Math.max(1, data.pages) : 1;
    replace(
      pager,
      h("label", { for: "page-size" }, "Rows:"),
      sizeSelect,
      h("span", { class: "page-info" }, data ? `Page ${state.page} of ${pages} (${data.total} results)` : ""),
      h("button", { type: "button", class: "btn", disabled: state.page <= 1, onclick: () => go({ page: state.page - 1 }, false) }, "Previous"),
      h("button", { type: "button", class: "btn", disabled: !data || state.page >= pages, onclick: () => go({ page: state.page + 1 }, false) }, "Next"),
    );
  };

  let hasRows = false;
  const load = async () => {
    const url = apiUrl(state);
    table.classList.add("loading");
    if (!hasRows) replace(status, "Loading events...");
    try {
      const data = await get(url);
      if (!ctx.current() || url !== apiUrl(state)) return;
      table.classList.remove("loading");
      replace(status);
      detachScroll();
      table.classList.remove("virtual");
      if (data.items.length === 0) {
        replace(table, colgroup(), header());
        replace(status, h("p", { class: "empty" }, "No events found."));
        hasRows = false;
      } else if (data.items.length > VIRTUAL_MIN) {
        const v = virtualBody(data.items);
        table.classList.add("virtual");
        replace(table, colgroup(), header(), v.tbody);
        v.draw();
        hasRows = true;
      } else {
        replace(table, colgroup(), header(), h("tbody", {}, data.items.map(row)));
        hasRows = true;
      }
      drawPager(data);
    } catch (e) {
      if (!ctx.current()) return;
      table.classList.remove("loading");
      replace(status, errorBox(`Error loading events: ${e.message}`));
    }
  };

  // The pager appears with the first rows, below them: drawn earlier, it would be
  // pushed down by the table (the largest layout shift of the page).
  load();
}
