// The processing dashboard (frontend.md §5): figure cards, the match distribution,
// processing over time drawn as SVG bar charts (built here, no chart library), and
// the most recent pipeline runs.

import { h, replace, badge, errorBox } from "../dom.js";
import { get, getText } from "../api.js";
import { pct, confidenceKind, count, formatDate, formatDateTime } from "../format.js";

const SVG = "http://www.w3.org/2000/svg";
const RANGES = [7, 30, 90];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

function card(title, value, subtitle, kind = "") {
  return h(
    "div",
    { class: `stat-card ${kind ? `stat-${kind}` : ""}`.trim() },
    h("div", { class: "stat-title" }, title),
    h("div", { class: "stat-value" }, value),
    subtitle ? h("div", { class: "stat-sub" }, subtitle) : null,
  );
}

/** A "nice" axis maximum ≥ `v`: 1, 2, 2.5 or 5 times a power of ten (so 2,004 gets 2,500, not 5,000). */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  // 2.5 only where half of it is still a whole number (tick labels are counts).
  for (const m of p >= 100 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Every day of the range ending today (UTC), with the history's values or zeros. */
export function fillDays(history, days) {
  const byDay = new Map(history.map((d) => [d.date, d]));
  const out = [];
  const today = new Date();
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    const key = d.toISOString().slice(0, 10);
    out.push(byDay.get(key) || { date: key, files_processed: 0, events_ingested: 0, errors: 0 });
  }
  return out;
}

/**
 * A bar chart of `series` ([{key, label, cls}], stacked bottom-up) per day, with a y
 * axis (0, half, max, gridlines), date labels on the x axis and a <title> per bar.
 */
function barChart(title, days, series) {
  const W = 720;
  const H = 220;
  const m = { top: 16, right: 12, bottom: 34, left: 52 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const total = (d) => series.reduce((a, sr) => a + (Number(d[sr.key]) || 0), 0);
  const max = niceMax(Math.max(0, ...days.map(total)));
  const y = (v) => m.top + ih - (v / max) * ih;
  const step = iw / days.length;
  const bw = Math.max(1, Math.min(28, step * 0.7));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title });
  svg.appendChild(s("title", {}, title));
  for (const t of [0, max / 2, max]) {
    svg.appendChild(s("line", { x1: m.left, x2: W - m.right, y1: y(t), y2: y(t), class: t === 0 ? "axis" : "grid" }));
    svg.appendChild(s("text", { x: m.left - 8, y: y(t) + 4, "text-anchor": "end", class: "tick" }, count(Math.round(t))));
  }
  svg.appendChild(s("line", { x1: m.left, x2: m.left, y1: m.top, y2: m.top + ih, class: "axis" }));
  const labelEvery = Math.ceil(days.length / 10);
  days.forEach((d, i) => {
    const cx = m.left + step * i + step / 2;
    let base = 0;
    for (const sr of series) {
      const v = Number(d[sr.key]) || 0;
      if (v > 0) {
        const top = y(base + v);
        const height = Math.max(1, y(base) - top);
        svg.appendChild(
          s("rect", { x: cx - bw / 2, y: top, width: bw, height, class: `col ${sr.cls}` }, s("title", {}, `${formatDate(d.date)}: ${count(v)} ${sr.label.toLowerCase()}`)),
        );
      }
      base += v;
    }
    if (i % labelEvery === 0 || i === days.length - 1) {
      svg.appendChild(s("text", { x: cx, y: H - m.bottom + 16, "text-anchor": "middle", class: "tick" }, formatDate(d.date).slice(0, 5)));
    }
  });
  const legend = h(
    "div",
    { class: "legend" },
    series.map((sr) => h("span", { class: "legend-item" }, h("span", { class: `swatch ${sr.cls}` }), sr.label)),
  );
  return h("figure", { class: "chart-figure" }, h("figcaption", {}, title), legend, svg);
}

/** Skipped files since start, from the Prometheus counter (the stats API has none). */
export function skippedFiles(text) {
  const m = /^event_dedup_files_processed_total\{status="skipped"\}\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

function distribution(matches) {
  const rows = [
    ["Match", matches.match, "green"],
    ["No Match", matches.no_match, "grey"],
    ["Ambiguous", matches.ambiguous, "yellow"],
  ];
  const sum = rows.reduce((a, r) => a + r[1], 0);
  if (sum === 0) return h("p", { class: "muted" }, "No match decisions recorded.");
  return h(
    "div",
    { class: "dist" },
    rows.map(([label, n, kind]) => {
      const fill = h("div", { class: `bar-fill fill-${kind}` });
      fill.style.width = `${((n / sum) * 100).toFixed(1)}%`;
      return h(
        "div",
        { class: "score-row" },
        h("span", { class: "score-label" }, label),
        h("div", { class: "bar bar-wide" }, fill),
        h("span", { class: "score-value" }, `${count(n)} (${pct(n / sum)})`),
      );
    }),
  );
}

/** The LLM tie-breaker's usage and estimated cost over the period (issue 6). */
function aiUsage(ai) {
  const section = h("section", { class: "card", id: "ai-usage" }, h("h2", {}, "AI Tie-breaker"));
  if (!ai.total_requests) {
    section.append(h("p", { class: "muted" }, "No model requests in this period (tie-breaker off, or no ambiguous pair in its score band)."));
    return section;
  }
  section.append(
    h(
      "div",
      { class: "stat-grid" },
      card("Pairs Asked", count(ai.total_requests), `${count(ai.api_requests)} requests / ${count(ai.cached_requests)} from cache`),
      card("Tokens", count(ai.total_tokens), `${count(ai.prompt_tokens)} in / ${count(ai.completion_tokens)} out`),
      card("Estimated Cost", `$${Number(ai.estimated_cost_usd).toFixed(4)}`, `${count(ai.batch_count)} run(s)`),
    ),
  );
  return section;
}

function runsTable(runs) {
  if (!runs.length) return h("p", { class: "muted" }, "No pipeline runs yet.");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data" },
      h("thead", {}, h("tr", {}, ["Started", "Trigger", "Status", "Events", "Pairs", "Matches", "Created", "Updated", "Flagged", "Duration"].map((t) => h("th", {}, t)))),
      h(
        "tbody",
        {},
        runs.map((r) =>
          h(
            "tr",
            {},
            h("td", { class: "nowrap" }, formatDateTime(r.started_at)),
            h("td", {}, r.trigger),
            h("td", {}, badge(r.status, r.status === "completed" ? "green" : r.status === "failed" ? "red" : "yellow", { title: r.error || "" })),
            h("td", { class: "num" }, count(r.total_events)),
            h("td", { class: "num" }, count(r.candidate_pairs)),
            h("td", { class: "num" }, count(r.matches)),
            h("td", { class: "num" }, count(r.canonicals_created)),
            h("td", { class: "num" }, count(r.canonicals_updated)),
            h("td", { class: "num" }, count(r.flagged)),
            h("td", { class: "num" }, r.duration_ms != null ? `${(r.duration_ms / 1000).toFixed(1)} s` : "-"),
          ),
        ),
      ),
    ),
  );
}

export function render(main, ctx) {
  let days = RANGES.includes(Number(ctx.query.get("days"))) ? Number(ctx.query.get("days")) : 30;
  const buttons = h("div", { class: "range", role: "group", "aria-label": "Time range" });
  const body = h("div", {}, h("p", { class: "muted" }, "Loading dashboard..."));
  replace(main, h("div", { class: "page-head" }, h("h1", {}, "Processing Dashboard"), buttons), body);

  const drawButtons = () =>
    replace(
      buttons,
      RANGES.map((d) =>
        h(
          "button",
          {
            type: "button",
            class: d === days ? "btn btn-toggle active" : "btn btn-toggle",
            "aria-pressed": String(d === days),
            onclick: () => {
              days = d;
              history.replaceState(null, "", d === 30 ? "/dashboard" : `/dashboard?days=${d}`);
              drawButtons();
              load();
            },
          },
          `${d}d`,
        ),
      ),
    );

  async function load() {
    const want = days;
    body.classList.add("loading");
    try {
      const [stats, history, runs, skipped] = await Promise.all([
        get(`/api/dashboard/stats?days=${want}`),
        get(`/api/dashboard/processing-history?days=${want}`),
        get("/api/runs?limit=10"),
        getText("/metrics").then(skippedFiles, () => null),
      ]);
      if (!ctx.current() || want !== days) return;
      body.classList.remove("loading");
      const f = stats.files;
      const c = stats.canonicals;
      const filled = fillDays(history, want);
      const errors = filled.reduce((a, d) => a + d.errors, 0);
      replace(
        body,
        h(
          "div",
          { class: "stat-grid" },
          card("Files Processed", count(f.total_files), `${count(f.completed)} completed / ${count(f.errors)} errors`),
          card("Files Skipped", skipped == null ? "-" : count(skipped), "since service start (content already ingested)"),
          card("Dead-lettered", count(f.errors), "files that failed and were moved aside", f.errors > 0 ? "red" : ""),
          card("Events Ingested", count(f.total_events)),
          card("Canonical Events", count(c.total), `${count(c.needs_review)} needing review`, c.needs_review > 0 ? "yellow" : ""),
          card("Avg Confidence", pct(c.avg_confidence), null, c.avg_confidence == null ? "" : confidenceKind(c.avg_confidence)),
        ),
        h("section", { class: "card" }, h("h2", {}, "Match Distribution"), distribution(stats.matches)),
        stats.ai ? aiUsage(stats.ai) : null,
        h(
          "section",
          { class: "card", id: "history" },
          h("h2", {}, `Processing History (last ${want} days)`),
          history.length === 0
            ? h("p", { class: "muted" }, "No processing data available.")
            : h(
                "div",
                { class: "charts" },
                barChart("Events ingested per day", filled, [{ key: "events_ingested", label: "Events ingested", cls: "s-events" }]),
                barChart(
                  "Files processed per day",
                  filled.map((d) => ({ ...d, ok_files: d.files_processed - d.errors })),
                  [
                    { key: "ok_files", label: "Files processed", cls: "s-files" },
                    { key: "errors", label: `Errors (${errors})`, cls: "s-errors" },
                  ],
                ),
              ),
        ),
        h("section", { class: "card" }, h("h2", {}, "Recent Runs"), runsTable(runs)),
      );
    } catch (e) {
      if (!ctx.current()) return;
      body.classList.remove("loading");
      replace(body, errorBox(`Error loading dashboard: ${e.message}`));
    }
  }
  drawButtons();
  load();
}
