// Plans, diffs and placement failures, in words: shown before any change is submitted, on
// the job's versions and on its evaluations.

import { html, plural } from "./api.js";

const SIGN = { Added: "+", Deleted: "-", Edited: "~", None: " " };

/** A job diff (Nomad's JobDiff) as a nested list of what changed. */
export function diffView(diff) {
  if (!diff || diff.Type === "None") return html`<p class="muted">No changes.</p>`;
  return html`<ul class="diff">${diffItems(diff)}</ul>`;
}

function diffItems(d) {
  const items = [];
  for (const f of d.Fields || []) {
    if (f.Type === "None") continue;
    const change = f.Type === "Edited" ? `${f.Old} → ${f.New}` : f.Type === "Added" ? f.New : f.Old;
    items.push(html`<li class="d-${f.Type}"><span class="sign" aria-hidden="true">${SIGN[f.Type]}</span>
      <span class="sr-only">${f.Type}</span> ${f.Name}: <code>${change}</code></li>`);
  }
  for (const [kind, list] of [["", d.Objects], ["group ", d.TaskGroups], ["task ", d.Tasks]]) {
    for (const o of list || []) {
      if (o.Type === "None") continue;
      items.push(html`<li class="d-${o.Type}"><span class="sign" aria-hidden="true">${SIGN[o.Type]}</span>
        <span class="sr-only">${o.Type}</span> ${kind}${o.Name}<ul>${diffItems(o)}</ul></li>`);
    }
  }
  return items;
}

/** A plan's effect per group ("g: place 2, stop 1") and its placement failures. */
export function planView(plan) {
  const groups = Object.entries(plan.Annotations?.DesiredTGUpdates || {}).map(([g, u]) => {
    const words = [["Place", "place"], ["Stop", "stop"], ["Migrate", "migrate"],
      ["InPlaceUpdate", "update in place"], ["DestructiveUpdate", "replace"],
      ["Canary", "start canary"], ["Preemptions", "preempt"], ["Ignore", "leave"]]
      .filter(([k]) => u[k]).map(([k, w]) => `${w} ${u[k]}`);
    return html`<li><strong>${g}</strong>: ${words.join(", ") || "no change"}</li>`;
  });
  const failures = failureList(plan.FailedTGAllocs);
  return html`<h3>Scheduler dry run</h3>
    <ul class="plan-groups">${groups.length ? groups : html`<li>No task group changes.</li>`}</ul>
    ${failures.length ? html`<div class="notice warn"><strong>Some allocations would not be placed.</strong><ul>${failures}</ul></div>` : ""}
    ${plan.Warnings ? html`<div class="notice warn">${plan.Warnings}</div>` : ""}
    ${plan.Diff?.Type === "Added"
    ? html`<details><summary>Job changes: a new job (every field added)</summary>${diffView(plan.Diff)}</details>`
    : html`<h3>Job changes</h3>${diffView(plan.Diff)}`}`;
}

/** Placement failures (FailedTGAllocs) as list items, one sentence per group. */
export function failureList(failed) {
  return Object.entries(failed || {}).map(([group, m]) => html`<li>${explain(group, m)}</li>`);
}

/** Why one group's allocations could not be placed, in words. */
export function explain(group, m) {
  const count = 1 + (m.CoalescedFailures || 0);
  const parts = [];
  if (!m.NodesEvaluated) {
    parts.push("no node was available in the job's datacenters and node pool");
  } else {
    parts.push(`${plural(m.NodesEvaluated, "node")} evaluated`);
  }
  for (const [c, n] of Object.entries(m.ConstraintFiltered || {})) {
    parts.push(`${plural(n, "node")} excluded by constraint ${c}`);
  }
  for (const [c, n] of Object.entries(m.ClassFiltered || {})) {
    parts.push(`${plural(n, "node")} of class ${c} excluded`);
  }
  for (const [d, n] of Object.entries(m.DimensionExhausted || {})) {
    parts.push(`${plural(n, "node")} without enough ${d}`);
  }
  if (m.NodesExhausted && !Object.keys(m.DimensionExhausted || {}).length) {
    parts.push(`${plural(m.NodesExhausted, "node")} full`);
  }
  for (const q of m.QuotaExhausted || []) parts.push(`quota exhausted: ${q}`);
  return `Group ${group}: ${plural(count, "allocation")} could not be placed — ${parts.join("; ")}.`;
}
