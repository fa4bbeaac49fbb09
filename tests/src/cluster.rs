//! A cluster of server processes on loopback, for consensus and failover tests.
//!
//! ```text
//!   Cluster::start(dir, 3) ── ports for all ──> s1..s3 with bootstrap_expect = 3 and
//!                                                retry_join = every server's RPC address
//!   leader() / wait_leader()     who leads, as the servers report it (?stale reads)
//!   wait_converged()             every running server at the same index with the same digest
//! ```

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::Pki;
use crate::agent::{Agent, AgentKind, free_port, free_port_on, wait_until};

/// How long a cluster may take to elect a leader or converge.
pub const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);

/// Server processes forming one cluster.
pub struct Cluster {
    /// The servers, `s1`... in order.
    pub servers: Vec<Agent>,
}

impl Cluster {
    /// Starts `n` servers expecting each other, with TLS when `pki` is given; returns once
    /// every one reports a leader.
    pub async fn start(dir: &Path, n: usize, extra: &str, pki: Option<&Pki>) -> Cluster {
        Self::start_edited(dir, n, extra, pki, |text| text.to_string()).await
    }

    /// Like [`Cluster::start`], with each server's config file passed through `edit` before
    /// it starts (for settings the harness writes itself, such as the heartbeat timing).
    pub async fn start_edited(
        dir: &Path,
        n: usize,
        extra: &str,
        pki: Option<&Pki>,
        edit: impl Fn(&str) -> String,
    ) -> Cluster {
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let join: Vec<String> = ports
            .iter()
            .map(|(_, rpc)| format!("127.0.0.1:{rpc}"))
            .collect();
        let servers: Vec<Agent> = ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let kind = AgentKind::ClusterServer {
                    expect: n,
                    join: join.clone(),
                };
                let agent = Agent::prepare(dir, &format!("s{}", i + 1), kind, extra, *p, pki);
                agent.edit_config(&edit);
                agent
            })
            .collect();
        Self::launch_all(servers).await
    }

    /// Starts prepared servers together (they wait for each other) and waits for each.
    async fn launch_all(mut servers: Vec<Agent>) -> Cluster {
        for s in &mut servers {
            s.launch();
        }
        // All at once, so a server that exits is reported at once rather than after the
        // others time out waiting for a leader; a server that never sees a leader may be
        // the victim of another's trouble, so every server's log is shown.
        let started = servers.iter().map(|s| s.try_wait_started());
        if let Err(why) = futures::future::try_join_all(started).await {
            let logs: Vec<String> = servers
                .iter()
                .map(|s| s.log_tail(crate::agent::LOG_TAIL_LINES))
                .collect();
            panic!("{why}\n{}", logs.join("\n"));
        }
        Cluster { servers }
    }

    /// Like [`Cluster::start`], with every server behind `net`: server `sK` binds 127.0.1.K
    /// (its outgoing RPC leaves from there, which names it to the proxies) and advertises its
    /// proxy's address, so all server-to-server traffic crosses the fault network. Tests
    /// still reach each server's HTTP API directly.
    pub async fn start_behind(
        dir: &Path,
        n: usize,
        extra: &str,
        pki: Option<&Pki>,
        net: &crate::faults::Net,
    ) -> Cluster {
        let mut plans = Vec::new();
        for i in 0..n {
            let name = format!("s{}", i + 1);
            let ip: std::net::IpAddr = format!("127.0.1.{}", i + 1).parse().expect("ip");
            let (http, rpc) = (free_port_on(ip), free_port_on(ip));
            net.source(ip, &name);
            let proxy = net.proxy(&name, std::net::SocketAddr::new(ip, rpc), None);
            plans.push((name, ip, (http, rpc), proxy));
        }
        let join: Vec<String> = plans.iter().map(|p| p.3.to_string()).collect();
        let servers: Vec<Agent> = plans
            .iter()
            .map(|(name, ip, ports, proxy)| {
                let kind = AgentKind::ClusterServer {
                    expect: n,
                    join: join.clone(),
                };
                let mut agent = Agent::prepare(dir, name, kind, extra, *ports, pki);
                agent.edit_config(|text| {
                    let text = text.replace(
                        "bind_addr = \"127.0.0.1\"",
                        &format!("bind_addr = \"{ip}\""),
                    );
                    format!("{text}advertise {{\n  rpc = \"{proxy}\"\n}}\n")
                });
                agent.http = agent.http.replace("127.0.0.1", &ip.to_string());
                agent.rpc = proxy.to_string();
                agent.rpc_listen = format!("{ip}:{}", ports.1);
                agent
            })
            .collect();
        Self::launch_all(servers).await
    }

    /// A client agent behind `net`: one proxy per server, dedicated to this client, so the
    /// links `name ↔ sK` can be cut.
    pub async fn client_behind(
        &self,
        dir: &Path,
        name: &str,
        extra: &str,
        net: &crate::faults::Net,
    ) -> Agent {
        let servers: Vec<String> = self
            .servers
            .iter()
            .map(|s| {
                let upstream = s.rpc_listen.parse().expect("server rpc address");
                net.proxy(&s.name, upstream, Some(name)).to_string()
            })
            .collect();
        let pki = self.servers.first().and_then(|s| s.pki.clone());
        let ports = (free_port(), free_port());
        Agent::start_on(
            dir,
            name,
            AgentKind::Client(servers),
            extra,
            ports,
            pki.as_ref(),
        )
        .await
    }

    /// Waits until the servers list `n` nodes, all `ready`.
    pub async fn wait_ready_nodes(&self, n: usize) {
        let api = self.servers[0].api();
        wait_until(&format!("{n} nodes ready"), CLUSTER_TIMEOUT, async || {
            let nodes = api.get_ok("/v1/nodes?stale").await;
            let ready = nodes
                .as_array()
                .map(|list| list.iter().filter(|n| n["Status"] == "ready").count());
            (ready == Some(n)).then_some(())
        })
        .await;
    }

    /// Adds a server that joins the running cluster through `retry_join`.
    pub async fn add_server(&mut self, dir: &Path, extra: &str) -> usize {
        let join: Vec<String> = self.servers.iter().map(|s| s.rpc.clone()).collect();
        let name = format!("s{}", self.servers.len() + 1);
        let kind = AgentKind::ClusterServer {
            expect: self.servers.len() + 1,
            join,
        };
        let pki = self.servers.first().and_then(|s| s.pki.clone());
        let ports = (free_port(), free_port());
        let agent = Agent::start_on(dir, &name, kind, extra, ports, pki.as_ref()).await;
        self.servers.push(agent);
        self.servers.len() - 1
    }

    /// The running servers' indexes.
    pub fn running(&self) -> Vec<usize> {
        (0..self.servers.len())
            .filter(|i| self.servers[*i].running())
            .collect()
    }

    /// The leader as a running server reports it: `(server index, raft ID)`.
    pub async fn leader(&self) -> Option<(usize, String)> {
        for i in self.running() {
            let Ok((code, _, cfg)) = self.servers[i]
                .api()
                .try_get("/v1/operator/raft/configuration?stale")
                .await
            else {
                continue;
            };
            if !code.is_success() {
                continue;
            }
            let Some(leader) = cfg["Servers"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["Leader"] == true))
            else {
                continue;
            };
            let addr = leader["Address"].as_str().unwrap_or_default();
            if let Some(j) = self
                .servers
                .iter()
                .position(|s| s.rpc == addr && s.running())
            {
                return Some((j, leader["ID"].as_str().unwrap_or_default().to_string()));
            }
        }
        None
    }

    /// Waits for a leader among the running servers.
    pub async fn wait_leader(&self) -> (usize, String) {
        wait_until("a leader", CLUSTER_TIMEOUT, async || self.leader().await).await
    }

    /// Each running server's `(index, digest)` of its own state.
    pub async fn digests(&self) -> Vec<(usize, u64, String)> {
        let mut out = Vec::new();
        for i in self.running() {
            let Ok((code, _, body)) = self.servers[i]
                .api()
                .try_get("/v1/operator/debug/digest")
                .await
            else {
                continue;
            };
            if code.is_success() {
                out.push((
                    i,
                    body["Index"].as_u64().unwrap_or(0),
                    body["Digest"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        out
    }

    /// Waits until the leader's evaluation broker holds nothing ready, unacknowledged or
    /// pending: after a long write load the scheduler may still be working through its
    /// evaluations, and each one it finishes is another raft write.
    pub async fn wait_evals_done(&self, timeout: Duration) {
        wait_until(
            "the leader's evaluation broker empty",
            timeout,
            async || {
                let (leader, _) = self.leader().await?;
                let metrics = self.servers[leader].api().get_ok("/v1/metrics").await;
                let queued: f64 = metrics["Gauges"]
                    .as_array()?
                    .iter()
                    .filter(|g| {
                        g["Name"].as_str().is_some_and(|n| {
                            [
                                "nomad.nomad.broker.total_ready",
                                "nomad.nomad.broker.total_unacked",
                                "nomad.nomad.broker.total_pending",
                            ]
                            .contains(&n)
                        })
                    })
                    .filter_map(|g| g["Value"].as_f64())
                    .sum();
                (queued == 0.0).then_some(())
            },
        )
        .await
    }

    /// Waits until every running server is at the same index with the same digest; on timeout
    /// the panic shows what each server answered last.
    pub async fn wait_converged(&self, timeout: Duration) -> (u64, String) {
        let running = self.running();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let d = self.digests().await;
            let same = d.len() == running.len()
                && d.windows(2).all(|w| w[0].1 == w[1].1 && w[0].2 == w[1].2);
            if same {
                return (d[0].1, d[0].2.clone());
            }
            if std::time::Instant::now() > deadline {
                let seen: Vec<String> = running
                    .iter()
                    .map(|i| match d.iter().find(|(s, _, _)| s == i) {
                        Some((_, index, digest)) => {
                            format!("{}: index {index} digest {digest}", self.servers[*i].name)
                        }
                        None => format!("{}: no digest answer", self.servers[*i].name),
                    })
                    .collect();
                panic!(
                    "timed out after {timeout:?} waiting for every server at the same index and digest; last seen:\n  {}",
                    seen.join("\n  ")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Job IDs a server holds in its own state (`?stale`), sorted.
    pub async fn job_ids(&self, server: usize) -> Vec<String> {
        let jobs = self.servers[server]
            .api()
            .get_ok("/v1/jobs?stale&namespace=*")
            .await;
        let mut ids: Vec<String> = jobs
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|j| j["ID"].as_str().map(str::to_string))
            .collect();
        ids.sort();
        ids
    }
}

/// A registration body for a job that places nothing (count 0): cheap to write in bulk.
pub fn empty_job(id: &str) -> Value {
    serde_json::json!({
        "Job": {
            "ID": id,
            "Type": "service",
            "TaskGroups": [{
                "Name": "g",
                "Count": 0,
                "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]
            }]
        }
    })
}

/// A raw_exec service job of `count` tasks that sleep with `marker` as their argument, so a
/// test can count the processes running it (`sshd::pids_matching`).
pub fn marked_sleep_job(id: &str, count: u32, marker: &str) -> String {
    format!(
        r#"job "{id}" {{
  datacenters = ["dc1"]
  group "g" {{
    count = {count}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sleep"
        args    = ["{marker}"]
      }}
    }}
  }}
}}
"#
    )
}
