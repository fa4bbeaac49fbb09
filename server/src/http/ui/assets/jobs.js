// The jobs list (per namespace, with a search box) and the "run a job" page: paste HCL,
// see the scheduler's plan, then submit exactly what was planned.

import {
  announce, api, badge, get, html, live, namespace, problem, put, when,
} from "./api.js";
import { planView } from "./plan.js";

const COUNTS = ["Running", "Starting", "Queued", "Failed", "Complete", "Lost"];

/** #/jobs?namespace=N */
export function jobsPage(main, ctx) {
  const ns = ctx.params.get("namespace") || namespace.get();
  namespace.set(ns);
  ctx.title("Jobs");
  put(main, html`<h1>Jobs</h1>
    <div class="toolbar">
      <label>Namespace <select id="ns-select"><option>${ns}</option></select></label>
      <label>Search <input type="search" id="job-search" placeholder="ID or name" autocomplete="off"></label>
      <a class="button" id="run-job" href="#/run?namespace=${encodeURIComponent(ns)}">Run job</a>
    </div>
    <div id="jobs-body"><p class="loading">Loading…</p></div>`);
  const select = main.querySelector("#ns-select");
  const search = main.querySelector("#job-search");
  const body = main.querySelector("#jobs-body");
  let jobs = null;
  select.addEventListener("change", () => {
    location.hash = `#/jobs?namespace=${encodeURIComponent(select.value)}`;
  });
  search.addEventListener("input", () => jobs && put(body, jobsTable(jobs, search.value, ns)));
  namespaces(ns, ctx.signal).then((names) => {
    const all = [...new Set([...names, ns])];
    put(select, html`<option value="*">All namespaces</option>${all.filter((n) => n !== "*")
      .map((n) => html`<option value="${n}">${n}</option>`)}`);
    select.value = ns;
  });
  const path = `/v1/jobs?namespace=${encodeURIComponent(ns)}`;
  live(ctx.signal, [path], async () => {
    try {
      jobs = await get(path, ctx.signal);
      put(body, jobsTable(jobs, search.value, ns));
    } catch (e) {
      if (!ctx.signal.aborted) put(body, problem(e, `list the jobs of namespace ${ns}`));
    }
  });
}

async function namespaces(current, signal) {
  try {
    return (await get("/v1/namespaces", signal)).map((n) => n.Name);
  } catch {
    return [current];
  }
}

function jobsTable(jobs, filter, ns) {
  const q = filter.trim().toLowerCase();
  const shown = jobs.filter((j) => !q || j.ID.toLowerCase().includes(q) || j.Name.toLowerCase().includes(q));
  if (!shown.length) {
    const where = ns === "*" ? "any namespace you may read" : `namespace ${ns}`;
    return html`<p class="empty">${q ? `No job matches “${filter}”.` : `No jobs in ${where}.`}</p>`;
  }
  const all = ns === "*";
  const rows = shown.map((j) => {
    const groups = Object.values(j.JobSummary?.Summary || {});
    const totals = COUNTS.map((k) => groups.reduce((n, g) => n + (g[k] || 0), 0));
    const counts = COUNTS.map((k, i) => totals[i]
      ? html`<span class="count c-${k.toLowerCase()}">${totals[i]} ${k.toLowerCase()}</span>` : "");
    return html`<tr data-job="${j.ID}" data-namespace="${j.Namespace}">
      <th scope="row"><a href="#/job/${encodeURIComponent(j.Namespace)}/${encodeURIComponent(j.ID)}">${j.ID}</a></th>
      ${all ? html`<td>${j.Namespace}</td>` : ""}
      <td>${badge(j.Status)}</td>
      <td>${j.Type}</td><td class="num">${j.Priority}</td><td class="num">${groups.length}</td>
      <td><span class="counts">${counts.some((c) => c) ? counts : html`<span class="muted">none</span>`}</span></td>
      <td>${when(j.SubmitTime)}</td></tr>`;
  });
  return html`<table class="list" id="jobs-table">
    <caption class="sr-only">Jobs in ${all ? "all namespaces" : `namespace ${ns}`}</caption>
    <thead><tr><th scope="col">Job</th>${all ? html`<th scope="col">Namespace</th>` : ""}
      <th scope="col">Status</th><th scope="col">Type</th><th scope="col">Priority</th>
      <th scope="col">Groups</th><th scope="col">Allocations</th><th scope="col">Submitted</th></tr></thead>
    <tbody>${rows}</tbody></table>`;
}

/** #/run?namespace=N: HCL (or JSON) -> /v1/jobs/parse -> /v1/job/:id/plan -> /v1/jobs. */
export function runPage(main, ctx) {
  const ns = ctx.params.get("namespace") || namespace.get();
  ctx.title("Run a job");
  put(main, html`<h1>Run a job</h1>
    <form id="run-form" class="stack">
      <label for="jobspec">Job specification (HCL or JSON), namespace ${ns} unless it names one</label>
      <textarea id="jobspec" rows="18" spellcheck="false" required></textarea>
      <div class="buttons"><button type="submit" id="plan-job">Plan</button></div>
    </form>
    <section id="plan-out" aria-live="polite"></section>`);
  const form = main.querySelector("#run-form");
  const out = main.querySelector("#plan-out");
  const edit = ctx.params.get("edit") && sessionStorage.getItem("nomadish.edit");
  if (edit) main.querySelector("#jobspec").value = edit;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = main.querySelector("#plan-job");
    button.disabled = true;
    put(out, html`<p class="loading">Planning…</p>`);
    try {
      const job = await parse(main.querySelector("#jobspec").value, ns);
      await showPlan(out, job, ctx, "Run job", async (plan) => {
        await submit(job, plan.JobModifyIndex);
        location.hash = `#/job/${encodeURIComponent(job.Namespace)}/${encodeURIComponent(job.ID)}`;
      });
    } catch (e) {
      put(out, problem(e, "plan this job"));
    } finally {
      button.disabled = false;
    }
  });
}

/** The job a specification describes (HCL through /v1/jobs/parse; JSON as is). */
async function parse(text, ns) {
  const spec = text.trim();
  let job;
  if (spec.startsWith("{")) {
    const value = JSON.parse(spec);
    job = value.Job || value;
  } else {
    const q = `?namespace=${encodeURIComponent(ns)}`;
    job = (await api(`/v1/jobs/parse${q}`, { method: "POST", body: { JobHCL: spec, Canonicalize: true } })).data;
  }
  if (!job.Namespace || job.Namespace === "*") job.Namespace = ns === "*" ? "default" : ns;
  return job;
}

/** Registers `job`, only if it is still at the index it was planned against. */
export async function submit(job, modifyIndex) {
  const q = `?namespace=${encodeURIComponent(job.Namespace)}`;
  return api(`/v1/jobs${q}`, {
    method: "POST",
    body: { Job: job, EnforceIndex: true, JobModifyIndex: modifyIndex || 0 },
  });
}

/**
 * Plans `job` and shows the plan in `out` with a confirm button labelled `label`, which
 * runs `confirm(plan)`.
 */
export async function showPlan(out, job, ctx, label, confirm) {
  const q = `?namespace=${encodeURIComponent(job.Namespace)}`;
  const plan = (await api(`/v1/job/${encodeURIComponent(job.ID)}/plan${q}`, {
    method: "POST", body: { Job: job, Diff: true },
  })).data;
  put(out, html`<section class="panel plan" aria-labelledby="plan-title">
    <h2 id="plan-title">Plan for ${job.ID}</h2>${planView(plan)}
    <div class="buttons"><button type="button" id="plan-confirm" class="primary">${label}</button>
      <button type="button" id="plan-cancel">Cancel</button></div>
    <div id="plan-result"></div></section>`);
  announce(`Plan ready for ${job.ID}`);
  out.scrollIntoView({ block: "start" });
  out.querySelector("#plan-confirm").focus({ preventScroll: true });
  out.querySelector("#plan-cancel").addEventListener("click", () => put(out, ""));
  const button = out.querySelector("#plan-confirm");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await confirm(plan);
    } catch (e) {
      put(out.querySelector("#plan-result"), problem(e, "submit this job"));
      button.disabled = false;
    }
  });
}
