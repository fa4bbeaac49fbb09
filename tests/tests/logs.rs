//! Logs and the allocation filesystem (issue 5, scenario 24): real agent processes, real
//! raw_exec tasks, driven through the HTTP API and the CLI.

use std::time::Duration;

use nomadish_tests::streams::{Collected, contiguous_data, frame_data, read_frames};
use nomadish_tests::{Agent, AgentKind, Cluster, cli, wait_until, write_file};
use reqwest::StatusCode;
use serde_json::Value;

const SCHEDULE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the rotation test may take to see every line.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(60);

fn job(name: &str, script: &str, logs: &str) -> String {
    format!(
        r#"job "{name}" {{
  type        = "batch"
  datacenters = ["*"]
  group "g" {{
    task "t" {{
      driver = "raw_exec"
      config {{
        command = "/bin/sh"
        args    = ["-c", "{script}"]
      }}
      {logs}
      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}
"#
    )
}

/// Runs the job and returns the ID of its allocation once its task is running.
async fn run_job(agent: &Agent, dir: &std::path::Path, name: &str, spec: &str) -> String {
    let file = write_file(dir, &format!("{name}.hcl"), spec);
    let out = cli(
        agent,
        &["job", "run", "-detach", file.to_str().expect("utf-8")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "job run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api = agent.api();
    let path = format!("/v1/job/{name}/allocations");
    wait_until(
        &format!("{name}'s task running"),
        SCHEDULE_TIMEOUT,
        async || {
            let (_, _, allocs) = api.get(&path).await;
            allocs.as_array()?.iter().find_map(|a| {
                (a["TaskStates"]["t"]["State"] == "running")
                    .then(|| a["ID"].as_str().unwrap_or_default().to_string())
            })
        },
    )
    .await
}

/// `seq 1 n` as text.
fn seq(n: u32) -> String {
    (1..=n).map(|i| format!("{i}\n")).collect()
}

#[tokio::test]
async fn follow_keeps_every_byte_across_rotations() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    // Four bursts of 100,000 lines (~2.7 MB) into 1 MB files: at least two rotations,
    // each while the followers below are at the end of the current file.
    let script = "sleep 3; seq 1 100000; sleep 1; seq 100001 200000; sleep 1; \
                  seq 200001 300000; sleep 1; seq 300001 400000; sleep 30";
    let logs = "logs {\n        max_files     = 10\n        max_file_size = 1\n      }";
    let alloc = run_job(&agent, dir.path(), "rot", &job("rot", script, logs)).await;
    let expected = seq(400_000);

    let follower = Collected::spawn(&agent, &["alloc", "logs", "-f", &alloc[..8]]);
    let url = format!(
        "{}/v1/client/fs/logs/{alloc}?task=t&type=stdout&follow=true",
        agent.http
    );
    let want = expected.len();
    let frames = read_frames(&url, FOLLOW_TIMEOUT, |frames| {
        let got: usize = frames.iter().map(|f| frame_data(f).len()).sum();
        got >= want
    })
    .await;
    let framed = contiguous_data(&frames);
    assert_eq!(framed.len(), expected.len(), "framed stream length");
    assert!(framed == expected.as_bytes(), "framed stream content");
    let files: std::collections::BTreeSet<&str> =
        frames.iter().filter_map(|f| f["File"].as_str()).collect();
    assert!(files.len() >= 3, "read across rotations: {files:?}");

    wait_until("the CLI to print every line", FOLLOW_TIMEOUT, async || {
        (follower.text().len() >= want).then_some(())
    })
    .await;
    let printed = follower.text();
    assert_eq!(printed.len(), expected.len(), "CLI output length");
    assert!(printed == expected, "CLI output differs from seq 1 400000");

    let (code, _, listing) = agent
        .api()
        .get(&format!("/v1/client/fs/ls/{alloc}?path=alloc/logs"))
        .await;
    assert_eq!(code, StatusCode::OK, "{listing}");
    let names: Vec<&str> = listing
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["Name"].as_str())
        .collect();
    for n in ["t.stdout.0", "t.stdout.1", "t.stdout.2"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
}

#[tokio::test]
async fn log_requests_are_checked_and_idle_follows_heartbeat() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let alloc = run_job(
        &agent,
        dir.path(),
        "quiet",
        &job("quiet", "echo ready; sleep 30", ""),
    )
    .await;
    let api = agent.api();
    let base = format!("/v1/client/fs/logs/{alloc}");
    for (query, status) in [
        ("task=t&type=bogus", StatusCode::BAD_REQUEST),
        ("task=t", StatusCode::BAD_REQUEST),
        ("type=stdout", StatusCode::BAD_REQUEST),
        ("task=t&type=stdout&origin=middle", StatusCode::BAD_REQUEST),
        ("task=t&type=stdout&offset=x", StatusCode::BAD_REQUEST),
        ("task=nope&type=stdout", StatusCode::NOT_FOUND),
        ("task=../../etc&type=stdout", StatusCode::NOT_FOUND),
    ] {
        let (code, body) = api.get_text(&format!("{base}?{query}")).await;
        assert_eq!(code, status, "{query}: {body}");
    }
    let (code, _) = api
        .get_text("/v1/client/fs/logs/00000000-0000-0000-0000-000000000000?task=t&type=stdout")
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "unknown allocation");

    let (code, text) = api
        .get_text(&format!(
            "{base}?task=t&type=stdout&origin=end&offset=6&plain=true"
        ))
        .await;
    assert_eq!((code, text.as_str()), (StatusCode::OK, "ready\n"));

    let url = format!("{}{base}?task=t&type=stdout&follow=true", agent.http);
    let frames = read_frames(&url, Duration::from_secs(5), |frames| {
        frames
            .iter()
            .any(|f| f.as_object().is_some_and(|o| o.is_empty()))
    })
    .await;
    assert_eq!(frame_data(&frames[0]), b"ready\n", "{frames:?}");
    assert!(
        frames
            .iter()
            .any(|f| f.as_object().is_some_and(|o| o.is_empty())),
        "a heartbeat frame {{}} while idle: {frames:?}"
    );
}

/// The task of the filesystem tests: files, a secret, and symlinks in and out.
const FS_SCRIPT: &str = "echo hello > local/hello.txt; printf 'l1\\nl2\\nl3\\n' > local/lines.txt; \
    echo s3cret > secrets/token; ln -s /etc/passwd local/passwd; ln -s / local/root; \
    ln -s ../../alloc/logs local/logs; ln -s ../secrets/token local/token; \
    ln -s ../../../.. local/up; echo started; sleep 30";

async fn fs_alloc(agent: &Agent, dir: &std::path::Path) -> String {
    let alloc = run_job(agent, dir, "files", &job("files", FS_SCRIPT, "")).await;
    let api = agent.api();
    let ready = format!("/v1/client/fs/stat/{alloc}?path=t/local/up");
    wait_until("the task's files", SCHEDULE_TIMEOUT, async || {
        (api.get(&ready).await.0 != StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    alloc
}

#[tokio::test]
async fn fs_endpoints_read_the_alloc_dir() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let alloc = fs_alloc(&agent, dir.path()).await;
    let api = agent.api();
    let url = |op: &str, query: &str| format!("/v1/client/fs/{op}/{alloc}?{query}");

    let root = api.get_ok(&url("ls", "")).await;
    let entries: Vec<(String, bool)> = root
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["Name"].as_str().unwrap_or_default().into(),
                e["IsDir"] == true,
            )
        })
        .collect();
    assert_eq!(entries, [("alloc".into(), true), ("t".into(), true)]);
    let local = api.get_ok(&url("ls", "path=t/local")).await;
    let passwd = local
        .as_array()
        .expect("array")
        .iter()
        .find(|e| e["Name"] == "passwd")
        .expect("the link is listed");
    assert!(
        passwd["FileMode"]
            .as_str()
            .unwrap_or_default()
            .starts_with('L')
    );
    for key in ["Name", "IsDir", "Size", "FileMode", "ModTime"] {
        assert!(passwd.get(key).is_some(), "{key} in {passwd}");
    }

    let stat = api.get_ok(&url("stat", "path=t/local/hello.txt")).await;
    assert_eq!(stat["Name"], "hello.txt");
    assert_eq!(stat["Size"], 6);
    assert_eq!(stat["IsDir"], false);
    assert_eq!(stat["ContentType"], "text/plain; charset=utf-8");
    assert_eq!(stat["FileMode"], "-rw-r--r--");

    let text = |q: String| {
        let api = api.clone();
        async move { api.get_text(&q).await }
    };
    let ok = |r: (StatusCode, String)| {
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        r.1
    };
    assert_eq!(
        ok(text(url("cat", "path=t/local/hello.txt")).await),
        "hello\n"
    );
    assert_eq!(
        ok(text(url("readat", "path=t/local/lines.txt&offset=3&limit=2")).await),
        "l2"
    );
    assert_eq!(
        ok(text(url("readat", "path=t/local/lines.txt&offset=6")).await),
        "l3\n"
    );
    assert_eq!(
        ok(text(url(
            "stream",
            "path=t/local/lines.txt&origin=end&offset=3&follow=false&plain=true"
        ))
        .await),
        "l3\n"
    );
    let framed = ok(text(url("stream", "path=t/local/lines.txt&follow=false")).await);
    let frame: Value = serde_json::from_str(&framed).expect("one frame");
    assert_eq!(frame_data(&frame), b"l1\nl2\nl3\n");
    assert_eq!(frame["File"], "t/local/lines.txt");
    // A symlink that stays inside the allocation directory is followed.
    let logs = ok(text(url("cat", "path=t/local/logs/t.stdout.0")).await);
    assert_eq!(logs, "started\n");

    for (q, status) in [
        (url("stat", ""), StatusCode::BAD_REQUEST),
        (url("cat", ""), StatusCode::BAD_REQUEST),
        (
            url("readat", "path=t/local/lines.txt"),
            StatusCode::BAD_REQUEST,
        ),
        (url("cat", "path=t/local"), StatusCode::BAD_REQUEST),
        (
            url("stream", "path=t/local/lines.txt&origin=middle"),
            StatusCode::BAD_REQUEST,
        ),
        (url("cat", "path=t/local/missing"), StatusCode::NOT_FOUND),
        (
            "/v1/client/fs/ls/00000000-0000-0000-0000-000000000000".to_string(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (code, body) = api.get_text(&q).await;
        assert_eq!(code, status, "{q}: {body}");
    }
}

/// Scenario 24 of RELIABILITY.md, file-system half (the Docker half is in `docker.rs`).
#[tokio::test]
async fn scenario_24_fs_and_log_endpoints_refuse_to_leave_the_alloc_dir() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let alloc = fs_alloc(&agent, dir.path()).await;
    let api = agent.api();
    let escaping = [
        "t/local/passwd",
        "t/local/root",
        "t/local/root/etc/passwd",
        "t/local/up",
        "t/local/up/etc/passwd",
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "t%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
    ];
    for path in escaping {
        for op in ["ls", "stat", "cat", "readat", "stream"] {
            let q = format!("/v1/client/fs/{op}/{alloc}?path={path}&offset=0&follow=false");
            let (code, body) = api.get_text(&q).await;
            assert_eq!(code, StatusCode::BAD_REQUEST, "{q}: {body}");
            assert!(!body.contains("root:"), "{q} leaked: {body}");
            assert!(!body.is_empty(), "{q}: a message says why");
        }
    }
    // The log endpoint names a task and a stream, never a path: neither may climb out.
    for query in [
        "task=..%2F..%2F..%2F..%2Fetc&type=passwd",
        "task=t&type=..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "task=%2Fetc&type=passwd",
        "task=t%2F..%2F..&type=stdout",
    ] {
        let q = format!("/v1/client/fs/logs/{alloc}?{query}&plain=true");
        let (code, body) = api.get_text(&q).await;
        assert!(code.is_client_error(), "{q}: {code} {body}");
        assert!(!body.contains("root:"), "{q} leaked: {body}");
    }
    // Secrets are listed but never read, directly or through a link.
    let (code, body) = api
        .get_text(&format!("/v1/client/fs/ls/{alloc}?path=t/secrets"))
        .await;
    assert!(
        code == StatusCode::OK && body.contains("token"),
        "{code}: {body}"
    );
    for path in ["t/secrets/token", "t/local/token"] {
        for op in ["cat", "readat", "stream"] {
            let q = format!("/v1/client/fs/{op}/{alloc}?path={path}&offset=0&follow=false");
            let (code, body) = api.get_text(&q).await;
            assert_eq!(code, StatusCode::FORBIDDEN, "{q}: {body}");
            assert!(!body.contains("s3cret"), "{q} leaked: {body}");
        }
    }
}

#[tokio::test]
async fn alloc_fs_cli_lists_prints_and_tails() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let alloc = fs_alloc(&agent, dir.path()).await;
    let short = &alloc[..8];
    let run = |args: &[&str]| {
        let out = cli(&agent, args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, listing, err) = run(&["alloc", "fs", short]);
    assert_eq!(code, Some(0), "{err}");
    assert!(listing.starts_with("Mode"), "{listing}");
    assert!(
        listing.contains("alloc/") && listing.contains("t/"),
        "{listing}"
    );
    let (_, file, _) = run(&["alloc", "fs", short, "t/local/hello.txt"]);
    assert_eq!(file, "hello\n");
    let (_, file, _) = run(&["alloc", "fs", short, "/t/local/hello.txt"]);
    assert_eq!(file, "hello\n", "a leading / is the allocation directory");
    let (_, stat, _) = run(&["alloc", "fs", "-stat", short, "t/local/hello.txt"]);
    assert!(
        stat.contains("Content Type") && stat.contains("text/plain"),
        "{stat}"
    );
    assert!(stat.contains("hello.txt") && stat.contains("6 B"), "{stat}");
    let (_, tail, _) = run(&[
        "alloc",
        "fs",
        "-tail",
        "-n",
        "1",
        short,
        "t/local/lines.txt",
    ]);
    assert_eq!(tail, "l3\n");
    let (_, tail, _) = run(&[
        "alloc",
        "fs",
        "-tail",
        "-c",
        "5",
        short,
        "t/local/lines.txt",
    ]);
    assert_eq!(tail, "2\nl3\n");
    let (code, out, err) = run(&["alloc", "fs", short, "t/local/passwd"]);
    assert_eq!(code, Some(1));
    assert!(!out.contains("root:"), "{out}");
    assert!(err.contains("outside the allocation directory"), "{err}");
    let (code, _, err) = run(&["alloc", "fs", short, "../../etc/passwd"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("\"..\""), "{err}");
}

#[tokio::test]
async fn fs_and_logs_are_forwarded_to_the_server_holding_the_tunnel() {
    let dir = nomadish_tests::test_dir();
    let cluster = Cluster::start(dir.path(), 3, "", None).await;
    cluster.wait_leader().await;
    // The client dials the first server of its list: ask the others.
    let servers: Vec<String> = cluster.servers.iter().map(|s| s.rpc.clone()).collect();
    let _client = Agent::start(dir.path(), "c1", AgentKind::Client(servers), "").await;
    let entry = &cluster.servers[2];
    let api = entry.api();
    wait_until("the client's node ready", SCHEDULE_TIMEOUT, async || {
        let nodes = api.get_ok("/v1/nodes").await;
        (nodes.as_array().map(Vec::len) == Some(1) && nodes[0]["Status"] == "ready").then_some(())
    })
    .await;
    let alloc = fs_alloc(entry, dir.path()).await;
    for server in &cluster.servers[1..] {
        let api = server.api();
        let (code, text) = api
            .get_text(&format!("/v1/client/fs/cat/{alloc}?path=t/local/hello.txt"))
            .await;
        assert_eq!(
            (code, text.as_str()),
            (StatusCode::OK, "hello\n"),
            "{}",
            server.name
        );
        let (code, text) = api
            .get_text(&format!(
                "/v1/client/fs/logs/{alloc}?task=t&type=stdout&plain=true"
            ))
            .await;
        assert_eq!((code, text.as_str()), (StatusCode::OK, "started\n"));
        let (code, body) = api
            .get_text(&format!("/v1/client/fs/cat/{alloc}?path=t/local/passwd"))
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    }
}
