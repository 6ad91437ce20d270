// The export page (frontend.md §7): canonical events as input-format JSON (a ZIP when
// over 200 events), optionally only those created / modified after a local time. The
// pickers' local wall-clock time is sent with this browser's explicit UTC offset (the
// old UI sent none, so the server read it as UTC).

import { h, replace, errorBox } from "../dom.js";
import { download } from "../api.js";

const pad = (n) => String(n).padStart(2, "0");

/** `YYYY-MM-DDTHH:MM` (local) → `YYYY-MM-DDTHH:MM:00+HH:MM` with this zone's offset. */
export function withOffset(local) {
  if (!local) return null;
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return null;
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return `${local.length === 16 ? `${local}:00` : local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export function render(main) {
  const created = h("input", { type: "datetime-local", id: "export-created" });
  const modified = h("input", { type: "datetime-local", id: "export-modified" });
  const message = h("div", { role: "status", "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "btn btn-primary", id: "export-button" }, "Export");
  replace(
    main,
    h("h1", {}, "Export Events"),
    h(
      "section",
      { class: "card narrow" },
      h("p", {}, "Export canonical events as JSON files matching the input format. Events are split into files of max 200 events each."),
      h(
        "form",
        {
          onsubmit: async (e) => {
            e.preventDefault();
            replace(message);
            button.disabled = true;
            button.textContent = "Exporting...";
            try {
              const { blob, name } = await download(
                "/api/export",
                { created_after: withOffset(created.value), modified_after: withOffset(modified.value) },
                "export.json",
              );
              const url = URL.createObjectURL(blob);
              const a = h("a", { href: url, download: name, hidden: true });
              document.body.appendChild(a);
              a.click();
              a.remove();
              setTimeout(() => URL.revokeObjectURL(url), 10_000);
              replace(message, h("p", { class: "success-box" }, `Download started: ${name}`));
            } catch (err) {
              replace(message, errorBox(err.message));
            } finally {
              button.disabled = false;
              button.textContent = "Export";
            }
          },
        },
        h(
          "div",
          { class: "field-grid" },
          h("div", { class: "field" }, h("label", { for: "export-created" }, "Created After"), created, h("div", { class: "hint" }, "Local time of this browser; sent with its UTC offset")),
          h("div", { class: "field" }, h("label", { for: "export-modified" }, "Modified After"), modified),
        ),
        h(
          "div",
          { class: "form-buttons" },
          h(
            "button",
            {
              type: "button",
              class: "btn",
              onclick: () => {
                created.value = "";
                modified.value = "";
                replace(message);
              },
            },
            "Clear Filters",
          ),
          button,
        ),
        message,
      ),
    ),
  );
}
