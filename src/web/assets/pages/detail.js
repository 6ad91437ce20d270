// One canonical event (frontend.md §3): its fields with provenance, its sources side
// by side with the differences highlighted, every pair decision with the four signal
// scores as bars, the weights used and the rule that decided, the audit trail, and
// the review actions (split, merge, dismiss).

import { h, replace, link, badge, errorBox, toast } from "../dom.js";
import { get, withQuery, invalidate, latestRunId, afterRematch } from "../api.js";
import { pct, confidenceKind, shortId, cut, formatDate, dateLines, formatDateTime } from "../format.js";
import { splitDialog, mergeDialog, dismissDialog } from "../dialogs.js";

const TIERS = {
  deterministic: ["Deterministic", "grey"],
  ai: ["AI", "purple"],
  ai_low_confidence: ["AI (low confidence)", "orange"],
  ai_unexpected: ["AI (unexpected)", "red"],
};

const DECISIONS = { match: ["Match", "green"], no_match: ["No match", "grey"], ambiguous: ["Ambiguous", "yellow"] };

/** Why a pair was decided, in words (DecisionRule of the matcher). */
const RULES = {
  threshold_high: "Combined score at or above the high threshold",
  threshold_low: "Combined score at or below the low threshold",
  between: "Combined score between the thresholds (ambiguous)",
  title_veto: "Title score below the title veto, despite a high combined score",
  "review_constraint:must_link": "A reviewer merged these groups (must-link)",
  "review_constraint:cannot_link": "A reviewer split these events apart (cannot-link)",
  "review_constraint:cannot_link_separation": "Match edge dropped: it would join two events a reviewer split apart",
  cluster_conflict: "Match edge refused by the clustering: the groups it would join hold conflicting listings or link too weakly (the groups are flagged)",
  llm: "Decided by the AI tie-breaker",
};

/** Names of the learned model's features (matching::learned::features). */
const FEATURES = {
  date_score: "Date score",
  geo_score: "Geo score",
  title_score: "Title score",
  description_score: "Description score",
  days_jaccard: "Shared days",
  day_gap: "Days apart",
  time_known: "Both times known",
  time_diff_hours: "Hours apart",
  time_doors_open: "Doors-open gap",
  geo_trusted: "Trusted geocodes",
  geo_km_log: "Distance",
  geo_outside_region: "Geocode outside region",
  geo_confidence_min: "Geocode confidence",
  venue_both: "Both venues named",
  venue_overlap: "Venue words shared",
  title_overlap: "Title words shared",
  category_jaccard: "Shared categories",
  same_source: "Same source",
  same_issue: "Same issue",
  same_issue_same_type: "Same issue, same type",
  cross_source_type: "Article vs listing",
  description_length_ratio: "Description lengths",
  city_same: "Same municipality",
  city_differs: "Other municipality",
};

/** Yes/no features: their label says which way the pair went. */
const FLAG_FEATURES = new Set([
  "time_known", "time_doors_open", "geo_trusted", "geo_outside_region", "venue_both", "same_source",
  "same_issue", "same_issue_same_type", "cross_source_type", "city_same", "city_differs",
]);

function featureLabel(c) {
  const name = FEATURES[c.feature] || c.feature;
  return FLAG_FEATURES.has(c.feature) ? `${name}: ${Number(c.value) >= 0.5 ? "yes" : "no"}` : name;
}

/** Feature contributions shown per decision; the rest are small. */
const SHOWN_CONTRIBUTIONS = 6;

/**
 * Why the learned model decided: the features that moved the match probability most,
 * as diverging bars (right = towards "same event", left = against), in log-odds
 * relative to an average candidate pair.
 */
function contributionList(cs) {
  const top = cs.slice(0, SHOWN_CONTRIBUTIONS);
  const max = Math.max(1, ...top.map((c) => Math.abs(Number(c.contribution) || 0)));
  return h(
    "div",
    { class: "contributions", "data-testid": "contributions" },
    h("div", { class: "small muted" }, "Why (learned model; log-odds against an average candidate pair):"),
    top.map((c) => {
      const v = Number(c.contribution) || 0;
      const fill = h("div", { class: `contrib-fill ${v >= 0 ? "contrib-for" : "contrib-against"}` });
      fill.style.width = `${((Math.abs(v) / max) * 50).toFixed(1)}%`;
      return h(
        "div",
        { class: "score-row contribution-row", "data-feature": c.feature },
        h("span", { class: "score-label", title: `${c.feature} = ${Number(c.value).toFixed(2)}` }, featureLabel(c)),
        h("div", { class: "contrib-bar", role: "img", "aria-label": `${featureLabel(c)}: ${v >= 0 ? "for" : "against"} a match` }, fill),
        h("span", { class: "score-value" }, `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(2)}`),
      );
    }),
  );
}

const SIGNALS = [
  ["title", "Title"],
  ["date", "Date"],
  ["geo", "Geo"],
  ["description", "Description"],
];

/** The "(from <source id>)" hint of a field. */
function from(provenance, key) {
  const id = provenance && provenance[key];
  if (!id) return null;
  // The list strategy "union" names no single source.
  if (id === "union_all_sources") return h("span", { class: "provenance", title: "Union over all sources" }, "(merged from all sources)");
  return h("span", { class: "provenance", title: `Source: ${id}` }, `(from ${shortId(id)})`);
}

function flagChips(e) {
  const chips = [];
  if (e.is_family_event) chips.push(badge("Family Event", "green"));
  if (e.is_child_focused) chips.push(badge("Child-focused", "green"));
  if (e.admission_free) chips.push(badge("Free Admission", "green"));
  return chips;
}

function addressLines(e, withNumber) {
  const street = [e.location_street, withNumber ? e.location_street_no : null].filter(Boolean).join(" ");
  let place = [e.location_zipcode, e.location_city].filter(Boolean).join(" ");
  if (e.location_district) place += ` (${e.location_district})`;
  return [street, place.trim()].filter(Boolean);
}

function section(title, ...content) {
  return h("section", { class: "card" }, h("h2", {}, title), ...content);
}

function dt(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function details(e) {
  const p = e.field_provenance || {};
  const left = h(
    "dl",
    { class: "fields" },
    dt("Summary", e.short_description ? [e.short_description, " ", from(p, "short_description")] : h("span", { class: "muted" }, "-")),
    dt("Description", e.description ? [h("div", { class: "prewrap" }, e.description), from(p, "description")] : h("span", { class: "muted" }, "-")),
    dt(
      "Highlights",
      Array.isArray(e.highlights) && e.highlights.length
        ? [h("ul", { class: "bullets" }, e.highlights.map((x) => h("li", {}, x))), from(p, "highlights")]
        : h("span", { class: "muted" }, "-"),
    ),
  );
  const dates = Array.isArray(e.dates) ? e.dates : [];
  const right = h(
    "dl",
    { class: "fields" },
    dt(
      "Location",
      e.location_name ? h("div", {}, h("strong", {}, e.location_name), " ", from(p, "location_name")) : null,
      addressLines(e, false).map((l) => h("div", {}, l)),
      !e.location_name && addressLines(e, false).length === 0 ? h("span", { class: "muted" }, "-") : null,
    ),
    dt(
      "Coordinates",
      e.geo_latitude != null && e.geo_longitude != null
        ? [
            `${Number(e.geo_latitude).toFixed(4)}, ${Number(e.geo_longitude).toFixed(4)}`,
            e.geo_confidence != null ? ` (confidence: ${pct(e.geo_confidence)})` : "",
            " ",
            from(p, "geo"),
          ]
        : h("span", { class: "muted" }, "-"),
    ),
    dt(
      "Dates",
      dates.length ? [dateLines(dates).map((line) => h("div", {}, line)), from(p, "dates")] : h("span", { class: "muted" }, "-"),
    ),
    dt(
      "Categories",
      (e.categories || []).length
        ? [h("span", { class: "chips" }, e.categories.map((c) => badge(c, "blue"))), " ", from(p, "categories")]
        : h("span", { class: "muted" }, "-"),
    ),
    dt("Flags", flagChips(e).length ? h("span", { class: "chips" }, flagChips(e)) : h("span", { class: "muted" }, "None set")),
  );
  return section("Event Details", h("div", { class: "two-col", lang: "de" }, left, right));
}

/** Normalized text for comparisons between sources. */
const norm = (v) => (Array.isArray(v) ? JSON.stringify(v) : String(v ?? "").trim().toLocaleLowerCase());

function sourceCard(s, first, canonical) {
  const differs = (key) => first && s !== first && norm(s[key]) !== norm(first[key]);
  const mark = (key, node) => (differs(key) ? h("div", { class: "diff", title: "Differs from the first source" }, node) : h("div", {}, node));
  const desc = s.description || "";
  let descEl = null;
  if (desc) {
    const text = h("div", { class: "prewrap" }, desc.length > 200 ? `${desc.slice(0, 200)}...` : desc);
    let open = false;
    const toggle =
      desc.length > 200
        ? h(
            "button",
            {
              type: "button",
              class: "btn-link",
              "aria-expanded": "false",
              onclick: (ev) => {
                open = !open;
                text.textContent = open ? desc : `${desc.slice(0, 200)}...`;
                ev.currentTarget.textContent = open ? "Show less" : "Show more";
                ev.currentTarget.setAttribute("aria-expanded", String(open));
              },
            },
            "Show more",
          )
        : null;
    descEl = mark("description", h("div", {}, text, toggle));
  }
  const dates = dateLines(s.dates).map((line) => h("div", {}, line));
  const place = addressLines(s, true);
  const titleDiffers = differs("title");
  return h(
    "article",
    { class: titleDiffers ? "source-card differs" : "source-card", "data-source-id": s.id, lang: "de" },
    h(
      "div",
      { class: "source-head" },
      badge(s.source_type, "grey"),
      h("strong", {}, s.source_code),
      h("span", { class: "muted mono", title: s.id }, shortId(s.id)),
    ),
    mark("title", h("h3", { class: "source-title" }, s.title)),
    s.short_description ? mark("short_description", h("p", { class: "muted" }, s.short_description)) : null,
    descEl,
    s.location_name || place.length
      ? mark("location_name", h("div", { class: "source-loc" }, s.location_name ? h("strong", {}, s.location_name) : null, place.map((l) => h("div", {}, l))))
      : null,
    dates.length ? mark("dates", h("div", { class: "source-dates" }, dates)) : null,
    (s.categories || []).length ? mark("categories", h("div", { class: "chips" }, s.categories.map((c) => badge(c, "blue")))) : null,
    flagChips(s).length ? h("div", { class: "chips" }, flagChips(s)) : null,
    canonical.sources.length >= 2
      ? h(
          "div",
          { class: "source-actions" },
          h(
            "button",
            {
              type: "button",
              class: "btn btn-small",
              "data-split": s.id,
              title: `Detach "${s.title}" from this event`,
              onclick: async () => {
                const before = await latestRunId();
                const answer = await splitDialog(canonical, s);
                if (answer) {
                  toast(answer.new_canonical_id ? `Source detached into new event #${answer.new_canonical_id}` : "Source detached");
                  canonical.reload(answer.original_deleted ? answer.new_canonical_id ?? answer.target_canonical_id : canonical.id, before);
                }
              },
            },
            `Split: ${cut(s.title, 40)}`,
          ),
        )
      : null,
  );
}

function scoreBar(label, value) {
  const v = Math.max(0, Math.min(1, Number(value) || 0));
  const fill = h("div", { class: `bar-fill fill-${confidenceKind(value, true)}` });
  fill.style.width = `${(v * 100).toFixed(1)}%`;
  return h(
    "div",
    { class: "score-row", "data-signal": label.toLowerCase() },
    h("span", { class: "score-label" }, label),
    h("div", { class: "bar", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(v * 100), "aria-label": `${label} score` }, fill),
    h("span", { class: "score-value" }, pct(value)),
  );
}

/**
 * Why the weights differ from the configured ones: an untrusted geo signal (a side
 * without coordinates or with a geocoding confidence below the minimum) is dropped,
 * and the combined score divides by the remaining weights.
 */
function reweighting(w) {
  const sum = SIGNALS.reduce((acc, [key]) => acc + (Number(w[key]) || 0), 0);
  if (Number(w.geo) !== 0 || sum <= 0) return null;
  const shares = SIGNALS.filter(([key]) => key !== "geo").map(([key, label]) => `${label} ${Math.round(((Number(w[key]) || 0) / sum) * 100)}%`);
  return h(
    "div",
    { class: "small reweighted", "data-testid": "geo-reweighted" },
    badge("Geo not used", "orange"),
    " Coordinates are missing or below the trusted geocoding confidence on one side, so geo counts 0 and the other weights are re-normalized: ",
    shares.join(" · "),
    ".",
  );
}

/**
 * Under the learned model an untrusted geo signal is not re-weighted but unknown: the
 * model sees "no trusted geocodes" and no distance, neither for nor against.
 */
function geoUnknown(w) {
  if (Number(w.geo) !== 0) return null;
  return h(
    "div",
    { class: "small reweighted", "data-testid": "geo-untrusted" },
    badge("Geo unknown", "orange"),
    " Coordinates are missing, outside the region or below the trusted geocoding confidence on one side, so the model treats the distance as unknown: no evidence for or against.",
  );
}

export function decisionCard(d, titles, note = null) {
  const [tierText, tierKind] = TIERS[d.tier] || [d.tier, "grey"];
  const [decText, decKind] = DECISIONS[d.decision] || [d.decision, "grey"];
  const w = d.weights || {};
  // With the learned model the combined score is the match probability and the
  // explanation is the features' contributions, not the signal weights.
  const learned = Array.isArray(d.contributions) && d.contributions.length > 0;
  const short = (id) => shortId(id, 12, 8);
  return h(
    "article",
    { class: "decision-card" },
    h(
      "div",
      { class: "decision-head" },
      h("span", { class: "mono", title: `${d.source_event_id_a} vs ${d.source_event_id_b}` }, `${short(d.source_event_id_a)} vs ${short(d.source_event_id_b)}`),
      badge(decText, decKind),
      badge(tierText, tierKind),
    ),
    note,
    h("div", { class: "muted small pair-titles", lang: "de" }, h("div", { title: titles[d.source_event_id_a] || "" }, titles[d.source_event_id_a] || ""), h("div", { title: titles[d.source_event_id_b] || "" }, titles[d.source_event_id_b] || "")),
    SIGNALS.map(([key, label]) => scoreBar(label, d[`${key}_score`])),
    learned
      ? [h("div", { class: "combined" }, scoreBar("Probability", d.combined_score)), contributionList(d.contributions), geoUnknown(w)]
      : [
          h("div", { class: "combined" }, scoreBar("Combined", d.combined_score)),
          h(
            "div",
            { class: "small weights" },
            "Weights: ",
            SIGNALS.map(([key, label]) => `${label} ${w[key] != null ? Number(w[key]).toFixed(2) : "-"}`).join(" · "),
            d.weight_source ? ` (category “${d.weight_source}”)` : " (default)",
          ),
          reweighting(w),
        ],
    h("div", { class: "small rule" }, "Rule: ", h("strong", {}, RULES[d.rule] || d.rule), h("span", { class: "muted mono" }, ` ${d.rule}`)),
  );
}

const AUDIT_ACTIONS = {
  split: ["Split", "blue"],
  merge: ["Merge", "green"],
  review_dismiss: ["Dismissed", "grey"],
  config_update: ["Config", "purple"],
  pair_dismiss: ["Not duplicates", "grey"],
};

/** The one-line summary of an audit entry (frontend.md §3, "Audit Trail"). */
export function auditSummary(a) {
  const d = a.details || {};
  switch (a.action_type) {
    case "split":
      return a.source_event_id ? `Detached source ${a.source_event_id}` : "Source event split";
    case "merge":
      return d.deleted_canonical_id != null ? `Merged from canonical #${d.deleted_canonical_id}` : "Events merged";
    case "review_dismiss":
      return d.reason || "Dismissed from review queue";
    case "config_update":
      return "Matching configuration updated";
    case "pair_dismiss":
      return `Kept apart from canonical #${d.other_canonical_id}${d.reason ? `: ${d.reason}` : ""}`;
    default:
      return a.action_type;
  }
}

export function auditBadge(action) {
  const [text, kind] = AUDIT_ACTIONS[action] || [action, "grey"];
  return badge(text, kind);
}

async function auditTrail(id, slot, ctx) {
  try {
    const data = await get(withQuery("/api/audit-log", [["page", 1], ["size", 20], ["canonical_event_id", id]]));
    if (!ctx.current()) return;
    replace(
      slot,
      data.items.length === 0
        ? h("p", { class: "muted" }, "No audit history.")
        : h(
            "ul",
            { class: "audit-list" },
            data.items.map((a) =>
              h(
                "li",
                { "data-action": a.action_type },
                auditBadge(a.action_type),
                h("span", { class: "muted" }, ` by ${a.operator} · ${formatDateTime(a.created_at)}`),
                h("div", {}, auditSummary(a)),
              ),
            ),
          ),
    );
  } catch (e) {
    if (ctx.current()) replace(slot, errorBox(`Error loading the audit trail: ${e.message}`));
  }
}

export function render(main, ctx) {
  const id = Number(ctx.params[0]);
  // A reload of the page shown keeps its content until the answer is drawn (no flash,
  // no layout shift, scroll position kept).
  if (!main.querySelector(`.detail-header[data-id='${id}']`)) {
    replace(main, link("/", "← Back to list", { class: "back" }), h("p", { class: "muted" }, "Loading event..."));
  }
  // After a split or merge the group's confidence is recomputed by the re-match the
  // action triggers: redraw once that run has finished (`before`: the newest run id
  // seen before the action).
  const reload = (nextId, before) => {
    const shown = nextId || id;
    if (nextId && nextId !== id) ctx.navigate(`/events/${nextId}`);
    else ctx.navigate(`/events/${id}`, { replace: true, keep: true });
    if (before === undefined) return;
    afterRematch(before).then((done) => {
      if (!done || location.pathname !== `/events/${shown}`) return;
      invalidate(`/api/canonical-events/${shown}`);
      ctx.navigate(`/events/${shown}`, { replace: true, keep: true });
    });
  };
  get(`/api/canonical-events/${id}`)
    .then((e) => {
      if (!ctx.current()) return;
      e.reload = reload;
      draw(main, e, ctx);
    })
    .catch((err) => {
      if (!ctx.current()) return;
      replace(
        main,
        link("/", "← Back to list", { class: "back" }),
        err.status === 404
          ? [h("h1", {}, "Event not found."), link("/", "Back to list")]
          : errorBox(`Error loading event: ${err.message}`),
      );
    });
}

function draw(main, e, ctx) {
  // A redraw after an action keeps the focus where it was (same id), else on the
  // page itself, never on BODY.
  const active = document.activeElement;
  const hadFocus = active && active !== document.body && main.contains(active);
  const focusedId = hadFocus ? active.id : "";
  const sources = e.sources || [];
  const first = sources[0];
  const titles = Object.fromEntries(sources.map((s) => [s.id, s.title]));
  const decisions = e.match_decisions || [];
  const audit = h("div", {}, h("p", { class: "muted" }, "Loading audit trail..."));
  const scores = h("div", { class: "decision-grid" }, decisions.map((d) => decisionCard(d, titles)));
  const header = h(
    "div",
    { class: "detail-header", "data-id": e.id },
    h("h1", { class: "event-title" }, h("span", { lang: "de" }, e.title), " ", from(e.field_provenance, "title")),
    h(
      "div",
      { class: "chips header-chips" },
      badge(`${e.source_count} source(s)`, "blue", { "data-testid": "source-count" }),
      badge(`Confidence: ${pct(e.match_confidence)}`, confidenceKind(e.match_confidence)),
      e.needs_review ? badge("Needs Review", "yellow") : null,
      e.ai_assisted ? badge("AI Assisted", "purple") : null,
      e.first_date ? h("span", { class: "muted" }, e.last_date && e.last_date !== e.first_date ? `${formatDate(e.first_date)} – ${formatDate(e.last_date)}` : formatDate(e.first_date)) : null,
    ),
    e.needs_review && e.review_reason ? h("p", { class: "review-reason" }, "Flagged for review: ", e.review_reason) : null,
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          class: "btn",
          id: "merge-button",
          onclick: async () => {
            const before = await latestRunId();
            const answer = await mergeDialog(e);
            if (answer) {
              toast(`Merged into event #${answer.surviving_canonical_id}`);
              e.reload(answer.surviving_canonical_id, before);
            }
          },
        },
        "Merge with...",
      ),
      e.needs_review || e.source_count > 1
        ? h(
        "button",
        {
          type: "button",
          class: "btn",
          id: "dismiss-button",
          onclick: async () => {
            const answer = await dismissDialog(e);
            if (answer) {
              toast("Dismissed from the review queue");
              e.reload();
            }
          },
        },
        "Dismiss from review",
      )
        : null,
    ),
  );
  replace(
    main,
    link("/", "← Back to list", { class: "back" }),
    header,
    details(e),
    section(
      `Source Events (${sources.length})`,
      sources.length === 0
        ? h("p", { class: "muted" }, "No source events.")
        : [
            sources.length >= 2 ? h("p", { class: "muted small" }, "Fields that differ from the first source are highlighted; cards whose title differs have an amber border.") : null,
            h("div", { class: "source-grid" }, sources.map((s) => sourceCard(s, first, e))),
          ],
    ),
    section(
      "Match Scores",
      sources.length <= 1
        ? h("p", { class: "muted" }, "Single source -- no match scores")
        : [decisions.length === 0 ? h("p", { class: "muted", id: "no-decisions" }, "No match decisions recorded") : null, scores],
    ),
    section("Audit Trail", audit),
  );
  if (hadFocus) (document.getElementById(focusedId) || main).focus({ preventScroll: true });
  auditTrail(e.id, audit, ctx);
  scoreMissingPairs(sources, decisions, titles, scores, ctx);
}

/** Most pairs scored on demand per group (a merged group of 8 has 28 pairs). */
const MAX_ON_DEMAND = 28;

/**
 * Pairs of members without a stored decision (typically groups a reviewer merged:
 * the matcher never compared them) are scored on demand with `/api/explain`, exactly
 * as a run would, so every merged group shows its pair scores.
 */
async function scoreMissingPairs(sources, decisions, titles, grid, ctx) {
  const known = new Set(decisions.map((d) => `${d.source_event_id_a}\u0000${d.source_event_id_b}`));
  const ids = sources.map((s) => s.id).sort();
  const missing = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      if (!known.has(`${ids[i]}\u0000${ids[j]}`)) missing.push([ids[i], ids[j]]);
    }
  }
  for (const [a, b] of missing.slice(0, MAX_ON_DEMAND)) {
    try {
      const x = await get(withQuery("/api/explain", [["a", a], ["b", b]]));
      if (!ctx.current()) return;
      const d = {
        source_event_id_a: x.id_a,
        source_event_id_b: x.id_b,
        title_score: x.scores.title,
        date_score: x.scores.date,
        geo_score: x.scores.geo,
        description_score: x.scores.description,
        combined_score: x.combined,
        decision: x.decision,
        tier: x.tier,
        weights: x.weights,
        weight_source: x.weight_source,
        rule: x.rule,
        contributions: x.contributions,
      };
      const note = h("div", { class: "small muted on-demand" }, badge("Scored now", "blue"), " No stored decision: the matcher never compared this pair (e.g. groups merged by a reviewer).");
      grid.appendChild(decisionCard(d, titles, note));
      document.getElementById("no-decisions")?.remove();
    } catch (e) {
      if (ctx.current()) grid.appendChild(errorBox(`Error scoring ${a} vs ${b}: ${e.message}`));
      return;
    }
  }
}
