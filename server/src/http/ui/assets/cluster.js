// The servers page (raft peers and the leader) and the sign-in page (the ACL token kept in
// this browser's local storage and sent as X-Nomad-Token).

import {
  ApiError, announce, get, html, live, problem, put, token,
} from "./api.js";

/** How often the servers page refreshes. */
const REFRESH_MS = 5000;

/** #/servers */
export function serversPage(main, ctx) {
  ctx.title("Servers");
  put(main, html`<h1>Servers</h1><p id="leader" class="facts"></p><div id="servers-body"><p class="loading">Loading…</p></div>`);
  const body = main.querySelector("#servers-body");
  const path = "/v1/operator/raft/configuration";
  const load = async () => {
    try {
      const leader = await get("/v1/status/leader", ctx.signal);
      put(main.querySelector("#leader"), leader ? html`Leader: <code>${leader}</code>` : "No leader is known.");
    } catch (e) {
      if (!ctx.signal.aborted) put(main.querySelector("#leader"), problem(e, "see the leader"));
    }
    try {
      const raft = await get(path, ctx.signal);
      put(body, html`<table class="list" id="servers-table"><thead><tr><th scope="col">Node</th>
        <th scope="col">ID</th><th scope="col">Address</th><th scope="col">Role</th><th scope="col">Voter</th>
        <th scope="col">Raft protocol</th></tr></thead><tbody>${(raft.Servers || []).map((s) => html`<tr>
        <th scope="row">${s.Node}</th><td><code>${s.ID}</code></td><td><code>${s.Address}</code></td>
        <td>${s.Leader ? html`<span class="badge st-leader">leader</span>` : "follower"}</td>
        <td>${s.Voter ? "yes" : "no"}</td><td>${s.RaftProtocol}</td></tr>`)}</tbody></table>`);
    } catch (e) {
      if (!ctx.signal.aborted) put(body, problem(e, "read the raft configuration (operator read)"));
    }
  };
  live(ctx.signal, [], load);
  // The raft configuration has no blocking query: refresh it every few seconds.
  const timer = setInterval(() => !ctx.signal.aborted && load(), REFRESH_MS);
  ctx.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}

/** #/signin */
export function signinPage(main, ctx) {
  ctx.title("Sign in");
  put(main, html`<h1>Sign in</h1>
    <p>Paste an ACL token's secret ID. It stays in this browser (local storage) and is sent
    with every API call as <code>X-Nomad-Token</code>; the UI then shows only what the token may see.</p>
    <form id="signin-form" class="stack narrow">
      <label for="token-secret">Secret ID</label>
      <input type="password" id="token-secret" autocomplete="off" spellcheck="false" required
        placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx">
      <div class="buttons"><button type="submit" id="signin" class="primary">Sign in</button>
        <button type="button" id="signout">Sign out</button></div>
    </form>
    <section id="token-info" aria-live="polite"></section>`);
  const info = main.querySelector("#token-info");
  const showSelf = async () => {
    if (!token.get()) {
      put(info, html`<p class="notice">Not signed in: requests are anonymous.</p>`);
      return;
    }
    try {
      const t = await get("/v1/acl/token/self", ctx.signal);
      put(info, html`<div class="notice ok" id="token-self"><p>Signed in as <strong>${t.Name || "(unnamed)"}</strong>
        (${t.Type} token).</p><dl class="facts-list"><dt>Accessor</dt><dd><code>${t.AccessorID}</code></dd>
        <dt>Policies</dt><dd>${(t.Policies || []).join(", ") || (t.Type === "management" ? "all (management)" : "none")}</dd>
        ${t.ExpirationTime ? html`<dt>Expires</dt><dd>${new Date(t.ExpirationTime).toLocaleString()}</dd>` : ""}</dl></div>`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        put(info, html`<p class="notice">ACLs are disabled on this cluster: no token is needed.</p>`);
      } else if (e instanceof ApiError && e.status === 403) {
        put(info, html`<p class="notice denied" role="alert">This token was not accepted (unknown or expired).</p>`);
      } else {
        put(info, problem(e));
      }
    }
  };
  main.querySelector("#signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = main.querySelector("#token-secret");
    token.set(input.value.trim());
    input.value = "";
    window.dispatchEvent(new Event("nomadish:token"));
    await showSelf();
    announce("Token saved");
  });
  main.querySelector("#signout").addEventListener("click", async () => {
    token.clear();
    window.dispatchEvent(new Event("nomadish:token"));
    await showSelf();
    announce("Signed out");
  });
  showSelf();
}
