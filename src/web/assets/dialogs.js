// The review dialogs (frontend.md §3.1, §3.2, §4): split a source off, merge two
// canonical events, dismiss from the review queue. Native <dialog> elements: modal,
// Escape closes, focus is trapped by the browser; a click on the backdrop closes too.
// Each resolves with the API's answer on success, or `null` when cancelled.

import { h, replace, errorBox, debounce } from "./dom.js";
import { get, send, withQuery, invalidateAfterReview, getOperator, setOperator } from "./api.js";
import { cut, pct, formatRange, dateLines } from "./format.js";

/** Opens `dialog` modally; removes it from the page when it closes. */
function openModal(dialog) {
  dialog.addEventListener("click", (e) => {
    // A click on the dialog element itself (not its content) is on the backdrop.
    if (e.target === dialog) dialog.close();
  });
  dialog.addEventListener("close", () => setTimeout(() => dialog.remove(), 0));
  document.body.appendChild(dialog);
  dialog.showModal();
}

/**
 * A debounced search over canonical events (≥ 2 characters, 300 ms), excluding
 * `excludeId`; `onSelect(event)` fires when a result is chosen.
 */
function targetSearch({ id, label, excludeId, onSelect }) {
  const input = h("input", { type: "search", id, placeholder: "Search canonical events...", autocomplete: "off" });
  const results = h("ul", { class: "search-results", "aria-label": "Search results" });
  const selected = h("div", { class: "selected", role: "status" });
  let chosen = null;
  const search = debounce(async () => {
    const text = input.value.trim();
    if (text.length < 2) {
      replace(results);
      return;
    }
    try {
      const data = await get(withQuery("/api/canonical-events", [["q", text], ["page", 1], ["size", 10]]));
      if (input.value.trim() !== text) return;
      const items = data.items.filter((e) => e.id !== excludeId);
      replace(
        results,
        items.length === 0
          ? h("li", { class: "muted" }, "No matching events found.")
          : items.map((e) =>
              h(
                "li",
                {},
                h(
                  "button",
                  {
                    type: "button",
                    class: chosen && chosen.id === e.id ? "result chosen" : "result",
                    "data-id": e.id,
                    onclick: (ev) => {
                      chosen = e;
                      for (const b of results.querySelectorAll(".result")) b.classList.remove("chosen");
                      ev.currentTarget.classList.add("chosen");
                      replace(selected, "Selected: ", h("strong", {}, e.title), ` (#${e.id})`);
                      onSelect(e);
                    },
                  },
                  h("span", { class: "result-title", lang: "de" }, e.title),
                  h("span", { class: "muted" }, `${e.location_city || "No city"} -- ${e.source_count} source(s)`),
                ),
              ),
            ),
      );
    } catch (e) {
      replace(results, h("li", {}, errorBox(e.message)));
    }
  }, 300);
  input.addEventListener("input", search);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, results, selected);
}

function operatorField(id) {
  const input = h("input", { type: "text", id, placeholder: "Your name...", maxlength: 100, autocomplete: "name", value: getOperator() });
  return { input, el: h("div", { class: "field" }, h("label", { for: id }, "Operator (optional)"), input) };
}

/** Runs `action` with the submit button busy; shows the API's `detail` on failure. */
async function submitWith(button, busyText, errorSlot, action) {
  const idle = button.textContent;
  button.disabled = true;
  button.textContent = busyText;
  replace(errorSlot);
  try {
    return await action();
  } catch (e) {
    replace(errorSlot, errorBox(e.message));
    return undefined;
  } finally {
    button.disabled = false;
    button.textContent = idle;
  }
}

/**
 * The frame every review dialog shares: heading, intro, the dialog's own fields, the
 * operator field, the error slot and Cancel / submit. `request(operator)` returns the
 * API call to make (a function), or `null` when there is nothing to send yet. On
 * success the cached lists are invalidated and the promise resolves with the answer;
 * on cancel with `null`.
 */
function reviewDialog({ name, heading, intro, submit, busyText, fields, request }) {
  return new Promise((resolve) => {
    let result = null;
    const error = h("div");
    const op = operatorField(`${name}-operator`);
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": `${name}-title`, id: `${name}-dialog` },
      h(
        "form",
        {
          method: "dialog",
          onsubmit: async (e) => {
            e.preventDefault();
            const call = request(op.input.value.trim());
            if (!call) return;
            if (op.input.value.trim()) setOperator(op.input.value.trim());
            const answer = await submitWith(submit, busyText, error, call);
            if (answer) {
              invalidateAfterReview();
              result = answer;
              dialog.close();
            }
          },
        },
        h("h2", { id: `${name}-title` }, heading),
        intro,
        ...fields,
        op.el,
        error,
        h(
          "div",
          { class: "dialog-buttons" },
          h("button", { type: "button", class: "btn", onclick: () => dialog.close() }, "Cancel"),
          submit,
        ),
      ),
    );
    dialog.addEventListener("close", () => resolve(result));
    openModal(dialog);
  });
}

/** The split dialog for `source` of `canonical`. */
export function splitDialog(canonical, source) {
  let target = null;
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Split");
  const modeNew = h("input", { type: "radio", name: "split-mode", id: "split-new", value: "new", checked: true });
  const modeExisting = h("input", { type: "radio", name: "split-mode", id: "split-existing", value: "existing" });
  const search = targetSearch({
    id: "split-target",
    label: "Target canonical event",
    excludeId: canonical.id,
    onSelect: (e) => {
      target = e;
      sync();
    },
  });
  const sync = () => {
    search.hidden = !modeExisting.checked;
    submit.disabled = modeExisting.checked && !target;
  };
  modeNew.addEventListener("change", sync);
  modeExisting.addEventListener("change", sync);
  sync();
  return reviewDialog({
    name: "split",
    heading: "Split Source Event",
    intro: h("p", {}, "Detaching: ", h("strong", {}, source.title)),
    submit,
    busyText: "Splitting...",
    fields: [
      h(
        "fieldset",
        { class: "radio-group" },
        h("legend", {}, "Where should the source go?"),
        h("label", { for: "split-new" }, modeNew, " Create new canonical event"),
        h("label", { for: "split-existing" }, modeExisting, " Assign to existing canonical event"),
      ),
      search,
    ],
    request: (operator) => {
      const body = { canonical_event_id: canonical.id, source_event_id: source.id };
      if (modeExisting.checked && target) body.target_canonical_id = target.id;
      if (operator) body.operator = operator;
      return () => send("POST", "/api/review/split", body);
    },
  });
}

/** The fields the merge dialog compares, with how each is shown. */
const DIFF_FIELDS = [
  ["Title", (e) => e.title],
  ["City", (e) => e.location_city],
  ["Venue", (e) => e.location_name],
  ["Street", (e) => e.location_street],
  ["Dates", (e) => (e.first_date ? formatRange(e.first_date, e.last_date) : null)],
  ["Times", (e) => dateLines(e.dates).join("\n")],
  ["Categories", (e) => (e.categories || []).join(", ")],
  ["Summary", (e) => e.short_description],
  ["Sources", (e) => String(e.source_count)],
  ["Confidence", (e) => pct(e.match_confidence)],
];

/**
 * Field-by-field comparison of two canonical events (full details): one row per
 * field, rows whose values differ are marked, so a reviewer sees what the merge
 * joins before confirming it.
 */
export function fieldDiff(current, target) {
  const show = (v) => (v === null || v === undefined || v === "" ? h("span", { class: "muted" }, "-") : v);
  return h(
    "table",
    { class: "data diff-table", "aria-label": "Field-by-field comparison" },
    h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, `Current (#${current.id})`), h("th", {}, `Target (#${target.id})`))),
    h(
      "tbody",
      { lang: "de" },
      DIFF_FIELDS.map(([label, read]) => {
        const a = read(current) ?? "";
        const b = read(target) ?? "";
        const differs = String(a).trim().toLocaleLowerCase() !== String(b).trim().toLocaleLowerCase();
        return h(
          "tr",
          { class: differs ? "differs" : "same", "data-field": label.toLowerCase() },
          h("th", { scope: "row", lang: "en" }, label, differs ? h("span", { class: "diff-mark", title: "Differs" }, " ≠") : null),
          h("td", { class: "prewrap" }, show(a)),
          h("td", { class: "prewrap" }, show(b)),
        );
      }),
    ),
  );
}

/** The merge dialog: `canonical` is merged INTO the chosen target (and deleted). */
export function mergeDialog(canonical) {
  let target = null;
  const submit = h("button", { type: "submit", class: "btn btn-primary", disabled: true }, "Merge");
  const warning = h("div", { class: "warning-box", hidden: true });
  const diff = h("div", { class: "diff-slot", "aria-live": "polite" });
  const search = targetSearch({
    id: "merge-target",
    label: "Search for target canonical event",
    excludeId: canonical.id,
    onSelect: (e) => {
      target = e;
      submit.disabled = false;
      warning.hidden = false;
      replace(
        warning,
        h("p", {}, "Merging ", h("strong", {}, canonical.title), ` (#${canonical.id}) INTO `, h("strong", {}, e.title), ` (#${e.id})`),
        h("p", {}, "The current event will be deleted. Its sources will be transferred to the target event."),
      );
      replace(diff, h("p", { class: "muted" }, "Loading the comparison..."));
      Promise.all([get(`/api/canonical-events/${canonical.id}`), get(`/api/canonical-events/${e.id}`)])
        .then(([current, chosen]) => {
          if (target && target.id === chosen.id) replace(diff, fieldDiff(current, chosen));
        })
        .catch((err) => replace(diff, errorBox(`Error loading the comparison: ${err.message}`)));
    },
  });
  return reviewDialog({
    name: "merge",
    heading: "Merge with Another Event",
    intro: h("p", {}, "Current event: ", h("strong", {}, canonical.title)),
    submit,
    busyText: "Merging...",
    fields: [search, warning, diff],
    request: (operator) => {
      if (!target) return null;
      const body = { source_canonical_id: canonical.id, target_canonical_id: target.id };
      if (operator) body.operator = operator;
      return () => send("POST", "/api/review/merge", body);
    },
  });
}

/** The dismiss dialog: optional reason and operator (replaces the old bare confirm). */
export function dismissDialog(canonical) {
  const reason = h("textarea", { id: "dismiss-reason", rows: 3, maxlength: 1000, placeholder: "Why is this group correct?" });
  return reviewDialog({
    name: "dismiss",
    heading: "Dismiss from the review queue",
    intro: h("p", {}, "Mark ", h("strong", {}, cut(canonical.title, 80)), " as reviewed: its group is kept as it is, also in later matching runs."),
    submit: h("button", { type: "submit", class: "btn btn-primary" }, "Dismiss"),
    busyText: "Dismissing...",
    fields: [h("div", { class: "field" }, h("label", { for: "dismiss-reason" }, "Reason (optional)"), reason)],
    request: (operator) => {
      const body = {};
      if (reason.value.trim()) body.reason = reason.value.trim();
      if (operator) body.operator = operator;
      return () => send("POST", `/api/review/queue/${canonical.id}/dismiss`, body);
    },
  });
}

/** Dismisses several groups at once: one reason and operator for all of them. */
export function bulkDismissDialog(items) {
  const reason = h("textarea", { id: "bulk-dismiss-reason", rows: 3, maxlength: 1000, placeholder: "Why are these groups correct?" });
  const progress = h("p", { class: "muted", role: "status" });
  return reviewDialog({
    name: "bulk-dismiss",
    heading: `Dismiss ${items.length} groups`,
    intro: h("ul", { class: "bullets", lang: "de" }, items.slice(0, 8).map((e) => h("li", {}, cut(e.title, 80))), items.length > 8 ? h("li", { class: "muted" }, `and ${items.length - 8} more`) : null),
    submit: h("button", { type: "submit", class: "btn btn-primary" }, `Dismiss ${items.length}`),
    busyText: "Dismissing...",
    fields: [h("div", { class: "field" }, h("label", { for: "bulk-dismiss-reason" }, "Reason (optional)"), reason), progress],
    request: (operator) => {
      const body = {};
      if (reason.value.trim()) body.reason = reason.value.trim();
      if (operator) body.operator = operator;
      return async () => {
        // One request per group: each is its own audited decision.
        for (const [i, e] of items.entries()) {
          progress.textContent = `${i + 1} of ${items.length}...`;
          await send("POST", `/api/review/queue/${e.id}/dismiss`, body);
        }
        return { dismissed: items.length };
      };
    },
  });
}
