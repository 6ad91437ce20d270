// The review dialogs (frontend.md §3.1, §3.2, §4): split a source off, merge two
// canonical events, dismiss from the review queue. Native <dialog> elements: modal,
// Escape closes, focus is trapped by the browser; a click on the backdrop closes too.
// Each resolves with the API's answer on success, or `null` when cancelled.

import { h, replace, errorBox, debounce } from "./dom.js";
import { get, send, withQuery, invalidateAfterReview } from "./api.js";
import { cut } from "./format.js";

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
                  h("span", { class: "result-title" }, e.title),
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
  const input = h("input", { type: "text", id, placeholder: "Your name...", maxlength: 100, autocomplete: "name" });
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

/** The split dialog for `source` of `canonical`. */
export function splitDialog(canonical, source) {
  return new Promise((resolve) => {
    let target = null;
    let result = null;
    const error = h("div");
    const op = operatorField("split-operator");
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
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": "split-title", id: "split-dialog" },
      h(
        "form",
        {
          method: "dialog",
          onsubmit: async (e) => {
            e.preventDefault();
            const body = { canonical_event_id: canonical.id, source_event_id: source.id };
            if (modeExisting.checked && target) body.target_canonical_id = target.id;
            if (op.input.value.trim()) body.operator = op.input.value.trim();
            const answer = await submitWith(submit, "Splitting...", error, () => send("POST", "/api/review/split", body));
            if (answer) {
              invalidateAfterReview();
              result = answer;
              dialog.close();
            }
          },
        },
        h("h2", { id: "split-title" }, "Split Source Event"),
        h("p", {}, "Detaching: ", h("strong", {}, source.title)),
        h(
          "fieldset",
          { class: "radio-group" },
          h("legend", {}, "Where should the source go?"),
          h("label", { for: "split-new" }, modeNew, " Create new canonical event"),
          h("label", { for: "split-existing" }, modeExisting, " Assign to existing canonical event"),
        ),
        search,
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
    sync();
    openModal(dialog);
  });
}

/** The merge dialog: `canonical` is merged INTO the chosen target (and deleted). */
export function mergeDialog(canonical) {
  return new Promise((resolve) => {
    let target = null;
    let result = null;
    const error = h("div");
    const op = operatorField("merge-operator");
    const submit = h("button", { type: "submit", class: "btn btn-primary", disabled: true }, "Merge");
    const warning = h("div", { class: "warning-box", hidden: true });
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
      },
    });
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": "merge-title", id: "merge-dialog" },
      h(
        "form",
        {
          method: "dialog",
          onsubmit: async (e) => {
            e.preventDefault();
            if (!target) return;
            const body = { source_canonical_id: canonical.id, target_canonical_id: target.id };
            if (op.input.value.trim()) body.operator = op.input.value.trim();
            const answer = await submitWith(submit, "Merging...", error, () => send("POST", "/api/review/merge", body));
            if (answer) {
              invalidateAfterReview();
              result = answer;
              dialog.close();
            }
          },
        },
        h("h2", { id: "merge-title" }, "Merge with Another Event"),
        h("p", {}, "Current event: ", h("strong", {}, canonical.title)),
        search,
        warning,
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

/** The dismiss dialog: optional reason and operator (replaces the old bare confirm). */
export function dismissDialog(canonical) {
  return new Promise((resolve) => {
    let result = null;
    const error = h("div");
    const op = operatorField("dismiss-operator");
    const reason = h("textarea", { id: "dismiss-reason", rows: 3, maxlength: 1000, placeholder: "Why is this group correct?" });
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Dismiss");
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": "dismiss-title", id: "dismiss-dialog" },
      h(
        "form",
        {
          method: "dialog",
          onsubmit: async (e) => {
            e.preventDefault();
            const body = {};
            if (reason.value.trim()) body.reason = reason.value.trim();
            if (op.input.value.trim()) body.operator = op.input.value.trim();
            const answer = await submitWith(submit, "Dismissing...", error, () =>
              send("POST", `/api/review/queue/${canonical.id}/dismiss`, body),
            );
            if (answer) {
              invalidateAfterReview();
              result = answer;
              dialog.close();
            }
          },
        },
        h("h2", { id: "dismiss-title" }, "Dismiss from the review queue"),
        h("p", {}, "Mark ", h("strong", {}, cut(canonical.title, 80)), " as reviewed: its group is kept as it is, also in later matching runs."),
        h("div", { class: "field" }, h("label", { for: "dismiss-reason" }, "Reason (optional)"), reason),
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
