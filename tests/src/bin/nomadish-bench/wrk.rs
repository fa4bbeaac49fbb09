//! The load generator of `consensus`: Debian's `wrk` with a generated Lua script that writes
//! a fresh key per request (1 KiB value) and prints its figures in one parsable line.
//!
//! ```text
//!   script:  setup() numbers the threads; request() builds PUT /v1/var/bench/<t>/<n>
//!            (nomadish) or POST <gateway>/kv/put {key: base64, value: base64} (etcd);
//!            done() prints "BENCH requests=... p50_us=... p99_us=..."
//!   run:     wrk -t min(2, N) -c N -d S --timeout 10s --latency -s script URL
//! ```

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// Size of each written value.
pub const VALUE_BYTES: usize = 1024;
/// How long wrk may overrun its duration before it is killed.
const OVERRUN: Duration = Duration::from_secs(30);
/// wrk's per-request timeout (its default, 2 s, would count slow writes as errors).
const REQUEST_TIMEOUT: &str = "10s";

/// Which API the script writes to.
#[derive(Debug, Clone)]
pub enum Target {
    /// `PUT /v1/var/<path>` with `{"Items": {"v": <1 KiB>}}`.
    Nomadish,
    /// `POST <gateway>/kv/put` of etcd's JSON gateway (`/v3` or `/v3beta`).
    Etcd { gateway: String },
}

/// What one wrk run measured.
#[derive(Debug, Clone, Default)]
pub struct WrkResult {
    /// Responses received (any status).
    pub requests: u64,
    /// Responses with a status >= 400, plus connect, read, write errors and timeouts.
    pub errors: u64,
    /// Of those, responses with a status >= 400, and requests that timed out.
    pub status_errors: u64,
    pub timeouts: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl WrkResult {
    /// Successful writes per second.
    pub fn writes_per_sec(&self) -> f64 {
        self.requests.saturating_sub(self.errors) as f64 / self.seconds.max(f64::MIN_POSITIVE)
    }

    pub fn json(&self) -> Value {
        json!({
            "requests": self.requests,
            "errors": self.errors,
            "status_errors": self.status_errors,
            "timeouts": self.timeouts,
            "seconds": self.seconds,
            "writes_per_sec": self.writes_per_sec(),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        })
    }
}

const DONE_HOOK: &str = r#"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d errors=%d status_errors=%d timeouts=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"#;

const SETUP_HOOK: &str = r#"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
n = 0
"#;

/// Base64 in Lua (LuaJIT has none built in), for etcd's keys.
const BASE64_LUA: &str = r#"
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = {}
    for k = 3, 0, -1 do
      local d = math.floor(v / 64 ^ k) % 64
      chars[#chars + 1] = alphabet:sub(d + 1, d + 1)
    end
    if not b then chars[3] = "=" end
    if not c then chars[4] = "=" end
    out[#out + 1] = table.concat(chars)
  end
  return table.concat(out)
end
"#;

/// The Lua script for `target`.
pub fn script(target: &Target) -> String {
    let value = "x".repeat(VALUE_BYTES);
    let request = match target {
        Target::Nomadish => format!(
            r#"local body = '{{"Items":{{"v":"{value}"}}}}'
local headers = {{["Content-Type"] = "application/json"}}
function request()
  n = n + 1
  return wrk.format("PUT", "/v1/var/bench/t" .. tid .. "/k" .. n, headers, body)
end
"#
        ),
        Target::Etcd { gateway } => {
            let value = base64::engine::general_purpose::STANDARD.encode(value);
            format!(
                r#"{BASE64_LUA}
local headers = {{["Content-Type"] = "application/json"}}
function request()
  n = n + 1
  local body = '{{"key":"' .. b64("bench/t" .. tid .. "/k" .. n) .. '","value":"{value}"}}'
  return wrk.format("POST", "{gateway}/kv/put", headers, body)
end
"#
            )
        }
    };
    format!("-- written by nomadish-bench consensus\n{SETUP_HOOK}{request}{DONE_HOOK}")
}

/// Parses the `BENCH ...` line of the done hook.
pub fn parse(output: &str) -> Option<WrkResult> {
    let line = output.lines().find(|l| l.starts_with("BENCH "))?;
    let field = |name: &str| -> Option<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))?
            .parse()
            .ok()
    };
    Some(WrkResult {
        requests: field("requests")? as u64,
        errors: field("errors")? as u64,
        status_errors: field("status_errors").unwrap_or(0.0) as u64,
        timeouts: field("timeouts").unwrap_or(0.0) as u64,
        seconds: field("duration_us")? / 1e6,
        p50_ms: field("p50_us")? / 1000.0,
        p99_ms: field("p99_us")? / 1000.0,
        max_ms: field("max_us")? / 1000.0,
    })
}

/// Whether `wrk` runs here.
pub fn available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs wrk against `url` with `connections` for `seconds`; the script is written to `dir`.
pub async fn run(
    dir: &Path,
    target: &Target,
    url: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<WrkResult> {
    let script_path = dir.join("bench.lua");
    std::fs::write(&script_path, script(target))?;
    let threads = connections.clamp(1, 2);
    let child = tokio::process::Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s"), "--timeout", REQUEST_TIMEOUT])
        .arg("--latency")
        .arg("-s")
        .arg(&script_path)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let limit = Duration::from_secs(seconds) + OVERRUN;
    let started = Instant::now();
    // On timeout the dropped child is killed (`kill_on_drop`).
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| anyhow::anyhow!("wrk still running after {:?}", started.elapsed()))??;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text).ok_or_else(|| {
        anyhow::anyhow!(
            "no figures in wrk's output:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_done_line() {
        let out = "Running 1s test\nBENCH requests=1200 duration_us=2000000 errors=200 status_errors=150 timeouts=0 p50_us=1500 p99_us=9000 max_us=12000\n";
        let r = parse(out).expect("figures");
        assert_eq!((r.requests, r.errors, r.status_errors), (1200, 200, 150));
        assert_eq!(r.writes_per_sec(), 500.0);
        assert_eq!((r.p50_ms, r.p99_ms, r.max_ms), (1.5, 9.0, 12.0));
        assert!(parse("no line").is_none());
    }

    #[test]
    fn scripts_carry_a_kib_value() {
        assert!(script(&Target::Nomadish).contains(&"x".repeat(VALUE_BYTES)));
        let etcd = script(&Target::Etcd {
            gateway: "/v3".into(),
        });
        assert!(etcd.contains("/v3/kv/put") && etcd.contains("function b64"));
    }
}
