// Display formats of the review UI (frontend.md §1): dates dd.MM.yyyy, timestamps
// dd.MM.yyyy HH:mm in local time, rounded percentages, confidence colours.

const pad = (n) => String(n).padStart(2, "0");

/** `2026-02-14` → `14.02.2026`; `-` for empty; other text unchanged. */
export function formatDate(iso) {
  if (!iso) return "-";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  return m ? `${m[3]}.${m[2]}.${m[1]}` : String(iso);
}

/** An RFC 3339 instant as local `dd.MM.yyyy HH:mm`. */
export function formatDateTime(iso) {
  if (!iso) return "-";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${pad(d.getDate())}.${pad(d.getMonth() + 1)}.${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** `0.7875` → `79%`; `-` when null. */
export function pct(v) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return "-";
  return `${Math.round(Number(v) * 100)}%`;
}

/**
 * Colour of a confidence or score: ≥ 0.8 green, ≥ 0.5 yellow, else grey (list and
 * detail) or red (review queue and score bars, `strict`).
 */
export function confidenceKind(v, strict = false) {
  if (v === null || v === undefined) return "grey";
  if (v >= 0.8) return "green";
  if (v >= 0.5) return "yellow";
  return strict ? "red" : "grey";
}

/** Long ids as `...` + the last `keep` characters when longer than `max`. */
export function shortId(id, max = 16, keep = 12) {
  const s = String(id ?? "");
  return s.length > max ? `...${s.slice(-keep)}` : s;
}

/** Text cut to `n` characters with `...`. */
export function cut(text, n) {
  const s = String(text ?? "");
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

/** First and last day of a list of `{date, end_date}` entries (ISO strings). */
export function dateBounds(dates) {
  let first = null;
  let last = null;
  for (const d of dates || []) {
    if (!d || !d.date) continue;
    const end = d.end_date || d.date;
    if (first === null || d.date < first) first = d.date;
    if (last === null || end > last) last = end;
  }
  return { first, last };
}

/** `dd.MM.yyyy` or `dd.MM.yyyy – dd.MM.yyyy` for a range. */
export function formatRange(first, last) {
  if (!first) return "-";
  if (!last || last === first) return formatDate(first);
  return `${formatDate(first)} – ${formatDate(last)}`;
}

/** A delivered time `HH:MM:SS` (or `HH:MM`) as `HH:MM`: listings never carry seconds. */
export function formatTime(t) {
  const m = /^(\d{1,2}):(\d{2})/.exec(String(t ?? ""));
  return m ? `${m[1].padStart(2, "0")}:${m[2]}` : String(t ?? "");
}

/** One date entry: `dd.MM.yyyy[ HH:MM][ - HH:MM][ to dd.MM.yyyy]`. */
export function formatDateEntry(d) {
  let s = formatDate(d.date);
  if (d.start_time) s += ` ${formatTime(d.start_time)}`;
  if (d.end_time) s += ` - ${formatTime(d.end_time)}`;
  if (d.end_date && d.end_date !== d.date) s += ` to ${formatDate(d.end_date)}`;
  return s;
}

/**
 * The date lines of a list of entries, each date once, in order: identical lines
 * collapse, and a single day that a range entry with the same times already covers is
 * left out (a canonical event's union of sources often lists "23.–25.01." and each of
 * those days again).
 */
export function dateLines(dates) {
  const list = (dates || []).filter((d) => d && d.date);
  const sameTimes = (a, b) => formatTime(a.start_time || "") === formatTime(b.start_time || "") && formatTime(a.end_time || "") === formatTime(b.end_time || "");
  const covered = (d) =>
    (!d.end_date || d.end_date === d.date) &&
    list.some((r) => r !== d && r.end_date && r.end_date !== r.date && r.date <= d.date && d.date <= r.end_date && sameTimes(r, d));
  return [...new Set(list.filter((d) => !covered(d)).map(formatDateEntry))];
}

/** A number with German-independent thousands separators (1 234). */
export function count(n) {
  if (n === null || n === undefined) return "-";
  return Number(n).toLocaleString("en-US");
}
