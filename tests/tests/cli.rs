//! The CLI's read commands, `-json`, `-output` and `-check-index` against a real dev agent.

use std::path::PathBuf;
use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, wait_until, write_file};
use serde_json::Value;

fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

fn ok(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {text}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).expect("-json prints JSON")
}

const JOB_V0: &str = r#"
job "cas" {
  type = "service"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo v0; sleep 300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

#[tokio::test]
async fn read_commands_json_output_and_check_index() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let hello = repo_path("examples/hello.hcl");
    let hello = hello.to_str().expect("utf-8");

    // -output prints the JSON job and submits nothing.
    let printed = json(&cli(&agent, &["job", "run", "-output", hello]));
    assert_eq!(printed["Job"]["ID"], "hello");
    assert_eq!(printed["Job"]["Priority"], 50);
    assert_eq!(agent.api().get_ok("/v1/jobs").await, Value::Array(vec![]));

    let text = ok(&cli(&agent, &["job", "run", hello]));
    assert!(text.contains("Allocation \""), "{text}");
    let api = agent.api();
    let alloc = wait_until("hello complete", Duration::from_secs(30), async || {
        let allocs = api.get_ok("/v1/job/hello/allocations").await;
        allocs
            .as_array()
            .and_then(|a| a.iter().find(|x| x["ClientStatus"] == "complete").cloned())
    })
    .await;
    let alloc_id = alloc["ID"].as_str().expect("id").to_string();
    let eval_id = alloc["EvalID"].as_str().expect("eval").to_string();
    let node_id = alloc["NodeID"].as_str().expect("node").to_string();

    let status = ok(&cli(&agent, &["status"]));
    assert!(
        status.contains("hello") && status.contains("batch"),
        "{status}"
    );
    let job_status = ok(&cli(&agent, &["job", "status", "hello"]));
    for needle in ["ID", "Summary", "Task Group", "Allocations", &alloc_id[..8]] {
        assert!(
            job_status.contains(needle),
            "{needle} missing in:\n{job_status}"
        );
    }
    let inspect = json(&cli(&agent, &["job", "inspect", "hello"]));
    assert_eq!(inspect["Job"]["ID"], "hello");

    let alloc_status = ok(&cli(&agent, &["alloc", "status", &alloc_id[..8]]));
    assert!(alloc_status.contains("Recent Events"), "{alloc_status}");
    assert!(alloc_status.contains("Terminated"), "{alloc_status}");
    assert_eq!(
        json(&cli(&agent, &["alloc", "status", "-json", &alloc_id]))["ID"],
        alloc_id.as_str()
    );

    let eval_status = ok(&cli(&agent, &["eval", "status", &eval_id[..8]]));
    assert!(eval_status.contains("complete"), "{eval_status}");
    assert_eq!(
        json(&cli(&agent, &["eval", "status", "-json", &eval_id]))["ID"],
        eval_id.as_str()
    );

    let nodes = ok(&cli(&agent, &["node", "status"]));
    assert!(
        nodes.contains(&node_id[..8]) && nodes.contains("ready"),
        "{nodes}"
    );
    let node = json(&cli(&agent, &["node", "status", "-json", &node_id]));
    assert_eq!(node["ID"], node_id.as_str());
    assert_eq!(node["SecretID"], "", "the node secret is never shown");

    let members = ok(&cli(&agent, &["server", "members"]));
    assert!(
        members.contains("alive") && members.contains("true"),
        "{members}"
    );

    // -check-index: 0 means "only if new"; a stale index is refused and changes nothing.
    let spec = write_file(dir.path(), "cas.hcl", JOB_V0);
    let spec = spec.to_str().expect("utf-8");
    ok(&cli(
        &agent,
        &["job", "run", "-detach", "-check-index", "0", spec],
    ));
    let job = api.get_ok("/v1/job/cas").await;
    let index = job["JobModifyIndex"].as_u64().expect("index");
    let stale = cli(
        &agent,
        &["job", "run", "-detach", "-check-index", "0", spec],
    );
    assert_eq!(stale.status.code(), Some(1), "stale -check-index must fail");
    let changed = write_file(
        dir.path(),
        "cas2.hcl",
        &JOB_V0.replace("echo v0", "echo v1"),
    );
    let changed = changed.to_str().expect("utf-8");
    ok(&cli(
        &agent,
        &[
            "job",
            "run",
            "-detach",
            "-check-index",
            &index.to_string(),
            changed,
        ],
    ));
    let job = api.get_ok("/v1/job/cas").await;
    assert_eq!(job["Version"], 1, "a changed spec is a new version");
    let versions = api.get_ok("/v1/job/cas/versions").await;
    assert_eq!(versions["Versions"].as_array().map(Vec::len), Some(2));
    assert!(versions["Diffs"].is_null(), "diffs only when asked");
    // `?diffs=true`: version 1 against version 0, the changed argument an edit.
    let versions = api.get_ok("/v1/job/cas/versions?diffs=true").await;
    let diffs = versions["Diffs"].as_array().expect("diffs");
    assert_eq!(diffs.len(), 1, "{versions}");
    assert_eq!(diffs[0]["Type"], "Edited", "{}", diffs[0]);
    assert!(diffs[0].to_string().contains("echo v1"), "{}", diffs[0]);
}
