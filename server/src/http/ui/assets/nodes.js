// The nodes list and the node page: attributes, drivers and their health, allocations,
// and the drain and eligibility controls.

import {
  act, announce, api, badge, get, html, live, problem, put, short, when,
} from "./api.js";
import { allocsTable } from "./job.js";

/** #/nodes */
export function nodesPage(main, ctx) {
  ctx.title("Nodes");
  put(main, html`<h1>Nodes</h1><div id="nodes-body"><p class="loading">Loading…</p></div>`);
  const body = main.querySelector("#nodes-body");
  live(ctx.signal, ["/v1/nodes"], async () => {
    try {
      const nodes = await get("/v1/nodes", ctx.signal);
      put(body, nodesTable(nodes));
    } catch (e) {
      if (!ctx.signal.aborted) put(body, problem(e, "list the nodes"));
    }
  });
}

function nodesTable(nodes) {
  if (!nodes.length) return html`<p class="empty">No nodes have registered.</p>`;
  const rows = nodes.map((n) => {
    const drivers = Object.entries(n.Drivers || {}).filter(([, d]) => d.Detected);
    const healthy = drivers.filter(([, d]) => d.Healthy).map(([k]) => k);
    return html`<tr data-node="${n.ID}"><th scope="row"><a href="#/node/${n.ID}">${n.Name}</a></th>
      <td><code>${short(n.ID)}</code></td><td>${badge(n.Status)}</td><td>${n.SchedulingEligibility}</td>
      <td>${n.Drain ? "draining" : "no"}</td><td>${n.Datacenter}</td><td>${n.NodePool}</td><td>${n.Address}</td>
      <td>${healthy.join(", ")}${healthy.length < drivers.length ? ` (${drivers.length - healthy.length} unhealthy)` : ""}</td></tr>`;
  });
  return html`<table class="list" id="nodes-table"><thead><tr><th scope="col">Name</th><th scope="col">ID</th>
    <th scope="col">Status</th><th scope="col">Eligibility</th><th scope="col">Drain</th>
    <th scope="col">Datacenter</th><th scope="col">Pool</th><th scope="col">Address</th>
    <th scope="col">Healthy drivers</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** #/node/<id> */
export function nodePage(main, ctx) {
  const [id] = ctx.parts;
  ctx.title(`Node ${short(id)}`);
  put(main, html`<nav class="crumbs" aria-label="Breadcrumb"><a href="#/nodes">Nodes</a></nav>
    <h1>Node <span id="node-name">${short(id)}</span> <span id="node-status"></span></h1>
    <p id="node-facts" class="facts"></p>
    <section class="panel" aria-labelledby="controls-title"><h2 id="controls-title">Controls</h2>
      <div class="toolbar">
        <button type="button" id="node-eligibility">Toggle eligibility</button>
        <label>Drain deadline <input type="text" id="drain-deadline" value="1h" size="6"
          aria-describedby="drain-help"></label>
        <button type="button" id="node-drain">Drain</button>
        <span id="drain-help" class="muted">Go duration, e.g. 30m; allocations move before it</span>
      </div><div id="node-out" aria-live="polite"></div></section>
    <section aria-labelledby="drivers-title"><h2 id="drivers-title">Drivers</h2><div id="node-drivers"></div></section>
    <section aria-labelledby="nallocs-title"><h2 id="nallocs-title">Allocations</h2><div id="node-allocs"></div></section>
    <section aria-labelledby="attrs-title"><h2 id="attrs-title">Attributes</h2>
      <label>Filter <input type="search" id="attr-filter" autocomplete="off"></label>
      <div id="node-attrs"></div></section>`);
  const $ = (sel) => main.querySelector(sel);
  const base = `/v1/node/${encodeURIComponent(id)}`;
  let node = null;
  const load = async () => {
    try {
      node = await get(base, ctx.signal);
      renderNode($, node);
    } catch (e) {
      if (!ctx.signal.aborted) put($("#node-drivers"), problem(e, "read this node"));
      return;
    }
    try {
      put($("#node-allocs"), allocsTable(await get(`${base}/allocations`, ctx.signal), { node: false, job: true }));
    } catch (e) {
      if (!ctx.signal.aborted) put($("#node-allocs"), problem(e, "list this node's allocations"));
    }
  };
  live(ctx.signal, [base, `${base}/allocations`], load);
  $("#attr-filter").addEventListener("input", () => node && renderAttrs($, node));
  const out = $("#node-out");
  $("#node-eligibility").addEventListener("click", (ev) => act(ev.target, out, async () => {
    const next = node?.SchedulingEligibility === "eligible" ? "ineligible" : "eligible";
    await api(`${base}/eligibility`, { method: "POST", body: { NodeID: id, Eligibility: next } });
    put(out, html`<p class="notice ok">Node marked ${next}.</p>`);
    announce(`Node marked ${next}`);
    load();
  }));
  $("#node-drain").addEventListener("click", (ev) => act(ev.target, out, async () => {
    const draining = !!node?.DrainStrategy;
    const body = draining
      ? { NodeID: id, DrainSpec: null, MarkEligible: true }
      : { NodeID: id, DrainSpec: { Deadline: parseDuration($("#drain-deadline").value), IgnoreSystemJobs: false } };
    await api(`${base}/drain`, { method: "POST", body });
    put(out, html`<p class="notice ok">${draining ? "Drain stopped." : "Drain started."}</p>`);
    load();
  }));
}

/** "1h30m" / "45s" / "2h" in nanoseconds (Nomad's drain deadline). */
function parseDuration(text) {
  const units = { h: 3600, m: 60, s: 1 };
  let total = 0;
  for (const [, n, u] of String(text).matchAll(/(\d+(?:\.\d+)?)\s*([hms])/g)) total += Number(n) * units[u];
  if (!total) throw new Error(`Not a duration: "${text}" (use e.g. 30m or 1h)`);
  return Math.round(total * 1e9);
}

function renderNode($, n) {
  put($("#node-name"), n.Name);
  put($("#node-status"), badge(n.Status));
  const drain = n.DrainStrategy
    ? `draining${n.DrainStrategy.ForceDeadline ? ` until ${when(n.DrainStrategy.ForceDeadline)}` : ""}`
    : "not draining";
  put($("#node-facts"), html`<code>${n.ID}</code> · ${n.Datacenter} · pool ${n.NodePool} · ${n.SchedulingEligibility}
    · ${drain} · ${n.HTTPAddr || ""} · CPU ${n.NodeResources?.Cpu?.CpuShares ?? "?"} MHz
    · memory ${n.NodeResources?.Memory?.MemoryMB ?? "?"} MB · disk ${n.NodeResources?.Disk?.DiskMB ?? "?"} MB`);
  $("#node-eligibility").textContent = n.SchedulingEligibility === "eligible" ? "Mark ineligible" : "Mark eligible";
  $("#node-drain").textContent = n.DrainStrategy ? "Stop drain" : "Drain";
  const drivers = Object.entries(n.Drivers || {}).sort(([a], [b]) => a.localeCompare(b)).map(([name, d]) => html`<tr>
    <th scope="row">${name}</th><td>${d.Detected ? "yes" : "no"}</td>
    <td>${d.Healthy ? badge("healthy") : badge("unhealthy")}</td><td>${d.HealthDescription}</td><td>${when(d.UpdateTime)}</td></tr>`);
  put($("#node-drivers"), html`<table class="list" id="drivers-table"><thead><tr><th scope="col">Driver</th>
    <th scope="col">Detected</th><th scope="col">Health</th><th scope="col">Description</th>
    <th scope="col">Updated</th></tr></thead><tbody>${drivers}</tbody></table>`);
  renderAttrs($, n);
}

function renderAttrs($, n) {
  const q = $("#attr-filter").value.trim().toLowerCase();
  const entries = [...Object.entries(n.Attributes || {}).map(([k, v]) => [`attr.${k}`, v]),
    ...Object.entries(n.Meta || {}).map(([k, v]) => [`meta.${k}`, v])]
    .filter(([k, v]) => !q || k.toLowerCase().includes(q) || String(v).toLowerCase().includes(q))
    .sort(([a], [b]) => a.localeCompare(b));
  put($("#node-attrs"), html`<table class="list attrs"><thead><tr><th scope="col">Name</th><th scope="col">Value</th>
    </tr></thead><tbody>${entries.map(([k, v]) => html`<tr><th scope="row"><code>${k}</code></th><td>${v}</td></tr>`)}</tbody></table>`);
}
