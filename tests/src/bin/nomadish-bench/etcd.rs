//! A three-member etcd cluster on loopback for `consensus`: Debian's `etcd-server` started as
//! child processes in a temp dir, with its defaults (fsync on every commit, no TLS), spoken
//! to through its HTTP/JSON gateway.
//!
//! ```text
//!   m1..m3: --listen-client-urls http://127.0.0.1:<c>  --listen-peer-urls http://127.0.0.1:<p>
//!           --initial-cluster m1=...,m2=...,m3=...  --initial-cluster-state new
//!   gateway: /v3 (etcd >= 3.4) or /v3beta (3.3), whichever answers kv/range
//!   leader:  <gateway>/maintenance/status of each member: header.member_id == leader
//! ```

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nomadish_tests::free_port;
use serde_json::{Value, json};

/// How long the members may take to elect a leader.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for one gateway call.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between polls while the cluster starts.
const POLL: Duration = Duration::from_millis(100);

/// One member.
struct Member {
    client_url: String,
    child: Child,
}

/// A running etcd cluster; dropping it kills the members.
pub struct Etcd {
    members: Vec<Member>,
    http: reqwest::Client,
    /// `/v3` or `/v3beta`.
    pub gateway: String,
    /// `etcd --version`'s first line.
    pub version: String,
}

/// `etcd --version`'s first line, if etcd runs here.
pub fn version() -> Option<String> {
    let out = Command::new("etcd").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    out.status
        .success()
        .then(|| text.lines().next().unwrap_or_default().trim().to_string())
}

impl Etcd {
    /// Starts `n` members under `dir` and waits until they agree on a leader.
    pub async fn start(dir: &Path, n: usize) -> anyhow::Result<Etcd> {
        let version = version().ok_or_else(|| anyhow::anyhow!("etcd does not run"))?;
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let cluster: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{}=http://127.0.0.1:{peer}", i + 1))
            .collect();
        let mut members = Vec::new();
        for (i, (client, peer)) in ports.iter().enumerate() {
            let name = format!("m{}", i + 1);
            let log = std::fs::File::create(dir.join(format!("etcd-{name}.log")))?;
            let client_url = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let child = Command::new("etcd")
                .args(["--name", &name])
                .arg("--data-dir")
                .arg(dir.join(format!("etcd-{name}")))
                .args(["--listen-client-urls", &client_url])
                .args(["--advertise-client-urls", &client_url])
                .args(["--listen-peer-urls", &peer_url])
                .args(["--initial-advertise-peer-urls", &peer_url])
                .args(["--initial-cluster", &cluster.join(",")])
                .args(["--initial-cluster-token", "nomadish-bench"])
                .args(["--initial-cluster-state", "new"])
                .args(["--logger", "zap", "--log-level", "warn"])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()?;
            members.push(Member { client_url, child });
        }
        let http = reqwest::Client::builder().timeout(CALL_TIMEOUT).build()?;
        let mut etcd = Etcd {
            members,
            http,
            gateway: String::new(),
            version,
        };
        etcd.gateway = etcd.find_gateway().await?;
        etcd.wait_leader().await?;
        Ok(etcd)
    }

    /// The member's client URL.
    pub fn url(&self, member: usize) -> &str {
        &self.members[member].client_url
    }

    async fn post(&self, member: usize, path: &str, body: &Value) -> Option<Value> {
        let url = format!("{}{path}", self.url(member));
        let resp = self
            .http
            .post(url)
            .body(body.to_string())
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        serde_json::from_slice(&resp.bytes().await.ok()?).ok()
    }

    /// The gateway prefix the first member answers on.
    async fn find_gateway(&self) -> anyhow::Result<String> {
        let started = Instant::now();
        let probe = json!({"key": "AA=="});
        while started.elapsed() < START_TIMEOUT {
            for prefix in ["/v3", "/v3beta"] {
                let path = format!("{prefix}/kv/range");
                if self.post(0, &path, &probe).await.is_some() {
                    return Ok(prefix.to_string());
                }
            }
            tokio::time::sleep(POLL).await;
        }
        anyhow::bail!("etcd's JSON gateway answered neither /v3 nor /v3beta")
    }

    /// Each member's `(own ID, leader ID)`.
    async fn status(&self, member: usize) -> Option<(String, String)> {
        let path = format!("{}/maintenance/status", self.gateway);
        let s = self.post(member, &path, &json!({})).await?;
        let own = s["header"]["member_id"].as_str()?.to_string();
        let leader = s["leader"].as_str()?.to_string();
        (leader != "0").then_some((own, leader))
    }

    /// Waits until every member reports the same leader; returns its index.
    pub async fn wait_leader(&self) -> anyhow::Result<usize> {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            let mut seen = Vec::new();
            for i in 0..self.members.len() {
                seen.extend(self.status(i).await);
            }
            if seen.len() == self.members.len()
                && seen.iter().all(|s| s.1 == seen[0].1)
                && let Some(i) = seen.iter().position(|s| s.0 == s.1)
            {
                return Ok(i);
            }
            tokio::time::sleep(POLL).await;
        }
        anyhow::bail!("etcd members did not agree on a leader within {START_TIMEOUT:?}")
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for m in &mut self.members {
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
    }
}
