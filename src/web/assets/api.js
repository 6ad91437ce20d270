// The API client of the review UI: relative `/api/...` URLs, a small freshness cache
// for GETs (frontend.md §1: 30 s, one retry), the optional bearer token, and errors
// that carry the server's `detail` (a message, or the list of validation problems).

const TOKEN_KEY = "event-dedup.api-token";
const OPERATOR_KEY = "event-dedup.operator";

/** Default freshness of GET results (ms). */
export const FRESH_MS = 30_000;
/** Freshness of the distinct city / category lists (ms). */
export const LISTS_FRESH_MS = 300_000;
/** Freshness of the config (ms). */
export const CONFIG_FRESH_MS = 60_000;

const cache = new Map();

/** An API failure: HTTP status, message and (for 422) the problems `{loc, msg}`. */
export class ApiError extends Error {
  constructor(status, message, problems = []) {
    super(message);
    this.status = status;
    this.problems = problems;
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lasts for this page only.
  }
}

/** The reviewer's name for the audit log, remembered in this browser. */
export function getOperator() {
  try {
    return localStorage.getItem(OPERATOR_KEY) || "";
  } catch {
    return "";
  }
}

export function setOperator(name) {
  try {
    if (name) localStorage.setItem(OPERATOR_KEY, name);
    else localStorage.removeItem(OPERATOR_KEY);
  } catch {
    // Storage disabled: the name lasts for this page only.
  }
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

/** Turns a non-2xx response into an ApiError with the server's `detail`. */
async function failure(response) {
  let detail = null;
  try {
    detail = (await response.json()).detail;
  } catch {
    // Not JSON: fall back to the status.
  }
  if (Array.isArray(detail)) {
    const msgs = detail.map((p) => p.msg).filter(Boolean);
    return new ApiError(response.status, msgs.join("; ") || `API error: ${response.status}`, detail);
  }
  if (typeof detail === "string" && detail) return new ApiError(response.status, detail);
  return new ApiError(response.status, `API error: ${response.status}`);
}

async function fetchJson(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: headers(init.headers) });
  } catch (e) {
    throw new ApiError(0, `Network error: ${e.message}`);
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return response.json();
}

/**
 * GET with a freshness cache: a result younger than `fresh` ms is reused; a failed
 * request is retried once (server errors and network failures only).
 */
export function get(path, fresh = FRESH_MS) {
  const hit = cache.get(path);
  if (hit && Date.now() - hit.time < fresh) return hit.promise;
  const attempt = () => fetchJson(path);
  const promise = attempt().catch((e) => {
    if (e.status === 0 || e.status >= 500) return attempt();
    throw e;
  });
  cache.set(path, { time: Date.now(), promise });
  promise.catch(() => cache.delete(path));
  return promise;
}

/** Forgets cached GETs whose path starts with one of `prefixes` (all when none). */
export function invalidate(...prefixes) {
  for (const key of [...cache.keys()]) {
    if (prefixes.length === 0 || prefixes.some((p) => key.startsWith(p))) cache.delete(key);
  }
}

/** What a review action makes stale (frontend.md §1, "Refresh after actions"). */
export function invalidateAfterReview() {
  invalidate("/api/canonical-events", "/api/review", "/api/audit-log", "/api/dashboard", "/api/runs");
}

/** The id of the newest matching run (0 when there is none); never cached. */
export async function latestRunId() {
  try {
    const runs = await fetchJson("/api/runs?limit=1");
    return runs.length ? runs[0].id : 0;
  } catch {
    return 0;
  }
}

/** How long a page waits for the re-match a review action triggered (ms). */
const REMATCH_WAIT_MS = 90_000;
const REMATCH_POLL_MS = 1_000;

/**
 * Resolves `true` once a matching run newer than run `before` has finished (the
 * re-match a review action triggers recomputes confidences), `false` after
 * REMATCH_WAIT_MS. Cached GETs are invalidated when it finished.
 */
export async function afterRematch(before) {
  const deadline = Date.now() + REMATCH_WAIT_MS;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, REMATCH_POLL_MS));
    try {
      const runs = await fetchJson("/api/runs?limit=1");
      if (runs.length && runs[0].id > before && runs[0].status !== "running") {
        invalidateAfterReview();
        return true;
      }
    } catch {
      // Keep polling until the deadline: a failed poll is not a failed run.
    }
  }
  return false;
}

/** A write: JSON body, JSON answer. */
export function send(method, path, body) {
  return fetchJson(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
}

/** POSTs and returns the answer as a blob with the file name of Content-Disposition. */
export async function download(path, body, fallbackName) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body ?? {}),
    });
  } catch (e) {
    throw new ApiError(0, `Network error: ${e.message}`);
  }
  if (!response.ok) throw await failure(response);
  const disposition = response.headers.get("Content-Disposition") || "";
  const m = /filename="?([^";]+)"?/i.exec(disposition);
  return { blob: await response.blob(), name: m ? m[1] : fallbackName };
}

/** Builds `path?k=v&k=v` from pairs, skipping empty values. */
export function withQuery(path, pairs) {
  const q = new URLSearchParams();
  for (const [k, v] of pairs) {
    if (v !== null && v !== undefined && v !== "") q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** A plain-text GET (no cache), e.g. the Prometheus `/metrics` page. */
export async function getText(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "text/plain" } });
  } catch (e) {
    throw new ApiError(0, `Network error: ${e.message}`);
  }
  if (!response.ok) throw new ApiError(response.status, `API error: ${response.status}`);
  return response.text();
}
