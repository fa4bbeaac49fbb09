//! Issue 6's artifact acceptance: a real agent fetches task artifacts from an HTTP server
//! on loopback started by the test; a good tar.gz is unpacked and read by the task, a wrong
//! checksum and a tar with a `../` entry fail the task with a clear event.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, wait_until, write_file};
use serde_json::Value;
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TIMEOUT: Duration = Duration::from_secs(60);

/// Serves `files` (path -> body) over HTTP/1.0 on 127.0.0.1; 404 for anything else.
async fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let files = Arc::new(files);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let files = files.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut len = 0;
                while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
                    match sock.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => len += n,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..len]).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, body) = match files.get(&path) {
                    Some(b) => ("200 OK", b.clone()),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let header = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(header.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

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

fn run(agent: &Agent, dir: &std::path::Path, name: &str, spec: &str) {
    let path = write_file(dir, &format!("{name}.hcl"), spec);
    let out = cli(
        agent,
        &["job", "run", "-detach", path.to_str().expect("utf-8")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "job run {name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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

#[tokio::test]
async fn artifacts_are_fetched_verified_and_unpacked_safely() {
    let good = tar_gz(&[("hello.txt", b"hello from an artifact\n")]);
    let evil = tar_gz(&[("hello.txt", b"fine\n"), ("../escaped.txt", b"evil\n")]);
    let (good_sum, evil_sum) = (sha256(&good), sha256(&evil));
    let base = serve(HashMap::from([
        ("/good.tar.gz".to_string(), good),
        ("/evil.tar.gz".to_string(), evil),
    ]))
    .await;

    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;

    // A good archive: unpacked into local/app and read by the task.
    run(
        &agent,
        dir.path(),
        "good",
        &job("good", &format!("{base}/good.tar.gz"), &good_sum),
    );
    let alloc = wait_alloc(&agent, "good", "complete").await;
    let kinds: Vec<String> = events(&alloc).into_iter().map(|(k, _)| k).collect();
    let downloading = kinds.iter().position(|k| k == "Downloading Artifacts");
    let started = kinds.iter().position(|k| k == "Started");
    assert!(
        downloading.is_some() && downloading < started,
        "Downloading Artifacts comes before Started: {kinds:?}"
    );
    let id = alloc["ID"].as_str().expect("alloc id");
    let out = cli(&agent, &["alloc", "logs", id, "t"]);
    let logs = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(logs.contains("hello from an artifact"), "logs: {logs}");

    // A wrong checksum: the task fails with an event naming expected and actual digests.
    let wrong = "0".repeat(64);
    run(
        &agent,
        dir.path(),
        "badsum",
        &job("badsum", &format!("{base}/good.tar.gz"), &wrong),
    );
    let alloc = wait_alloc(&agent, "badsum", "failed").await;
    let evs = events(&alloc);
    let failed = evs
        .iter()
        .find(|(k, _)| k == "Failed Artifact Download")
        .unwrap_or_else(|| panic!("no Failed Artifact Download event: {evs:?}"));
    assert!(
        failed.1.contains(&format!("expected sha256:{wrong}")),
        "{}",
        failed.1
    );
    assert!(
        failed.1.contains(&format!("got sha256:{good_sum}")),
        "{}",
        failed.1
    );
    assert!(
        !evs.iter().any(|(k, _)| k == "Started"),
        "the task never starts: {evs:?}"
    );

    // A tar with a `../` entry: refused as a whole, nothing written outside.
    run(
        &agent,
        dir.path(),
        "evil",
        &job("evil", &format!("{base}/evil.tar.gz"), &evil_sum),
    );
    let alloc = wait_alloc(&agent, "evil", "failed").await;
    let evs = events(&alloc);
    let failed = evs
        .iter()
        .find(|(k, _)| k == "Failed Artifact Download")
        .unwrap_or_else(|| panic!("no Failed Artifact Download event: {evs:?}"));
    assert!(failed.1.contains("../escaped.txt"), "{}", failed.1);
    assert!(failed.1.contains("escapes the destination"), "{}", failed.1);
    assert!(
        !contains_file(dir.path(), "escaped.txt"),
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
    let (good_sum, evil_sum) = (sha256(&good), sha256(&evil));
    let base = serve(HashMap::from([
        ("/site.zip".to_string(), good),
        ("/evil.zip".to_string(), evil),
    ]))
    .await;
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;

    run(
        &agent,
        dir.path(),
        "zipgood",
        &job("zipgood", &format!("{base}/site.zip"), &good_sum),
    );
    let alloc = wait_alloc(&agent, "zipgood", "complete").await;
    let id = alloc["ID"].as_str().expect("alloc id");
    let out = cli(&agent, &["alloc", "logs", id, "t"]);
    let logs = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(logs.contains("hello from a zip"), "logs: {logs}");

    run(
        &agent,
        dir.path(),
        "zipevil",
        &job("zipevil", &format!("{base}/evil.zip"), &evil_sum),
    );
    let alloc = wait_alloc(&agent, "zipevil", "failed").await;
    let evs = events(&alloc);
    let failed = evs
        .iter()
        .find(|(k, _)| k == "Failed Artifact Download")
        .unwrap_or_else(|| panic!("no Failed Artifact Download event: {evs:?}"));
    assert!(failed.1.contains("../zip-escaped.txt"), "{}", failed.1);
    assert!(failed.1.contains("escapes the destination"), "{}", failed.1);
    assert!(!contains_file(dir.path(), "zip-escaped.txt"));
}
