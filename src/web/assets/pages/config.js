// The matching configuration (frontend.md §6): one collapsible section per config
// block, each saving only itself with PATCH /api/config. Numbers are validated in the
// form (empty or unparsable input is an error, never 0); the server's 422 problems
// (each naming its key) are shown next to the field they name. A save triggers a
// re-match, which the success toast says. The AI key is write-only (`has_api_key`).

import { h, replace, badge, errorBox, field, toast } from "../dom.js";
import { get, send, invalidate, CONFIG_FRESH_MS } from "../api.js";
import { formatDateTime } from "../format.js";

/** Field helpers: `n` a number (step 0.05, 0–∞ unless given), `i` an integer. */
const n = (key, label, opts = {}) => ({ key, label, type: "number", step: 0.05, min: 0, ...opts });
const i = (key, label, opts = {}) => ({ key, label, type: "int", step: 1, min: 0, ...opts });

const SECTIONS = [
  {
    id: "scoring",
    title: "Scoring Weights",
    hint: "How much each signal counts in the combined score; the four weights must sum to 1.0.",
    fields: [n("date", "Date", { max: 1 }), n("geo", "Geo", { max: 1 }), n("title", "Title", { max: 1 }), n("description", "Description", { max: 1 })],
  },
  {
    id: "thresholds",
    title: "Thresholds",
    hint: "High = auto-match, Low = auto-reject, Between = ambiguous.",
    fields: [
      n("high", "High threshold", { max: 1 }),
      n("low", "Low threshold", { max: 1 }),
      n("title_veto", "Title veto", { max: 1, hint: "A title score below this caps a match at “ambiguous”; 0 disables the veto" }),
    ],
  },
  {
    id: "date",
    title: "Date / Time",
    fields: [
      i("time_tolerance_minutes", "Exact match tolerance (minutes)"),
      i("time_close_minutes", "Close match window (minutes)"),
      n("close_factor", "Close time factor", { max: 1 }),
      n("far_factor", "Far time factor", { max: 1 }),
      n("time_gap_penalty_hours", "Gap penalty threshold (hours)", { step: 0.5, min: 0.5, hint: "Time gaps beyond this trigger the penalty factor" }),
      n("time_gap_penalty_factor", "Gap penalty factor", { max: 1, hint: "Score multiplier for time gaps beyond threshold" }),
    ],
  },
  {
    id: "geo",
    title: "Geographic",
    fields: [
      n("max_distance_km", "Max distance (km)", { step: 0.5, exclusiveMin: true }),
      n("min_confidence", "Min geo confidence", { max: 1 }),
      n("neutral_score", "Neutral score (when no geo data)", { max: 1 }),
      n("venue_match_distance_km", "Venue match distance (km)", { step: 0.5, min: 0.1, hint: "Compare venue names when events are closer than this" }),
      n("venue_mismatch_factor", "Venue mismatch factor", { max: 1, hint: "Score multiplier when venue names clearly differ" }),
    ],
  },
  {
    id: "title",
    title: "Title Matching",
    fields: [
      n("primary_weight", "Primary weight", { max: 1 }),
      n("secondary_weight", "Secondary weight", { max: 1 }),
      n("blend_lower", "Blend lower", { max: 1 }),
      n("blend_upper", "Blend upper", { max: 1 }),
    ],
  },
  {
    id: "ai",
    title: "AI Matching (LLM tie-breaker)",
    fields: [
      { key: "enabled", label: "AI matching enabled", type: "bool", switch: true },
      { key: "model", label: "Model", type: "text" },
      n("temperature", "Temperature", { max: 2 }),
      i("max_output_tokens", "Max output tokens", { step: 100, min: 100 }),
      i("max_concurrent_requests", "Max concurrent requests", { min: 1 }),
      n("confidence_threshold", "Confidence threshold", { max: 1 }),
      n("min_combined_score", "Min combined score (AI)", { max: 1 }),
      n("max_combined_score", "Max combined score (AI)", { max: 1 }),
      { key: "cache_enabled", label: "Cache enabled", type: "bool" },
      n("cost_per_1m_input_tokens", "Cost per 1M input tokens ($)", { step: 0.01 }),
      n("cost_per_1m_output_tokens", "Cost per 1M output tokens ($)", { step: 0.01 }),
      n("request_timeout_seconds", "Request timeout (s)", { step: 1, exclusiveMin: true, hint: "One answer may take this long before it is retried" }),
      n("budget_seconds", "Run budget (s)", { step: 10, exclusiveMin: true, hint: "Past this, remaining pairs stay ambiguous and the run completes" }),
    ],
  },
  {
    id: "cluster",
    title: "Clustering",
    fields: [i("max_cluster_size", "Max cluster size", { min: 2 }), n("min_internal_similarity", "Min internal similarity", { max: 1 })],
  },
];

const inputId = (section, key) => `cfg-${section}-${key}`;

/**
 * Parses one field's text. Returns `{value}` or `{error}`: empty and unparsable
 * numbers are errors (the old UI saved them as 0), as are values outside the range.
 */
export function parseField(f, raw) {
  if (f.type === "bool") return { value: Boolean(raw) };
  const text = String(raw ?? "").trim();
  if (f.type === "text") return text ? { value: text } : { error: "Required" };
  if (text === "") return { error: "Required: enter a number" };
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return { error: "Not a number" };
  const v = Number(text);
  if (!Number.isFinite(v)) return { error: "Not a number" };
  if (f.type === "int" && !Number.isInteger(v)) return { error: "Must be a whole number" };
  if (f.exclusiveMin && v <= f.min) return { error: `Must be greater than ${f.min}` };
  if (f.min !== undefined && v < f.min) return { error: `Must be at least ${f.min}` };
  if (f.max !== undefined && v > f.max) return { error: `Must be at most ${f.max}` };
  return { value: v };
}

function control(section, f, value) {
  if (f.type === "bool") {
    return h("input", { type: "checkbox", checked: Boolean(value), role: f.switch ? "switch" : null, class: f.switch ? "switch" : null });
  }
  if (f.type === "text") return h("input", { type: "text", value: value ?? "", spellcheck: "false" });
  // type=text + inputmode: the browser keeps exactly what was typed (a number input
  // reports "" for "abc"), so the form can say what is wrong instead of guessing.
  return h("input", {
    type: "text",
    inputmode: "decimal",
    value: value ?? "",
    "data-step": f.step,
    autocomplete: "off",
    class: "num-input",
  });
}

function readOnlySection(title, content, open = false) {
  return h("details", { class: "card config-section", open }, h("summary", {}, h("h2", {}, title), badge("read-only", "grey")), h("div", { class: "section-body" }, content));
}

export function render(main, ctx) {
  replace(main, h("h1", {}, "Configuration"), h("p", { class: "muted" }, "Loading configuration..."));
  get("/api/config", CONFIG_FRESH_MS)
    .then((cfg) => ctx.current() && draw(main, cfg, ctx))
    .catch((e) => ctx.current() && replace(main, h("h1", {}, "Configuration"), errorBox(`Error loading configuration: ${e.message}`)));
}

function draw(main, cfg, ctx) {
  const sections = SECTIONS.map((sec) => editableSection(sec, cfg, ctx, main));
  const cw = cfg.category_weights || { priority: [], overrides: {} };
  const overrides = Object.entries(cw.overrides || {});
  const strategies = Object.entries((cfg.canonical && cfg.canonical.field_strategies) || {});
  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Configuration"),
      cfg.updated_at ? h("span", { class: "muted" }, `Last updated: ${formatDateTime(cfg.updated_at)}`) : h("span", { class: "muted" }, "Shipped configuration (not changed here yet)"),
    ),
    h("p", { class: "muted" }, "Each section saves only its own values. Saving re-runs matching over all events with the new configuration."),
    sections,
    readOnlySection(
      "Category Weights",
      [
        h("h3", {}, "Priority"),
        cw.priority && cw.priority.length ? h("ol", {}, cw.priority.map((c) => h("li", {}, c))) : h("p", { class: "muted" }, "No priority categories configured"),
        h("h3", {}, "Weight overrides"),
        overrides.length
          ? h(
              "table",
              { class: "data compact" },
              h("thead", {}, h("tr", {}, ["Category", "Date", "Geo", "Title", "Desc"].map((t) => h("th", {}, t)))),
              h("tbody", {}, overrides.map(([cat, w]) => h("tr", {}, h("td", {}, cat), ["date", "geo", "title", "description"].map((k) => h("td", { class: "num" }, Number(w[k]).toFixed(2)))))),
            )
          : h("p", { class: "muted" }, "No weight overrides configured."),
      ],
    ),
    readOnlySection(
      "Field Strategies",
      h(
        "table",
        { class: "data compact" },
        h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, "Strategy"))),
        h("tbody", {}, strategies.map(([f, st]) => h("tr", {}, h("td", { class: "mono" }, f), h("td", {}, typeof st === "string" ? st : JSON.stringify(st))))),
      ),
    ),
  );
}

function editableSection(sec, cfg, ctx, main) {
  const values = cfg[sec.id] || {};
  const inputs = new Map();
  const sectionError = h("div", { class: "section-error", id: `cfg-${sec.id}-error` });
  const fields = sec.fields.map((f) => {
    const el = control(sec.id, f, values[f.key]);
    inputs.set(f.key, el);
    if (f.type === "bool") {
      el.id = inputId(sec.id, f.key);
      const label = h("label", { for: el.id, class: "check" }, el, " ", f.switch ? h("span", { class: "switch-text" }, values[f.key] ? "AI matching enabled" : "AI matching disabled") : f.label);
      if (f.switch) el.addEventListener("change", () => (label.querySelector(".switch-text").textContent = el.checked ? "AI matching enabled" : "AI matching disabled"));
      return h("div", { class: "field field-check" }, label, h("div", { class: "field-error", id: `${el.id}-error`, role: "alert" }));
    }
    const wrapper = field(inputId(sec.id, f.key), f.label, el, f.hint);
    // `change` too: clearing a field (a browser's clear button, autofill, WebDriver's
    // clear) fires no `input` event.
    for (const type of ["input", "change"]) {
      el.addEventListener(type, () => {
        const r = parseField(f, el.value);
        setFieldError(sec.id, f.key, r.error || "");
      });
    }
    return wrapper;
  });

  const extra = [];
  let keyAction = null; // undefined: keep; "": clear; text: set
  if (sec.id === "scoring") {
    const sum = h("span", { class: "sum", id: "cfg-scoring-sum" });
    const warn = h("span", { id: "cfg-scoring-warning" });
    const update = () => {
      let total = 0;
      let ok = true;
      for (const f of sec.fields) {
        const r = parseField(f, inputs.get(f.key).value);
        if (r.error) ok = false;
        else total += r.value;
      }
      sum.textContent = ok ? `Sum: ${total.toFixed(2)}` : "Sum: -";
      replace(warn, ok && Math.abs(total - 1) > 0.005 ? badge(`Weights sum to ${total.toFixed(2)} (should be 1.0)`, "yellow") : null);
    };
    for (const el of inputs.values()) {
      el.addEventListener("input", update);
      el.addEventListener("change", update);
    }
    update();
    extra.push(h("div", { class: "sum-line" }, sum, " ", warn));
  }
  if (sec.id === "title" && values.cross_source_type) {
    const c = values.cross_source_type;
    extra.push(
      h(
        "div",
        { class: "readonly-box" },
        h("strong", {}, "Cross-source-type overrides (read-only)"),
        h("div", { class: "small" }, `Primary ${c.primary_weight} · Secondary ${c.secondary_weight} · Blend lower ${c.blend_lower} · Blend upper ${c.blend_upper}`),
      ),
    );
  }
  if (sec.id === "ai") {
    const placeholder = () =>
      keyAction === "" ? "Key will be cleared on save" : cfg.has_api_key ? "Key is set (enter new value to change)" : "Enter API key";
    const key = h("input", { type: "password", id: "cfg-ai-api_key", autocomplete: "new-password", placeholder: placeholder() });
    const clear = h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        hidden: !cfg.has_api_key,
        onclick: () => {
          key.value = "";
          keyAction = "";
          key.placeholder = placeholder();
        },
      },
      "Clear Key",
    );
    key.addEventListener("input", () => {
      keyAction = key.value ? key.value : null;
      clear.hidden = !(cfg.has_api_key || key.value);
      key.placeholder = placeholder();
    });
    extra.push(
      h(
        "div",
        { class: "field" },
        h("label", { for: "cfg-ai-api_key" }, "API key"),
        h("div", { class: "inline" }, key, clear),
        cfg.has_api_key ? h("div", { class: "hint" }, "API key is configured") : h("div", { class: "hint" }, "No API key stored"),
        h("div", { class: "field-error", id: "cfg-ai-api_key-error", role: "alert" }),
      ),
    );
  }

  const save = h("button", { type: "submit", class: "btn btn-primary", id: `cfg-${sec.id}-save` }, "Save");
  const form = h(
    "form",
    {
      class: "config-form",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        replace(sectionError);
        const body = {};
        let bad = false;
        for (const f of sec.fields) {
          const el = inputs.get(f.key);
          const r = parseField(f, f.type === "bool" ? el.checked : el.value);
          setFieldError(sec.id, f.key, r.error || "");
          if (r.error) {
            if (!bad) el.focus();
            bad = true;
          } else body[f.key] = r.value;
        }
        if (bad) {
          replace(sectionError, errorBox("Please correct the highlighted fields; nothing was saved."));
          return;
        }
        if (sec.id === "thresholds") body.title_veto ??= values.title_veto;
        const patch = { [sec.id]: body };
        if (sec.id === "ai" && keyAction !== null && keyAction !== undefined) patch.ai_api_key = keyAction;
        save.disabled = true;
        save.textContent = "Saving...";
        try {
          await send("PATCH", "/api/config", patch);
          invalidate("/api/config");
          toast("Configuration saved successfully. A re-match was triggered.", "success", 4000);
          // Redraw from the server's answer (effective values, "Last updated").
          ctx.current() && render(main, ctx);
        } catch (err) {
          showServerProblems(sec, err, sectionError);
        } finally {
          save.disabled = false;
          save.textContent = "Save";
        }
      },
    },
    sec.hint ? h("p", { class: "hint" }, sec.hint) : null,
    h("div", { class: "field-grid" }, fields),
    extra,
    sectionError,
    h("div", { class: "form-buttons" }, save),
  );
  return h("details", { class: "card config-section", open: true, id: `cfg-${sec.id}` }, h("summary", {}, h("h2", {}, sec.title)), h("div", { class: "section-body" }, form));
}

function setFieldError(section, key, message) {
  const input = document.getElementById(inputId(section, key));
  const slot = document.getElementById(`${inputId(section, key)}-error`);
  if (slot) slot.textContent = message;
  if (input) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

/** Puts each 422 problem next to the field its `loc` names; the rest under the section. */
function showServerProblems(sec, err, sectionError) {
  const general = [];
  if (err.problems && err.problems.length) {
    for (const p of err.problems) {
      const loc = (p.loc || []).filter((x) => x !== "body");
      const slot = loc.length >= 2 ? document.getElementById(`${inputId(loc[0], loc.slice(1).join("."))}-error`) : null;
      if (slot) {
        slot.textContent = p.msg;
        document.getElementById(inputId(loc[0], loc.slice(1).join(".")))?.setAttribute("aria-invalid", "true");
      } else general.push(p.msg);
    }
  } else general.push(err.message);
  replace(sectionError, errorBox(general.length ? `Not saved: ${general.join("; ")}` : "Not saved: the server rejected the values marked above."));
}
