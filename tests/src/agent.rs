//! Agent processes under test.

use std::net::TcpListener;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long an agent may take to answer its health endpoint.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of an agent's log shown when it fails to start.
pub const LOG_TAIL_LINES: usize = 40;
/// How long a stopped agent may take to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The `nomadish` binary: `$NOMADISH_BIN`, else next to the test executable's `deps/` dir.
pub fn nomadish_bin() -> PathBuf {
    if let Ok(p) = std::env::var("NOMADISH_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    // Test binaries live in target/<profile>/deps, tool binaries in target/<profile>.
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("nomadish"))
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "nomadish binary not found in {candidates:?}: build it first (cargo build --bins), or set NOMADISH_BIN"
            )
        })
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    free_port_on(std::net::Ipv4Addr::LOCALHOST.into())
}

/// A TCP port free on `ip` (another cluster's servers may hold ports on the same 127.0.1.K
/// addresses that a check on 127.0.0.1 would not see), never one this process handed out
/// before: two listeners of one agent given the same port make it exit with "address in
/// use".
pub fn free_port_on(ip: std::net::IpAddr) -> u16 {
    let listener = fresh_listener(ip);
    listener.local_addr().expect("free port").port()
}

/// The lowest port the kernel picks for outgoing connections (`ip_local_port_range`).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

/// Ports handed out start here; those below are left to well-known services.
const FIRST_TEST_PORT: u16 = 10000;

/// A listener on `ip` at a port this process never handed out before (so a proxy the
/// harness binds cannot take a port an agent was told to use but has not bound yet).
///
/// The port lies below the kernel's range for outgoing connections: a port from that range
/// is free only until some process's next connection takes it as its source port, and
/// agents dialing each other while others start made an agent lose its port that way
/// ("address in use"). Each process starts at its own place in the range, so test
/// processes running side by side rarely probe the same ports.
pub fn fresh_listener(ip: std::net::IpAddr) -> TcpListener {
    static GIVEN: std::sync::Mutex<Vec<(std::net::IpAddr, u16)>> =
        std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let high = ephemeral_low();
    if high <= FIRST_TEST_PORT + 1000 {
        return kernel_listener(ip, &mut given);
    }
    let span = u32::from(high - FIRST_TEST_PORT);
    let start = (std::process::id().wrapping_mul(7919) + given.len() as u32) % span;
    for step in 0..span {
        let port = FIRST_TEST_PORT + ((start + step) % span) as u16;
        if given.contains(&(ip, port)) {
            continue;
        }
        if let Ok(listener) = TcpListener::bind((ip, port)) {
            given.push((ip, port));
            return listener;
        }
    }
    kernel_listener(ip, &mut given)
}

/// A listener on a port the kernel picks, never one in `given`.
fn kernel_listener(ip: std::net::IpAddr, given: &mut Vec<(std::net::IpAddr, u16)>) -> TcpListener {
    // Hold every probe open until a new port turns up, so the kernel cannot offer the
    // same one twice in this loop either.
    let mut probes = Vec::new();
    for _ in 0..1000 {
        let probe = TcpListener::bind((ip, 0)).expect("free port");
        let port = probe.local_addr().expect("free port").port();
        if !given.contains(&(ip, port)) {
            given.push((ip, port));
            return probe;
        }
        probes.push(probe);
    }
    panic!("no fresh free port on {ip} after 1000 tries");
}

/// Whether the process `pid` has exited (it is gone or a zombie not yet reaped).
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesized command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// Polls `check` every 50 ms until it returns `Some` or `timeout` passes.
pub async fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let polled = poll(timeout, async || match check().await {
        Some(v) => ControlFlow::Break(Ok(v)),
        None => ControlFlow::Continue(String::new()),
    })
    .await;
    polled.unwrap_or_else(|_| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Polls `check` every 50 ms until it breaks with its outcome, or `timeout` passes: then
/// the last reason it gave to go on.
async fn poll<T>(
    timeout: Duration,
    mut check: impl AsyncFnMut() -> ControlFlow<Result<T, String>, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            ControlFlow::Break(outcome) => return outcome,
            ControlFlow::Continue(last) if Instant::now() >= deadline => return Err(last),
            ControlFlow::Continue(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// What an agent runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentKind {
    /// `-dev`: server and client in one process.
    Dev,
    /// `-server`, bootstrapping alone.
    Server,
    /// `-server` in a cluster of `expect` servers joined through `join` (RPC addresses).
    ClusterServer {
        /// `bootstrap_expect`.
        expect: usize,
        /// `server_join { retry_join }`.
        join: Vec<String>,
    },
    /// `-client` joined to these server RPC addresses.
    Client(Vec<String>),
}

/// A running agent process.
pub struct Agent {
    child: Option<Child>,
    /// What it runs.
    pub kind: AgentKind,
    /// Its data dir (kept across restarts).
    pub data_dir: PathBuf,
    /// `http://127.0.0.1:<port>`: the API (servers and dev agents), or a client-only
    /// agent's probes and metrics.
    pub http: String,
    /// The RPC address the agent advertises: `127.0.0.1:<port>` of its gRPC listener, or of
    /// the fault proxy in front of it.
    pub rpc: String,
    /// Where its gRPC listener binds.
    pub rpc_listen: String,
    /// The node name.
    pub name: String,
    /// The certificates it runs with (TLS on RPC and HTTP), if any.
    pub pki: Option<crate::Pki>,
    /// Extra environment variables for the process (set before [`Agent::launch`]).
    pub env: Vec<(String, String)>,
    config: PathBuf,
    log: PathBuf,
}

impl Agent {
    fn config_text(kind: &AgentKind, name: &str, http: u16, rpc: u16, extra: &str) -> String {
        let mut text = format!(
            "name = \"{name}\"\nbind_addr = \"127.0.0.1\"\nports {{\n  http = {http}\n  rpc = {rpc}\n}}\n"
        );
        let server_block = |expect: usize, join: &[String]| {
            let list: Vec<String> = join.iter().map(|s| format!("\"{s}\"")).collect();
            format!(
                "server {{\n  enabled = true\n  bootstrap_expect = {expect}\n  heartbeat_grace = \"1s\"\n  min_heartbeat_ttl = \"1s\"\n  server_join {{\n    retry_join = [{}]\n  }}\n}}\n",
                list.join(", ")
            )
        };
        match kind {
            AgentKind::Server => text.push_str(&server_block(1, &[])),
            AgentKind::ClusterServer { expect, join } => {
                text.push_str(&server_block(*expect, join))
            }
            _ => {}
        }
        if let AgentKind::Client(servers) = kind {
            let list: Vec<String> = servers.iter().map(|s| format!("\"{s}\"")).collect();
            text.push_str(&format!(
                "client {{\n  enabled = true\n  servers = [{}]\n}}\nplugin \"raw_exec\" {{\n  config {{\n    enabled = true\n  }}\n}}\n",
                list.join(", ")
            ));
        }
        text.push_str(extra);
        text
    }

    /// Starts an agent storing its state under `dir/<name>`; `extra` is appended to its config.
    pub async fn start(dir: &Path, name: &str, kind: AgentKind, extra: &str) -> Agent {
        Self::start_on(dir, name, kind, extra, (free_port(), free_port()), None).await
    }

    /// Like [`Agent::start`], with TLS on RPC and HTTP from `pki`.
    pub async fn start_tls(
        dir: &Path,
        name: &str,
        kind: AgentKind,
        extra: &str,
        pki: &crate::Pki,
    ) -> Agent {
        let ports = (free_port(), free_port());
        Self::start_on(dir, name, kind, extra, ports, Some(pki)).await
    }

    /// Like [`Agent::start`], on these `(http, rpc)` ports, with TLS when `pki` is given.
    pub async fn start_on(
        dir: &Path,
        name: &str,
        kind: AgentKind,
        extra: &str,
        ports: (u16, u16),
        pki: Option<&crate::Pki>,
    ) -> Agent {
        let mut agent = Self::prepare(dir, name, kind, extra, ports, pki);
        agent.spawn().await;
        agent
    }

    /// Writes the agent's config without starting it (start with [`Agent::launch`]).
    pub fn prepare(
        dir: &Path,
        name: &str,
        kind: AgentKind,
        extra: &str,
        ports: (u16, u16),
        pki: Option<&crate::Pki>,
    ) -> Agent {
        let data_dir = dir.join(name);
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let (http, rpc) = ports;
        let role = if matches!(kind, AgentKind::Client(_)) {
            "client"
        } else {
            "server"
        };
        let extra = match pki {
            Some(pki) => format!("{extra}{}", pki.agent_block(role)),
            None => extra.to_string(),
        };
        let config = dir.join(format!("{name}.hcl"));
        std::fs::write(&config, Self::config_text(&kind, name, http, rpc, &extra)).expect("config");
        let scheme = if pki.is_some() { "https" } else { "http" };
        Agent {
            child: None,
            kind,
            data_dir,
            http: format!("{scheme}://127.0.0.1:{http}"),
            rpc: format!("127.0.0.1:{rpc}"),
            rpc_listen: format!("127.0.0.1:{rpc}"),
            name: name.to_string(),
            pki: pki.cloned(),
            env: Vec::new(),
            config,
            log: dir.join(format!("{name}.log")),
        }
    }

    async fn spawn(&mut self) {
        self.spawn_process();
        self.wait_started().await;
    }

    fn spawn_process(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("agent log");
        let mut cmd = Command::new(nomadish_bin());
        cmd.arg("agent");
        match &self.kind {
            AgentKind::Dev => cmd.arg("-dev"),
            AgentKind::Server | AgentKind::ClusterServer { .. } => cmd.arg("-server"),
            AgentKind::Client(_) => cmd.arg("-client"),
        };
        cmd.arg("-data-dir")
            .arg(&self.data_dir)
            .arg("-config")
            .arg(&self.config)
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn agent"));
    }

    /// Waits until the agent's API answers healthy (and a dev agent's node is ready); a
    /// client-only agent, until its HTTP listener answers `/live`.
    pub async fn wait_started(&self) {
        if let Err(why) = self.try_wait_started().await {
            panic!("{why}\n{}", self.log_tail(LOG_TAIL_LINES));
        }
    }

    /// Like [`Agent::wait_started`], returning why the agent did not start (its last answer
    /// to the probe, or that it exited) instead of panicking, so a caller can add other
    /// agents' logs to the report.
    pub async fn try_wait_started(&self) -> Result<(), String> {
        let probe = if matches!(self.kind, AgentKind::Client(_)) {
            "/live"
        } else {
            "/v1/agent/health"
        };
        let api = self.api();
        let log = self.log.clone();
        let pid = self.child.as_ref().map(|c| c.id());
        poll(START_TIMEOUT, async || {
            // An agent that exited (a port taken, a bad config) will never answer: say why
            // at once instead of waiting out the timeout.
            if let Some(pid) = pid
                && exited(pid)
            {
                return ControlFlow::Break(Err(format!(
                    "agent {} exited while starting",
                    self.name
                )));
            }
            match api.try_get(probe).await {
                Ok((code, _, _)) if code.is_success() => ControlFlow::Break(Ok(())),
                Ok((code, _, body)) => ControlFlow::Continue(format!("{code} {body}")),
                Err(e) => ControlFlow::Continue(e),
            }
        })
        .await
        .map_err(|last| {
            format!(
                "agent {} did not answer {probe} within {START_TIMEOUT:?} (last answer: {last}; \
                 log: {})",
                self.name,
                log.display()
            )
        })?;
        if self.kind == AgentKind::Dev {
            poll(START_TIMEOUT, async || {
                let nodes = api.get_ok("/v1/nodes").await;
                let ready = nodes
                    .as_array()
                    .is_some_and(|n| n.iter().any(|n| n["Status"] == "ready"));
                if ready {
                    ControlFlow::Break(Ok(()))
                } else {
                    ControlFlow::Continue(nodes.to_string())
                }
            })
            .await
            .map_err(|nodes| {
                format!(
                    "the dev agent's node was not ready within {START_TIMEOUT:?} (nodes: {nodes}; \
                     log: {})",
                    log.display()
                )
            })?;
        }
        Ok(())
    }

    /// The agent's process ID.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.as_ref().expect("running").id() as i32)
    }

    fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).expect("signal agent");
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the process freezes without closing its sockets.
    pub fn pause(&self) {
        self.signal(Signal::SIGSTOP);
    }

    /// SIGCONT.
    pub fn resume(&self) {
        self.signal(Signal::SIGCONT);
    }

    /// Ctrl-C (SIGINT) and wait for a clean exit; returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("agent {} did not stop within {STOP_TIMEOUT:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the agent again on the same data dir, ports and config.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill the agent first");
        self.spawn().await;
    }

    /// Starts the process without waiting for its API (servers that wait for peers).
    pub fn launch(&mut self) {
        assert!(self.child.is_none(), "stop or kill the agent first");
        self.spawn_process();
    }

    /// Rewrites the agent's config file (takes effect at the next start).
    pub fn edit_config(&self, edit: impl FnOnce(&str) -> String) {
        let text = std::fs::read_to_string(&self.config).expect("read config");
        std::fs::write(&self.config, edit(&text)).expect("write config");
    }

    /// Whether the process is running.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of the agent's log, under a heading naming the agent.
    pub fn log_tail(&self, n: usize) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(n)..];
        format!(
            "--- last {} lines of {}'s log:\n{}",
            tail.len(),
            self.name,
            tail.join("\n")
        )
    }

    /// An API client for this agent (with the cli certificate when it runs TLS).
    pub fn api(&self) -> crate::Api {
        match &self.pki {
            Some(pki) => {
                crate::Api::with_client(&self.http, crate::Pki::http_client(&pki.cli_tls()))
            }
            None => crate::Api::new(&self.http),
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGCONT);
        }
        self.stop();
    }
}

/// Runs the CLI against `agent` (`NOMAD_ADDR` set) and returns its output.
pub fn cli(agent: &Agent, args: &[&str]) -> Output {
    let mut cmd = Command::new(nomadish_bin());
    cmd.args(args)
        .env("NOMAD_ADDR", &agent.http)
        .env_remove("NOMAD_TOKEN")
        .env_remove("NOMAD_NAMESPACE")
        .stdin(Stdio::null());
    if let Some(pki) = &agent.pki {
        for (k, v) in pki.cli_env() {
            cmd.env(k, v);
        }
    }
    cmd.output().expect("run cli")
}
