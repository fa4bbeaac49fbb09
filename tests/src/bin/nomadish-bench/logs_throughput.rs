//! `logs-throughput`: a raw_exec task prints `-mb` MiB as fast as it can (`yes | head -c`);
//! `nomadish alloc logs -f` follows it live and the bytes arriving at the CLI's stdout are
//! timed from the first to the last. Then the finished log is followed again from its start
//! over HTTP, plain and framed, to show what the stream itself carries when the producer is
//! not the limit.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nomadish_tests::{Agent, AgentKind, cli, nomadish_bin, write_file};
use serde_json::{Value, json};

/// Longest wait for the task to start or the bytes to arrive.
const TIMEOUT: Duration = Duration::from_secs(600);
const MIB: f64 = 1024.0 * 1024.0;

fn job_spec(bytes: u64) -> String {
    // Large files, many kept: the follower must not fall behind a pruned file.
    format!(
        r#"job "logs-bench" {{
  type = "batch"
  group "g" {{
    ephemeral_disk {{
      size = 8000
    }}
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "sleep 3; yes | head -c {bytes}; sleep 600"]
      }}
      logs {{
        max_files     = 100
        max_file_size = 64
      }}
      resources {{
        cpu    = 100
        memory = 64
      }}
    }}
  }}
}}
"#
    )
}

async fn running_alloc(api: &nomadish_tests::Api) -> String {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        let (_, _, allocs) = api.get("/v1/job/logs-bench/allocations").await;
        let found = allocs.as_array().and_then(|a| {
            a.iter()
                .find(|x| x["TaskStates"]["t"]["State"] == "running")
                .and_then(|x| x["ID"].as_str().map(str::to_string))
        });
        if let Some(id) = found {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the bench task never ran");
}

/// Follows with the CLI until `bytes` arrived; seconds from the first byte to the last.
fn follow_with_cli(agent: &Agent, alloc: &str, bytes: u64) -> f64 {
    let mut child = Command::new(nomadish_bin())
        .args(["alloc", "logs", "-f", "-stdout", alloc])
        .env("NOMAD_ADDR", &agent.http)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cli");
    let mut out = child.stdout.take().expect("stdout");
    let mut buf = vec![0u8; 256 * 1024];
    let (mut got, mut first) = (0u64, None);
    let deadline = Instant::now() + TIMEOUT;
    while got < bytes && Instant::now() < deadline {
        let n = out.read(&mut buf).expect("read cli");
        if n == 0 {
            break;
        }
        first.get_or_insert_with(Instant::now);
        got += n as u64;
    }
    let secs = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got, bytes, "the CLI received every byte");
    secs
}

/// Follows over HTTP from the start until `bytes` of payload arrived; seconds taken.
async fn follow_over_http(base: &str, alloc: &str, bytes: u64, plain: bool) -> f64 {
    let url =
        format!("{base}/v1/client/fs/logs/{alloc}?task=t&type=stdout&follow=true&plain={plain}");
    let started = Instant::now();
    let mut resp = reqwest::get(&url).await.expect("GET logs");
    let (mut wire, mut payload) = (0u64, 0u64);
    while payload < bytes && started.elapsed() < TIMEOUT {
        let Some(chunk) = resp.chunk().await.expect("chunk") else {
            break;
        };
        wire += chunk.len() as u64;
        // Framed: base64 is 4 bytes per 3; frames are mostly Data.
        payload = if plain { wire } else { wire * 3 / 4 };
    }
    started.elapsed().as_secs_f64()
}

/// Runs the scenario; returns the markdown table and the JSON result.
pub async fn run(mib: u64) -> (String, Value) {
    let bytes = mib * 1024 * 1024;
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let spec = write_file(dir.path(), "logs-bench.hcl", &job_spec(bytes));
    let out = cli(
        &agent,
        &["job", "run", "-detach", spec.to_str().expect("utf-8")],
    );
    assert!(
        out.status.success(),
        "job run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alloc = running_alloc(&agent.api()).await;
    let live = follow_with_cli(&agent, &alloc, bytes);
    let plain = follow_over_http(&agent.http, &alloc, bytes, true).await;
    let framed = follow_over_http(&agent.http, &alloc, bytes, false).await;
    let rate = |secs: f64| {
        if secs > 0.0 {
            bytes as f64 / MIB / secs
        } else {
            0.0
        }
    };
    let result = json!({
        "scenario": "logs-throughput",
        "mib": mib,
        "cores": crate::cores(),
        "cli_follow_live_mib_s": rate(live),
        "http_plain_follow_replay_mib_s": rate(plain),
        "http_framed_follow_replay_mib_s": rate(framed),
    });
    let table = format!(
        "| scenario | MiB | `alloc logs -f` live MiB/s | HTTP plain follow (replay) MiB/s | HTTP framed follow (replay) MiB/s |\n|---|---|---|---|---|\n| logs-throughput | {mib} | {:.1} | {:.1} | {:.1} |",
        rate(live),
        rate(plain),
        rate(framed),
    );
    let _ = cli(&agent, &["job", "stop", "-purge", "-detach", "logs-bench"]);
    (table, result)
}
