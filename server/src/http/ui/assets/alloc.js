// The allocation page: task states with their event timelines, resources, the node, and the
// tasks' live logs through /v1/client/fs/logs (the CLI's endpoint), with a stdout/stderr
// switch, follow and pause.

import {
  act, announce, api, badge, get, html, live, problem, put, short, when,
} from "./api.js";

/** Bytes of earlier output shown when a log opens. */
const TAIL_BYTES = 64 * 1024;
/** Most characters kept on screen (older output is dropped). */
const MAX_CHARS = 512 * 1024;
/** Pause before reopening a log that is not there yet or ended with an error. */
const REOPEN_MS = 2000;

/** #/alloc/<id> */
export function allocPage(main, ctx) {
  const [id] = ctx.parts;
  ctx.title(`Allocation ${short(id)}`);
  put(main, html`<nav class="crumbs" aria-label="Breadcrumb"><a href="#/jobs">Jobs</a> / <span id="alloc-job"></span></nav>
    <h1>Allocation <code>${short(id)}</code> <span id="alloc-status"></span></h1>
    <p id="alloc-facts" class="facts"></p>
    <div class="toolbar"><button type="button" id="alloc-restart">Restart tasks</button>
      <button type="button" id="alloc-stop" class="danger">Stop allocation</button></div>
    <div id="alloc-out" aria-live="polite"></div>
    <section class="panel" aria-labelledby="logs-title"><h2 id="logs-title">Logs</h2>
      <div class="toolbar">
        <label>Task <select id="log-task"></select></label>
        <fieldset class="segmented"><legend class="sr-only">Stream</legend>
          <label><input type="radio" name="log-type" value="stdout" checked> stdout</label>
          <label><input type="radio" name="log-type" value="stderr"> stderr</label></fieldset>
        <label><input type="checkbox" id="log-follow" checked> Follow</label>
        <button type="button" id="log-pause" aria-pressed="false">Pause</button>
        <span id="log-state" class="muted" aria-live="polite"></span>
      </div>
      <pre id="logs" tabindex="0" aria-label="Task output" aria-describedby="log-state"></pre></section>
    <section aria-labelledby="tasks-title"><h2 id="tasks-title">Tasks</h2><div id="alloc-tasks"></div></section>
    <section aria-labelledby="res-title"><h2 id="res-title">Resources</h2><div id="alloc-resources"></div></section>`);
  const $ = (sel) => main.querySelector(sel);
  const logs = logViewer($, id, ctx.signal);
  wireActions($, id);
  const TERMINAL = ["complete", "failed", "lost"];
  let tasksFilled = false;
  const path = `/v1/allocation/${encodeURIComponent(id)}`;
  live(ctx.signal, [path], async () => {
    try {
      const a = await get(path, ctx.signal);
      renderAlloc($, a);
      logs.terminal = TERMINAL.includes(a.ClientStatus);
      if (!tasksFilled) {
        tasksFilled = true;
        const tasks = Object.keys(a.TaskStates || {}).length
          ? Object.keys(a.TaskStates)
          : (a.Job?.TaskGroups?.find((g) => g.Name === a.TaskGroup)?.Tasks || []).map((t) => t.Name);
        put($("#log-task"), tasks.map((t) => html`<option>${t}</option>`));
        logs.open();
      }
    } catch (e) {
      if (!ctx.signal.aborted) put($("#alloc-tasks"), problem(e, `read allocation ${short(id)}`));
    }
  });
}

/** Restart (every task, in place) and stop (the scheduler replaces it), each confirmed. */
function wireActions($, id) {
  const out = $("#alloc-out");
  const confirm = (question, label, run) => {
    put(out, html`<div class="panel confirm" role="alertdialog" aria-labelledby="alloc-q">
      <p id="alloc-q">${question}</p><div class="buttons">
      <button type="button" class="danger" id="alloc-confirm">${label}</button>
      <button type="button" id="alloc-cancel">Cancel</button></div><div id="alloc-result"></div></div>`);
    $("#alloc-confirm").focus();
    $("#alloc-cancel").addEventListener("click", () => put(out, ""));
    $("#alloc-confirm").addEventListener("click", (ev) => act(ev.target, $("#alloc-result"), run));
  };
  const path = encodeURIComponent(id);
  $("#alloc-restart").addEventListener("click", () => confirm(
    "Restart every task of this allocation in place?", "Yes, restart",
    async () => {
      await api(`/v1/client/allocation/${path}/restart`, { method: "POST", body: { AllTasks: true } });
      put(out, html`<p class="notice ok">Tasks restarted.</p>`);
      announce("Tasks restarted");
    },
  ));
  $("#alloc-stop").addEventListener("click", () => confirm(
    "Stop this allocation? The scheduler places a replacement.", "Yes, stop",
    async () => {
      const r = await api(`/v1/allocation/${path}/stop`, { method: "POST" });
      put(out, html`<p class="notice ok">Allocation stopping (evaluation ${short(r.data.EvalID)}).</p>`);
      announce("Allocation stopping");
    },
  ));
}

function renderAlloc($, a) {
  const q = `namespace=${encodeURIComponent(a.Namespace)}`;
  put($("#alloc-job"), html`<a href="#/job/${encodeURIComponent(a.Namespace)}/${encodeURIComponent(a.JobID)}">${a.JobID}</a> / ${a.TaskGroup}`);
  put($("#alloc-status"), badge(a.ClientStatus));
  put($("#alloc-facts"), html`${a.Name} · desired ${a.DesiredStatus} · job version ${a.Job?.Version ?? ""}
    · node <a href="#/node/${a.NodeID}">${a.NodeName || short(a.NodeID)}</a> · ${a.ClientDescription}
    · <a href="#/jobs?${q}">namespace ${a.Namespace}</a>`);
  const tasks = Object.entries(a.TaskStates || {}).map(([name, t]) => html`<article class="task" data-task="${name}">
    <h3>${name} ${badge(t.State)} ${t.Failed ? badge("failed") : ""}</h3>
    <p class="facts">restarts ${t.Restarts}${t.StartedAt ? html` · started ${when(t.StartedAt)}` : ""}
      ${t.FinishedAt ? html` · finished ${when(t.FinishedAt)}` : ""}</p>
    <ol class="timeline" aria-label="Events of task ${name}">${(t.Events || []).map((e) => html`<li>
      <time>${when(e.Time)}</time> <strong>${e.Type}</strong> ${e.DisplayMessage || e.Message}
      ${e.ExitCode ? ` (exit code ${e.ExitCode})` : ""}</li>`)}</ol></article>`);
  put($("#alloc-tasks"), tasks.length ? tasks : html`<p class="empty">No task has started yet.</p>`);
  const res = a.AllocatedResources || {};
  const rows = Object.entries(res.Tasks || {}).map(([name, r]) => html`<tr><th scope="row">${name}</th>
    <td class="num">${r.Cpu?.CpuShares ?? ""} MHz</td><td class="num">${r.Memory?.MemoryMB ?? ""} MB${r.Memory?.MemoryMaxMB ? ` (max ${r.Memory.MemoryMaxMB})` : ""}</td>
    <td>${(r.Networks || []).flatMap((n) => [...(n.ReservedPorts || []), ...(n.DynamicPorts || [])]).map((p) => `${p.Label}:${p.Value}`).join(", ")}</td></tr>`);
  put($("#alloc-resources"), html`<table class="list"><thead><tr><th scope="col">Task</th><th scope="col">CPU</th>
    <th scope="col">Memory</th><th scope="col">Ports</th></tr></thead><tbody>${rows}</tbody></table>
    <p class="facts">Disk ${res.Shared?.DiskMB ?? 0} MB${(res.Shared?.Ports || []).length ? ` · ports ${res.Shared.Ports.map((p) => `${p.Label}:${p.Value}`).join(", ")}` : ""}</p>`);
}

/** The log panel: one stream at a time, reopened when the task, stream or follow changes. */
function logViewer($, id, pageSignal) {
  const pre = $("#logs");
  const state = $("#log-state");
  const pauseButton = $("#log-pause");
  let ctrl = null;
  pageSignal.addEventListener("abort", () => ctrl?.abort(), { once: true });
  let paused = false;
  let held = "";
  const type = () => $("input[name=log-type]:checked").value;
  const follow = () => $("#log-follow").checked;

  const show = (text) => {
    if (paused) {
      held = (held + text).slice(-MAX_CHARS);
      state.textContent = `Paused (${held.length} characters waiting)`;
      return;
    }
    pre.textContent = (pre.textContent + text).slice(-MAX_CHARS);
    if (follow()) pre.scrollTop = pre.scrollHeight;
  };

  const open = async () => {
    ctrl?.abort();
    ctrl = new AbortController();
    const signal = ctrl.signal;
    pre.textContent = "";
    held = "";
    const task = $("#log-task").value;
    if (!task) return;
    for (let attempt = 0; !signal.aborted; attempt++) {
      const q = new URLSearchParams({
        task, type: type(), plain: "true", origin: "end", offset: String(TAIL_BYTES),
      });
      if (follow()) q.set("follow", "true");
      state.textContent = `Opening ${type()} of ${task}…`;
      try {
        const r = await api(`/v1/client/fs/logs/${encodeURIComponent(id)}?${q}`, { signal, raw: true });
        state.textContent = follow() ? `Following ${type()} of ${task}` : `${type()} of ${task}`;
        const reader = r.body.getReader();
        const decoder = new TextDecoder();
        pre.textContent = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          show(decoder.decode(value, { stream: true }));
        }
        if (!follow() || viewer.terminal) {
          state.textContent = `End of ${type()} of ${task}`;
          return;
        }
        state.textContent = `The ${type()} stream of ${task} ended; reopening…`;
      } catch (e) {
        if (signal.aborted) return;
        state.textContent = e.status === 403
          ? "Not allowed: the signed-in token may not read this allocation's logs."
          : `No ${type()} yet (${e.message}); retrying…`;
        if (e.status === 403) return;
      }
      await new Promise((resolve) => setTimeout(resolve, REOPEN_MS));
    }
  };

  $("#log-task").addEventListener("change", open);
  for (const r of document.querySelectorAll("input[name=log-type]")) r.addEventListener("change", open);
  $("#log-follow").addEventListener("change", open);
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      const text = held;
      held = "";
      show(text);
      state.textContent = follow() ? `Following ${type()}` : type();
    } else {
      state.textContent = "Paused";
    }
  });
  const viewer = { open, terminal: false };
  return viewer;
}
