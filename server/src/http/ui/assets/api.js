// The HTTP API client and the small helpers every page shares: escaping HTML, live data
// through blocking queries, formatting, and the "not allowed" and error states.

const TOKEN_KEY = "nomadish.token";
const NAMESPACE_KEY = "nomadish.namespace";
/** How long one blocking query may wait on the server. */
const WAIT = "30s";
/** Pause before retrying a failed live query, and between polls of unindexed answers. */
const RETRY_MS = 3000;
/** Changes within this window make one reload. */
const DEBOUNCE_MS = 50;
/** Live pages reload at most this often. */
const THROTTLE_MS = 1000;

/** The signed-in token's secret, kept in this browser's local storage. */
export const token = {
  get() {
    try { return localStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
  },
  set(secret) { localStorage.setItem(TOKEN_KEY, secret); },
  clear() { localStorage.removeItem(TOKEN_KEY); },
};

/** The namespace last chosen in the jobs list. */
export const namespace = {
  get() {
    try { return localStorage.getItem(NAMESPACE_KEY) || "default"; } catch { return "default"; }
  },
  set(ns) { try { localStorage.setItem(NAMESPACE_KEY, ns); } catch { /* private mode */ } },
};

/** A non-2xx answer: its status and text. */
export class ApiError extends Error {
  constructor(status, text, path) {
    super(text || `HTTP ${status}`);
    this.status = status;
    this.path = path;
  }
}

/**
 * One API call. Returns `{data, index}` (`data` parsed when JSON), or the raw Response with
 * `raw: true`. Throws ApiError for non-2xx answers.
 */
export async function api(path, { method = "GET", body, signal, raw = false } = {}) {
  const headers = {};
  const secret = token.get();
  if (secret) headers["X-Nomad-Token"] = secret;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
  });
  if (!r.ok) throw new ApiError(r.status, (await r.text()).trim(), path);
  if (raw) return r;
  const index = Number(r.headers.get("X-Nomad-Index") || 0);
  const type = r.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  return { data, index };
}

/** The data of one GET. */
export async function get(path, signal) {
  return (await api(path, { signal })).data;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/**
 * Live data: calls `load()` now, and again whenever one of `paths` changes, learnt through
 * blocking queries (`?index=N&wait=30s`, answered when X-Nomad-Index passes N). At most a
 * few paths per page: a browser opens only six connections to one origin. Stops when
 * `signal` aborts. `load` errors are its own to show. Returns a function that asks for a
 * reload (for changes no watched index shows).
 */
export function live(signal, paths, load) {
  let pending = null;
  let last = Date.now();
  // Changes close together make one reload, and reloads are at least THROTTLE_MS apart
  // (a busy cluster moves the indexes all the time).
  const refresh = () => {
    if (pending || signal.aborted) return;
    const delay = Math.max(DEBOUNCE_MS, last + THROTTLE_MS - Date.now());
    pending = setTimeout(async () => {
      pending = null;
      last = Date.now();
      if (!signal.aborted) await load();
    }, delay);
  };
  load();
  for (const path of paths) watch(signal, path, refresh);
  return refresh;
}

async function watch(signal, path, changed) {
  let index = 0;
  while (!signal.aborted) {
    const sep = path.includes("?") ? "&" : "?";
    const query = index ? `${sep}index=${index}&wait=${WAIT}` : "";
    try {
      const { index: next } = await api(path + query, { signal });
      if (signal.aborted) return;
      // The first answer also reloads: a change between the page's first load and this
      // query would otherwise go unseen.
      if (next !== index) changed();
      if (!next) await sleep(RETRY_MS, signal);
      // An index that went backwards (a restored snapshot) starts over.
      index = next < index ? 0 : next;
    } catch (e) {
      if (signal.aborted) return;
      // Not allowed or gone: the page says so; asking again would not change that.
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return;
      await sleep(RETRY_MS, signal);
    }
  }
}

/** Text made safe to put in HTML. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

/** HTML already escaped. */
export class Html {
  constructor(s) { this.s = s; }
  toString() { return this.s; }
}

/** A template tag: interpolated values are escaped unless they are Html (or arrays of it). */
export function html(strings, ...values) {
  const part = (v) => v instanceof Html ? v.s : Array.isArray(v) ? v.map(part).join("") : esc(v);
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? part(values[i]) : ""), ""));
}

/** Replaces an element's content with Html. */
export function put(el, content) {
  if (el) el.innerHTML = html`${content}`.s;
}

/** The first 8 characters of an ID. */
export const short = (id) => String(id || "").slice(0, 8);

/** A Nomad timestamp (nanoseconds, or an RFC 3339 string) as local date and time. */
export function when(t) {
  if (!t) return "";
  const d = typeof t === "number" ? new Date(t / 1e6) : new Date(t);
  return Number.isNaN(d.getTime()) || d.getFullYear() < 1971 ? "" : d.toLocaleString();
}

/** A duration in nanoseconds, in words. */
export function duration(ns) {
  const s = Math.round(Number(ns || 0) / 1e9);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ""}`;
  return `${Math.floor(s / 3600)}h${Math.floor(s % 3600 / 60) ? ` ${Math.floor(s % 3600 / 60)}m` : ""}`;
}

/** A status word as a badge. */
export function badge(status) {
  const s = String(status || "unknown");
  return html`<span class="badge st-${s.replace(/[^a-z-]/gi, "")}">${s}</span>`;
}

/** "1 node" / "2 nodes". */
export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** What a failed call means to the reader: "not allowed", another agent, or the error. */
export function problem(e, what = "see this") {
  if (e instanceof ApiError && e.status === 403) {
    const who = token.get() ? "The signed-in token" : "Anonymous access";
    return html`<div class="notice denied" role="alert"><strong>Not allowed.</strong>
      ${who} may not ${what}. <a href="#/signin">Sign in with another token</a>.</div>`;
  }
  if (e instanceof ApiError && e.status === 501) {
    return html`<div class="notice" role="alert"><strong>Not served here.</strong> ${e.message}</div>`;
  }
  const status = e instanceof ApiError ? `Error ${e.status}: ` : "";
  return html`<div class="notice error" role="alert">${status}${e.message}</div>`;
}

/** Says `text` to screen readers (the polite live region). */
export function announce(text) {
  const el = document.getElementById("status");
  if (el) el.textContent = text;
}

/** Runs an action from a button: disables it meanwhile, shows errors in `out`. */
export async function act(button, out, fn) {
  button.disabled = true;
  try {
    await fn();
  } catch (e) {
    put(out, problem(e, "do this"));
  } finally {
    button.disabled = false;
  }
}
