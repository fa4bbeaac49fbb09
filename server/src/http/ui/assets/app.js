// The app: routes the URL's #fragment to a page, and shows who is signed in.
//
//   #/jobs?namespace=N      jobs list          (jobs.js)
//   #/run?namespace=N       run a job: HCL -> parse -> plan -> submit
//   #/job/<ns>/<id>         job page           (job.js)
//   #/alloc/<id>            allocation page    (alloc.js)
//   #/nodes, #/node/<id>    nodes              (nodes.js)
//   #/servers, #/signin     servers, sign-in   (cluster.js)
//
// Each page renders into <main> with an AbortSignal that fires when the reader leaves it,
// which ends its live queries and log streams.

import { ApiError, get, html, put, token } from "./api.js";
import { jobsPage, runPage } from "./jobs.js";
import { jobPage } from "./job.js";
import { allocPage } from "./alloc.js";
import { nodesPage, nodePage } from "./nodes.js";
import { serversPage, signinPage } from "./cluster.js";

const PAGES = {
  jobs: { nav: "jobs", render: jobsPage },
  run: { nav: "jobs", render: runPage },
  job: { nav: "jobs", render: jobPage },
  alloc: { nav: "jobs", render: allocPage },
  nodes: { nav: "nodes", render: nodesPage },
  node: { nav: "nodes", render: nodePage },
  servers: { nav: "servers", render: serversPage },
  signin: { nav: "signin", render: signinPage },
};

let leave = null;

function route(event) {
  leave?.abort();
  leave = new AbortController();
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const name = parts[0] in PAGES ? parts[0] : "jobs";
  const page = PAGES[name];
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === page.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const main = document.getElementById("main");
  main.dataset.page = name;
  put(main, html`<p class="loading">Loading…</p>`);
  const ctx = {
    parts: parts.slice(1),
    params: new URLSearchParams(query || ""),
    signal: leave.signal,
    title(text) { document.title = `${text} · nomadish`; },
  };
  try {
    page.render(main, ctx);
  } catch (e) {
    put(main, html`<div class="notice error" role="alert">${e.message}</div>`);
  }
  // After a navigation, keyboard and screen reader users start at the new page's content.
  if (event) main.focus({ preventScroll: true });
}

/** Shows the signed-in token's name in the header (or "Sign in"). */
export async function whoami() {
  const el = document.getElementById("whoami");
  if (!el) return;
  if (!token.get()) {
    el.textContent = "Sign in";
    return;
  }
  try {
    const t = await get("/v1/acl/token/self");
    el.textContent = `Token: ${t.Name || t.AccessorID.slice(0, 8)}`;
  } catch (e) {
    el.textContent = e instanceof ApiError && e.status === 400 ? "ACLs off" : "Token rejected";
  }
}

window.addEventListener("hashchange", route);
// Leaving the page ends its long polls at once: a browser has only six connections per
// origin, and a poll left waiting would hold one until its wait ran out.
window.addEventListener("pagehide", () => leave?.abort());
window.addEventListener("nomadish:token", whoami);
route(null);
whoami();
