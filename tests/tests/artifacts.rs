//! Issue 6's artifact acceptance: a real agent fetches task artifacts from an HTTP server
//! on loopback started by the test; a good tar.gz is unpacked and read by the task, a wrong
//! checksum and a tar with a `../` entry fail the task with a clear event.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, TestDir, cli, run_job, serve_files, wait_until};
use serde_json::Value;
use sha2::Digest;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A tar with raw entry names (so a hostile `../` name can be built), gzip-compressed.
fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, *data).expect("append");
    }
    let tar = b.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip")
}

fn sha256(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

fn job(name: &str, source: &str, checksum: &str) -> String {
    format!(
        r#"
job "{name}" {{
  type        = "batch"
  datacenters = ["*"]
  group "g" {{
    restart {{
      attempts = 0
      mode     = "fail"
    }}
    reschedule {{
      attempts  = 0
      unlimited = false
    }}
    task "t" {{
      driver = "raw_exec"
      artifact {{
        source      = "{source}"
        destination = "local/app"
        options {{
          checksum = "sha256:{checksum}"
        }}
      }}
      config {{
        command = "/bin/cat"
        args    = ["local/app/hello.txt"]
      }}
      resources {{
        cpu    = 20
        memory = 16
      }}
    }}
  }}
}}
"#
    )
}

/// The first allocation of `job` once its client status is `status`.
async fn wait_alloc(agent: &Agent, job: &str, status: &str) -> Value {
    let api = agent.api();
    let path = format!("/v1/job/{job}/allocations");
    wait_until(&format!("{job} allocation {status}"), TIMEOUT, async || {
        let body = api.get_ok(&path).await;
        body.as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == status)
            .cloned()
    })
    .await
}

fn events(alloc: &Value) -> Vec<(String, String)> {
    alloc["TaskStates"]["t"]["Events"]
        .as_array()
        .map(|evs| {
            evs.iter()
                .map(|e| {
                    let kind = e["Type"].as_str().unwrap_or_default().to_string();
                    (
                        kind,
                        e["DisplayMessage"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A dev agent and a file server offering a good and an evil archive.
struct Bench {
    /// Declared first so it is dropped (stopped) before its directory is removed.
    agent: Agent,
    dir: TestDir,
    base: String,
    sums: HashMap<&'static str, String>,
}

impl Bench {
    /// Serves `files` (URL path -> archive) and starts the agent.
    async fn start(files: [(&'static str, Vec<u8>); 2]) -> Bench {
        let sums = files.iter().map(|(p, data)| (*p, sha256(data))).collect();
        let base = serve_files(
            files
                .into_iter()
                .map(|(p, data)| (p.to_string(), data))
                .collect(),
        )
        .await;
        let dir = nomadish_tests::test_dir();
        let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
        Bench {
            agent,
            dir,
            base,
            sums,
        }
    }

    /// Runs job `name` fetching the archive at URL path `file`, checked against `checksum`
    /// (the archive's own sha256 when `None`), and waits for its allocation to be `status`.
    async fn run(&self, name: &str, file: &str, checksum: Option<&str>, status: &str) -> Value {
        let sum = checksum.unwrap_or_else(|| &self.sums[file]);
        let spec = job(name, &format!("{}{file}", self.base), sum);
        run_job(&self.agent, self.dir.path(), name, &spec);
        wait_alloc(&self.agent, name, status).await
    }

    /// The task's stdout in `alloc`.
    fn logs(&self, alloc: &Value) -> String {
        let id = alloc["ID"].as_str().expect("alloc id");
        let out = cli(&self.agent, &["alloc", "logs", id, "t"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The message of the `Failed Artifact Download` event of `alloc`'s task.
fn download_failure(alloc: &Value) -> String {
    let evs = events(alloc);
    evs.iter()
        .find(|(k, _)| k == "Failed Artifact Download")
        .map(|(_, msg)| msg.clone())
        .unwrap_or_else(|| panic!("no Failed Artifact Download event: {evs:?}"))
}

#[tokio::test]
async fn artifacts_are_fetched_verified_and_unpacked_safely() {
    let good = tar_gz(&[("hello.txt", b"hello from an artifact\n")]);
    let evil = tar_gz(&[("hello.txt", b"fine\n"), ("../escaped.txt", b"evil\n")]);
    let bench = Bench::start([("/good.tar.gz", good), ("/evil.tar.gz", evil)]).await;

    // A good archive: unpacked into local/app and read by the task.
    let alloc = bench.run("good", "/good.tar.gz", None, "complete").await;
    let kinds: Vec<String> = events(&alloc).into_iter().map(|(k, _)| k).collect();
    let downloading = kinds.iter().position(|k| k == "Downloading Artifacts");
    let started = kinds.iter().position(|k| k == "Started");
    assert!(
        downloading.is_some() && downloading < started,
        "Downloading Artifacts comes before Started: {kinds:?}"
    );
    let logs = bench.logs(&alloc);
    assert!(logs.contains("hello from an artifact"), "logs: {logs}");

    // A wrong checksum: the task fails with an event naming expected and actual digests.
    let wrong = "0".repeat(64);
    let alloc = bench
        .run("badsum", "/good.tar.gz", Some(wrong.as_str()), "failed")
        .await;
    let failed = download_failure(&alloc);
    assert!(
        failed.contains(&format!("expected sha256:{wrong}")),
        "{failed}"
    );
    let good_sum = &bench.sums["/good.tar.gz"];
    assert!(
        failed.contains(&format!("got sha256:{good_sum}")),
        "{failed}"
    );
    let evs = events(&alloc);
    assert!(
        !evs.iter().any(|(k, _)| k == "Started"),
        "the task never starts: {evs:?}"
    );

    // A tar with a `../` entry: refused as a whole, nothing written outside.
    let alloc = bench.run("evil", "/evil.tar.gz", None, "failed").await;
    let failed = download_failure(&alloc);
    assert!(failed.contains("../escaped.txt"), "{failed}");
    assert!(failed.contains("escapes the destination"), "{failed}");
    assert!(
        !contains_file(bench.dir.path(), "escaped.txt"),
        "an entry was written outside the destination"
    );
}

/// Whether a file named `name` exists anywhere under `dir`.
fn contains_file(dir: &std::path::Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let path = e.path();
            e.file_name() == name
                || (path.is_dir() && !path.is_symlink() && contains_file(&path, name))
        })
}

/// A zip of `entries`, deflated; names are taken as given (so `../` can be built).
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(data).expect("zip data");
    }
    w.finish().expect("zip").into_inner()
}

#[tokio::test]
async fn zip_artifacts_are_unpacked_and_escaping_entries_refused() {
    let good = zip(&[("hello.txt", b"hello from a zip\n")]);
    let evil = zip(&[("hello.txt", b"fine\n"), ("../zip-escaped.txt", b"evil\n")]);
    let bench = Bench::start([("/site.zip", good), ("/evil.zip", evil)]).await;

    let alloc = bench.run("zipgood", "/site.zip", None, "complete").await;
    let logs = bench.logs(&alloc);
    assert!(logs.contains("hello from a zip"), "logs: {logs}");

    let alloc = bench.run("zipevil", "/evil.zip", None, "failed").await;
    let failed = download_failure(&alloc);
    assert!(failed.contains("../zip-escaped.txt"), "{failed}");
    assert!(failed.contains("escapes the destination"), "{failed}");
    assert!(!contains_file(bench.dir.path(), "zip-escaped.txt"));
}
