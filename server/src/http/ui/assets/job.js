// The job page: groups with their counts, the active deployment (promote, fail), the
// allocations, the evaluations (placement failures in words), the versions with their
// diffs, and the stop / start / scale / edit actions, each planned before it is submitted.

import {
  act, announce, api, badge, get, html, live, problem, put, short, when,
} from "./api.js";
import { diffView, failureList } from "./plan.js";
import { showPlan, submit } from "./jobs.js";

/** Deployment statuses that may still change (and take promote / fail). */
const ACTIVE = ["running", "paused", "pending", "blocked"];
/** How often an active deployment is looked at. */
const DEPLOYMENT_POLL_MS = 3000;

/** #/job/<namespace>/<id> */
export function jobPage(main, ctx) {
  const [ns, id] = ctx.parts;
  ctx.title(id);
  const base = `/v1/job/${encodeURIComponent(id)}`;
  const q = `namespace=${encodeURIComponent(ns)}`;
  put(main, html`<nav class="crumbs" aria-label="Breadcrumb"><a href="#/jobs?${q}">Jobs</a> / ${ns}</nav>
    <h1>Job <span id="job-id">${id}</span> <span id="job-status"></span></h1>
    <p id="job-facts" class="facts"></p>
    <section class="panel" aria-labelledby="actions-title"><h2 id="actions-title">Actions</h2>
      <div class="toolbar">
        <button type="button" id="job-stop">Stop job</button>
        <button type="button" id="job-start" hidden>Start job</button>
        <label>Group <select id="scale-group"></select></label>
        <label>Count <input type="number" id="scale-count" min="0" max="10000"></label>
        <button type="button" id="scale-plan">Plan scale</button>
        <button type="button" id="job-edit">Edit as JSON</button>
      </div>
      <div id="action-out" aria-live="polite"></div></section>
    <section aria-labelledby="groups-title"><h2 id="groups-title">Task groups</h2><div id="job-groups"></div></section>
    <section aria-labelledby="dep-title"><h2 id="dep-title">Deployment</h2><div id="job-deployment"></div></section>
    <section aria-labelledby="allocs-title"><h2 id="allocs-title">Allocations</h2><div id="job-allocs"></div></section>
    <section aria-labelledby="evals-title"><h2 id="evals-title">Evaluations</h2><div id="job-evals"></div></section>
    <section aria-labelledby="versions-title"><h2 id="versions-title">Versions</h2><div id="job-versions"></div></section>`);
  const $ = (sel) => main.querySelector(sel);
  const state = { job: null, scaleFilled: false, deploying: false };
  const load = async () => {
    try {
      const [job, summary, allocs, evals, dep, versions] = await Promise.all([
        get(`${base}?${q}`, ctx.signal),
        get(`${base}/summary?${q}`, ctx.signal),
        get(`${base}/allocations?${q}`, ctx.signal),
        get(`${base}/evaluations?${q}`, ctx.signal),
        get(`${base}/deployment?${q}`, ctx.signal),
        get(`${base}/versions?diffs=true&${q}`, ctx.signal),
      ]);
      state.job = job;
      renderHead($, job, state);
      put($("#job-groups"), groupsTable(job, summary, allocs));
      state.deploying = ACTIVE.includes(dep?.Status);
      put($("#job-deployment"), deploymentView(dep));
      put($("#job-allocs"), allocsTable(allocs));
      put($("#job-evals"), evalsTable(evals));
      put($("#job-versions"), versionsList(versions));
    } catch (e) {
      if (!ctx.signal.aborted) put($("#job-groups"), problem(e, `read job ${id} in namespace ${ns}`));
    }
  };
  // Two long polls: the summary's index follows the job and its allocations, the
  // evaluations' the evaluations. A deployment's own progress is polled while it is active.
  const refresh = live(ctx.signal, [`${base}/summary?${q}`, `${base}/evaluations?${q}`], load);
  const timer = setInterval(() => state.deploying && refresh(), DEPLOYMENT_POLL_MS);
  ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  wireActions($, ctx, state, base, q, load);
}

function renderHead($, job, state) {
  put($("#job-status"), badge(job.Stop ? "stopped" : job.Status));
  put($("#job-facts"), html`${job.Type} job · priority ${job.Priority} · version ${job.Version}
    · datacenters ${(job.Datacenters || []).join(", ")} · node pool ${job.NodePool || "default"}`);
  $("#job-stop").hidden = !!job.Stop;
  $("#job-start").hidden = !job.Stop;
  if (!state.scaleFilled) {
    state.scaleFilled = true;
    put($("#scale-group"), (job.TaskGroups || []).map((g) => html`<option>${g.Name}</option>`));
    $("#scale-count").value = job.TaskGroups?.[0]?.Count ?? 1;
  }
}

function wireActions($, ctx, state, base, q, load) {
  const out = $("#action-out");
  $("#scale-group").addEventListener("change", () => {
    const g = state.job?.TaskGroups.find((t) => t.Name === $("#scale-group").value);
    if (g) $("#scale-count").value = g.Count;
  });
  $("#job-stop").addEventListener("click", () => {
    put(out, html`<div class="panel confirm" role="alertdialog" aria-labelledby="stop-q">
      <p id="stop-q">Stop job <strong>${state.job?.ID}</strong>? Its allocations will be stopped.</p>
      <div class="buttons"><button type="button" class="danger" id="stop-confirm">Yes, stop job</button>
      <button type="button" id="stop-cancel">Cancel</button></div><div id="stop-result"></div></div>`);
    $("#stop-confirm").focus();
    $("#stop-cancel").addEventListener("click", () => put(out, ""));
    $("#stop-confirm").addEventListener("click", (ev) => act(ev.target, $("#stop-result"), async () => {
      const r = await api(`${base}?${q}`, { method: "DELETE" });
      put(out, html`<p class="notice ok">Job stopped (evaluation ${short(r.data.EvalID)}).</p>`);
      announce("Job stopped");
      load();
    }));
  });
  $("#job-start").addEventListener("click", (ev) => act(ev.target, out, async () => {
    const job = { ...state.job, Stop: false };
    await showPlan(out, job, ctx, "Start job", async (plan) => {
      await submit(job, plan.JobModifyIndex);
      put(out, html`<p class="notice ok">Job started.</p>`);
      load();
    });
  }));
  $("#scale-plan").addEventListener("click", (ev) => act(ev.target, out, async () => {
    const group = $("#scale-group").value;
    const count = Number($("#scale-count").value);
    const job = structuredClone(state.job);
    const tg = job.TaskGroups.find((g) => g.Name === group);
    if (!tg) return;
    tg.Count = count;
    await showPlan(out, job, ctx, `Scale ${group} to ${count}`, async () => {
      await api(`${base}/scale?${q}`, {
        method: "POST",
        body: { Count: count, Target: { Group: group }, Message: "scaled from the web UI" },
      });
      put(out, html`<p class="notice ok">Group ${group} scaled to ${count}.</p>`);
      load();
    });
  }));
  $("#job-edit").addEventListener("click", () => {
    if (!state.job) return;
    sessionStorage.setItem("nomadish.edit", JSON.stringify(state.job, null, 2));
    location.hash = `#/run?${q}&edit=1`;
  });
}

function groupsTable(job, summary, allocs) {
  const rows = (job.TaskGroups || []).map((g) => {
    const s = summary.Summary?.[g.Name] || {};
    const placed = allocs.filter((a) => a.TaskGroup === g.Name && a.DesiredStatus === "run").length;
    return html`<tr data-group="${g.Name}"><th scope="row">${g.Name}</th><td class="num">${g.Count}</td>
      <td class="num">${placed}</td><td class="num">${s.Running || 0}</td><td class="num">${s.Starting || 0}</td>
      <td class="num">${s.Queued || 0}</td><td class="num">${s.Failed || 0}</td><td class="num">${s.Lost || 0}</td>
      <td>${(g.Tasks || []).map((t) => `${t.Name} (${t.Driver})`).join(", ")}</td></tr>`;
  });
  return html`<table class="list" id="groups-table"><thead><tr><th scope="col">Group</th>
    <th scope="col">Desired</th><th scope="col">Placed</th><th scope="col">Running</th>
    <th scope="col">Starting</th><th scope="col">Queued</th><th scope="col">Failed</th>
    <th scope="col">Lost</th><th scope="col">Tasks</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function deploymentView(dep) {
  if (!dep || !dep.ID) return html`<p class="empty">No deployment.</p>`;
  const active = ACTIVE.includes(dep.Status);
  const rows = Object.entries(dep.TaskGroups || {}).map(([g, s]) => html`<tr><th scope="row">${g}</th>
    <td class="num">${s.DesiredTotal}</td><td class="num">${s.PlacedAllocs}</td><td class="num">${s.HealthyAllocs}</td>
    <td class="num">${s.UnhealthyAllocs}</td><td class="num">${s.PlacedCanaries?.length || 0} / ${s.DesiredCanaries}</td>
    <td>${s.DesiredCanaries ? (s.Promoted ? "yes" : "no") : "—"}</td></tr>`);
  return html`<p>${short(dep.ID)} ${badge(dep.Status)} ${dep.StatusDescription} (job version ${dep.JobVersion})</p>
    <table class="list"><thead><tr><th scope="col">Group</th><th scope="col">Desired</th>
    <th scope="col">Placed</th><th scope="col">Healthy</th><th scope="col">Unhealthy</th>
    <th scope="col">Canaries</th><th scope="col">Promoted</th></tr></thead><tbody>${rows}</tbody></table>
    ${active ? html`<div class="buttons" data-deployment="${dep.ID}">
      <button type="button" class="dep-promote">Promote</button>
      <button type="button" class="dep-fail danger">Fail deployment</button><span class="dep-out"></span></div>` : ""}`;
}

// Deployment buttons are re-rendered with the data, so they are handled by delegation.
document.addEventListener("click", (ev) => {
  const button = ev.target.closest?.(".dep-promote, .dep-fail");
  if (!button) return;
  const box = button.closest("[data-deployment]");
  const id = box.dataset.deployment;
  const promote = button.classList.contains("dep-promote");
  act(button, box.querySelector(".dep-out"), async () => {
    const path = `/v1/deployment/${promote ? "promote" : "fail"}/${encodeURIComponent(id)}`;
    await api(path, { method: "POST", body: promote ? { DeploymentID: id, All: true } : { DeploymentID: id } });
    announce(promote ? "Deployment promoted" : "Deployment failed");
  });
});

/** An allocations table (job and node pages). */
export function allocsTable(allocs, { node = true, job = false } = {}) {
  if (!allocs.length) return html`<p class="empty">No allocations.</p>`;
  const sorted = [...allocs].sort((a, b) => b.CreateIndex - a.CreateIndex);
  const rows = sorted.map((a) => html`<tr data-alloc="${a.ID}" data-status="${a.ClientStatus}">
    <th scope="row"><a href="#/alloc/${a.ID}"><code>${short(a.ID)}</code></a></th>
    ${job ? html`<td><a href="#/job/${encodeURIComponent(a.Namespace)}/${encodeURIComponent(a.JobID)}">${a.JobID}</a></td>` : ""}
    <td>${a.TaskGroup}</td>
    ${node ? html`<td><a href="#/node/${a.NodeID}">${a.NodeName || short(a.NodeID)}</a></td>` : ""}
    <td>${badge(a.ClientStatus)}</td><td>${a.DesiredStatus}</td><td class="num">${a.JobVersion}</td>
    <td>${when(a.ModifyTime || a.CreateTime)}</td></tr>`);
  return html`<table class="list allocs"><thead><tr><th scope="col">ID</th>
    ${job ? html`<th scope="col">Job</th>` : ""}<th scope="col">Group</th>
    ${node ? html`<th scope="col">Node</th>` : ""}<th scope="col">Status</th><th scope="col">Desired</th>
    <th scope="col">Version</th><th scope="col">Modified</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function evalsTable(evals) {
  if (!evals.length) return html`<p class="empty">No evaluations.</p>`;
  const sorted = [...evals].sort((a, b) => b.CreateIndex - a.CreateIndex).slice(0, 20);
  const rows = sorted.map((e) => {
    const failures = failureList(e.FailedTGAllocs);
    const note = e.Status === "blocked" ? "Waiting for resources; placed when capacity frees up." : e.StatusDescription;
    return html`<tr><th scope="row"><code>${short(e.ID)}</code></th><td>${e.TriggeredBy}</td>
      <td>${badge(e.Status)}</td><td>${when(e.CreateTime)}</td>
      <td>${failures.length ? html`<ul class="failures">${failures}</ul>` : ""}${note || ""}</td></tr>`;
  });
  return html`<table class="list" id="evals-table"><thead><tr><th scope="col">ID</th><th scope="col">Triggered by</th>
    <th scope="col">Status</th><th scope="col">Created</th><th scope="col">Placement</th></tr></thead>
    <tbody>${rows}</tbody></table>`;
}

function versionsList(v) {
  const versions = v.Versions || [];
  if (!versions.length) return html`<p class="empty">No versions.</p>`;
  return html`<ol class="versions" reversed>${versions.map((j, i) => html`<li>
    <strong>Version ${j.Version}</strong> ${j.Stable ? badge("stable") : ""} submitted ${when(j.SubmitTime)}
    ${i < versions.length - 1 ? html`<details><summary>Changes from version ${versions[i + 1].Version}</summary>
      ${diffView(v.Diffs?.[i])}</details>` : ""}</li>`)}</ol>`;
}
