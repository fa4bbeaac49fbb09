//! Tests of the raw_exec driver against real processes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use nomadish_proto::model::LogConfig;

use super::*;
use crate::driver::{DriverContext, TaskHandle, TaskSpec};

const TEST_TIMEOUT: Duration = Duration::from_secs(20);

fn spec(dir: &Path, script: &str) -> TaskSpec {
    let task_dir = dir.join("task");
    let log_dir = dir.join("logs");
    std::fs::create_dir_all(&task_dir).unwrap();
    std::fs::create_dir_all(&log_dir).unwrap();
    TaskSpec {
        driver: "raw_exec".into(),
        task_name: "t".into(),
        user: String::new(),
        config: BTreeMap::from([
            ("command".into(), serde_json::json!("/bin/sh")),
            ("args".into(), serde_json::json!(["-c", script])),
        ]),
        env: BTreeMap::from([("GREETING".into(), "hello".into())]),
        task_dir,
        log_dir,
        log_config: LogConfig::default(),
        host_mounts: Vec::new(),
    }
}

/// Whether every process of the group has died within a few seconds. SIGKILL is delivered
/// asynchronously: a killed process can still show as running for a moment after the pipes it
/// held were closed, so an immediate check would race with the kernel.
async fn group_dies(pgid: i32) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if crate::procfs::live_group_members(pgid).is_empty() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn start(spec: &TaskSpec) -> TaskHandle {
    crate::driver::start(
        &DriverContext {
            raw_exec_enabled: true,
            ..DriverContext::default()
        },
        spec,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn runs_in_the_task_dir_with_env_and_captures_output() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "echo $GREETING; pwd; echo oops >&2; exit 3");
    let mut h = start(&spec).await;
    let exit = tokio::time::timeout(TEST_TIMEOUT, h.wait()).await.unwrap();
    assert_eq!(exit, ExitResult { code: 3, signal: 0 });
    let out = std::fs::read_to_string(spec.log_dir.join("t.stdout.0")).unwrap();
    let task_dir = spec.task_dir.canonicalize().unwrap();
    assert_eq!(out, format!("hello\n{}\n", task_dir.display()));
    let err = std::fs::read_to_string(spec.log_dir.join("t.stderr.0")).unwrap();
    assert_eq!(err, "oops\n");
}

#[tokio::test]
async fn stop_escalates_to_sigkill_when_the_signal_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "trap '' INT; echo ready; while true; do sleep 0.05; done",
    );
    let mut h = start(&spec).await;
    wait_for_file_content(&spec.log_dir.join("t.stdout.0"), "ready").await;
    let pgid = h.pgid();
    let started = tokio::time::Instant::now();
    let exit = tokio::time::timeout(
        TEST_TIMEOUT,
        h.stop(Signal::SIGINT, Duration::from_millis(300)),
    )
    .await
    .unwrap();
    assert_eq!(
        exit,
        ExitResult {
            code: 128 + 9,
            signal: 9
        }
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        group_dies(pgid).await,
        "group {pgid} survived: {:?}",
        crate::procfs::live_group_members(pgid)
    );
}

#[tokio::test]
async fn stop_with_a_handled_signal_is_quick() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        dir.path(),
        "trap 'exit 0' TERM; echo ready; while true; do sleep 0.05; done",
    );
    let mut h = start(&spec).await;
    wait_for_file_content(&spec.log_dir.join("t.stdout.0"), "ready").await;
    let exit = tokio::time::timeout(
        TEST_TIMEOUT,
        h.stop(Signal::SIGTERM, Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert_eq!(exit, ExitResult { code: 0, signal: 0 });
}

#[tokio::test]
async fn leftovers_in_the_group_are_killed_when_the_main_process_exits() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "sleep 30 & echo started");
    let mut h = start(&spec).await;
    let pgid = h.pgid();
    let exit = tokio::time::timeout(TEST_TIMEOUT, h.wait()).await.unwrap();
    assert!(exit.success());
    assert!(
        group_dies(pgid).await,
        "group {pgid} survived: {:?}",
        crate::procfs::live_group_members(pgid)
    );
}

#[tokio::test]
async fn a_missing_command_is_a_recoverable_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(dir.path(), "");
    s.config
        .insert("command".into(), serde_json::json!("/nonexistent/bin"));
    let err = crate::driver::start(
        &DriverContext {
            raw_exec_enabled: true,
            ..DriverContext::default()
        },
        &s,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, crate::error::DriverError::Spawn { .. }) && err.is_recoverable());
}

#[test]
fn config_requires_a_command_and_string_args() {
    let cfg = |v: serde_json::Value| {
        let map: BTreeMap<String, serde_json::Value> = serde_json::from_value(v).unwrap();
        RawExecConfig::parse(&map)
    };
    assert!(cfg(serde_json::json!({})).is_err());
    assert!(cfg(serde_json::json!({"command": "x", "args": "a b"})).is_err());
    assert!(cfg(serde_json::json!({"command": "x", "args": [{"a": 1}]})).is_err());
    let ok = cfg(serde_json::json!({"command": "x", "args": ["a", 2]})).unwrap();
    assert_eq!(ok.args, ["a", "2"]);
}

async fn wait_for_file_content(path: &Path, needle: &str) {
    tokio::time::timeout(TEST_TIMEOUT, async {
        loop {
            if std::fs::read_to_string(path).is_ok_and(|s| s.contains(needle)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("task output appears");
}
