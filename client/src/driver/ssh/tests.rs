//! Tests of the SSH driver against a real OpenSSH server (see `test_sshd`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nomadish_proto::model::LogConfig;

use super::test_sshd::{Sshd, pids_matching, process_running};
use super::*;
use crate::driver::{DriverContext, TaskHandle, TaskSpec};
use crate::error::DriverError;

const TEST_TIMEOUT: Duration = Duration::from_secs(20);

fn plugin(sshd: &Sshd, extra: serde_json::Value) -> Arc<SshDriver> {
    let mut body = serde_json::json!({
        "private_key_file": sshd.client_key.display().to_string(),
        "connect_timeout": "5s",
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    Arc::new(SshDriver::new(SshPluginConfig::parse(&body).unwrap()))
}

fn spec(dir: &Path, sshd: &Sshd, command: &str, args: &[&str]) -> TaskSpec {
    let log_dir = dir.join("logs");
    std::fs::create_dir_all(&log_dir).unwrap();
    TaskSpec {
        driver: "ssh".into(),
        task_name: "t".into(),
        user: String::new(),
        config: BTreeMap::from([
            ("host".into(), serde_json::json!("127.0.0.1")),
            ("port".into(), serde_json::json!(sshd.port)),
            ("user".into(), serde_json::json!(sshd.user)),
            ("command".into(), serde_json::json!(command)),
            ("args".into(), serde_json::json!(args)),
            ("host_key".into(), serde_json::json!(sshd.host_key)),
        ]),
        env: BTreeMap::from([("GREETING".into(), "hello 'world'".into())]),
        task_dir: dir.join("task"),
        log_dir,
        log_config: LogConfig::default(),
        host_mounts: Vec::new(),
    }
}

async fn start(driver: &Arc<SshDriver>, spec: &TaskSpec) -> Result<TaskHandle, DriverError> {
    let ctx = DriverContext {
        raw_exec_enabled: false,
        ssh: Some(driver.clone()),
        ..DriverContext::default()
    };
    crate::driver::start(&ctx, spec).await
}

fn unique_sleep() -> String {
    format!(
        "{}.{}",
        5000 + rand::random::<u16>() as u32,
        std::process::id()
    )
}

async fn gone(needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !process_running(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn runs_the_command_with_env_and_logs_its_output() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let driver = plugin(&sshd, serde_json::json!({}));
    let s = spec(
        dir.path(),
        &sshd,
        "sh",
        &["-c", "echo \"$GREETING\"; echo oops >&2; exit 3"],
    );
    let mut handle = start(&driver, &s).await.expect("start");
    let exit = tokio::time::timeout(TEST_TIMEOUT, handle.wait())
        .await
        .unwrap();
    assert_eq!(exit.code, 3);
    let out = std::fs::read_to_string(s.log_dir.join("t.stdout.0")).unwrap();
    let err = std::fs::read_to_string(s.log_dir.join("t.stderr.0")).unwrap();
    assert_eq!(out, "hello 'world'\n");
    assert_eq!(err, "oops\n");
    assert!(handle.failure_reason().is_none());
}

#[tokio::test]
async fn host_keys_are_pinned() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let driver = plugin(
        &sshd,
        serde_json::json!({"known_hosts_file": known_hosts.display().to_string()}),
    );
    // By fingerprint.
    let mut s = spec(dir.path(), &sshd, "true", &[]);
    s.config
        .insert("host_key".into(), serde_json::json!(sshd.host_fingerprint));
    let mut h = start(&driver, &s).await.expect("fingerprint pin");
    assert_eq!(h.wait().await.code, 0);
    // A wrong key is refused, on a new connection and on the pooled one alike, and the
    // error shows what the server offered.
    for d in [plugin(&sshd, serde_json::json!({})), driver.clone()] {
        s.config
            .insert("host_key".into(), serde_json::json!(sshd.other_key));
        let err = start(&d, &s).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&sshd.host_fingerprint), "{msg}");
        assert!(msg.contains("does not match"), "{msg}");
        assert!(!err.is_recoverable());
    }
    // Without a pin: unknown until it is in known_hosts (in OpenSSH's [host]:port form).
    s.config.remove("host_key");
    let fresh = plugin(
        &sshd,
        serde_json::json!({"known_hosts_file": known_hosts.display().to_string()}),
    );
    let msg = start(&fresh, &s).await.unwrap_err().to_string();
    assert!(
        msg.contains("unknown host key") && msg.contains(&sshd.host_fingerprint),
        "{msg}"
    );
    std::fs::write(&known_hosts, format!("{}\n", sshd.known_hosts_line())).unwrap();
    let mut h = start(&fresh, &s).await.expect("known_hosts entry");
    assert_eq!(h.wait().await.code, 0);
    // Trust on first use records the key.
    let tofu_file = dir.path().join("tofu_known_hosts");
    let tofu = plugin(
        &sshd,
        serde_json::json!({
            "known_hosts_file": tofu_file.display().to_string(),
            "insecure_accept_new_host_keys": true,
        }),
    );
    let mut h = start(&tofu, &s).await.expect("tofu");
    assert_eq!(h.wait().await.code, 0);
    let recorded = std::fs::read_to_string(&tofu_file).unwrap();
    assert!(
        recorded.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port)),
        "{recorded}"
    );
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_connection_failures() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let driver = plugin(
        &sshd,
        serde_json::json!({"circuit_breaker_failures": 5, "circuit_breaker_cooldown": "1s"}),
    );
    let mut s = spec(dir.path(), &sshd, "true", &[]);
    s.config
        .insert("port".into(), serde_json::json!(closed_port));
    for i in 0..5 {
        let err = start(&driver, &s).await.unwrap_err();
        assert!(
            err.to_string().contains("connection to"),
            "attempt {i}: {err}"
        );
        assert!(err.is_recoverable());
    }
    let begun = Instant::now();
    let err = start(&driver, &s).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("circuit open until 20"), "{msg}");
    assert!(
        begun.elapsed() < Duration::from_millis(500),
        "{:?}",
        begun.elapsed()
    );
    // Another endpoint on the same host is not affected.
    let mut ok = spec(dir.path(), &sshd, "true", &[]);
    ok.task_name = "ok".into();
    assert_eq!(start(&driver, &ok).await.unwrap().wait().await.code, 0);
    // After the cooldown one probe is let through (and fails again: the port is closed).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = start(&driver, &s).await.unwrap_err();
    assert!(err.to_string().contains("connection to"), "{err}");
    let err = start(&driver, &s).await.unwrap_err();
    assert!(err.to_string().contains("circuit open"), "{err}");
}

#[tokio::test]
async fn tasks_share_one_pooled_connection() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let driver = plugin(&sshd, serde_json::json!({}));
    let mut a = spec(dir.path(), &sshd, "sleep", &["0.3"]);
    a.task_name = "a".into();
    let mut b = spec(dir.path(), &sshd, "echo", &["b"]);
    b.task_name = "b".into();
    let (mut ha, mut hb) = (
        start(&driver, &a).await.unwrap(),
        start(&driver, &b).await.unwrap(),
    );
    assert_eq!(hb.wait().await.code, 0);
    assert_eq!(ha.wait().await.code, 0);
    let mut hc = start(&driver, &b).await.unwrap();
    assert_eq!(hc.wait().await.code, 0);
    assert_eq!(driver.connections_dialled(), 1);
    assert_eq!(sshd.logins(), 1, "{}", sshd.log());
}

#[tokio::test]
async fn stop_kills_the_remote_process_even_if_it_ignores_the_signal() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let driver = plugin(&sshd, serde_json::json!({}));
    // A well-behaved task dies of the kill signal.
    let polite = unique_sleep();
    let s = spec(dir.path(), &sshd, "sleep", &[&polite]);
    let mut h = start(&driver, &s).await.unwrap();
    let deadline = Instant::now() + TEST_TIMEOUT;
    while !process_running(&format!("sleep {polite}")) {
        assert!(Instant::now() < deadline, "remote sleep never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let begun = Instant::now();
    let exit = h.stop(Signal::SIGTERM, Duration::from_secs(5)).await;
    assert!(
        begun.elapsed() < Duration::from_secs(3),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!((exit.code, exit.signal), (143, 15));
    assert!(gone(&format!("sleep {polite}")).await);
    // A task ignoring it (and its children) is SIGKILLed after the kill timeout.
    let stubborn = unique_sleep();
    let script = format!("trap '' INT TERM; sleep {stubborn} & wait; wait");
    let s = spec(dir.path(), &sshd, "sh", &["-c", &script]);
    let mut h = start(&driver, &s).await.unwrap();
    while !process_running(&format!("sleep {stubborn}")) {
        assert!(Instant::now() < deadline, "remote sleep never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let begun = Instant::now();
    let exit = h.stop(Signal::SIGINT, Duration::from_secs(1)).await;
    assert!(begun.elapsed() >= Duration::from_secs(1));
    assert!(!exit.success());
    assert!(
        gone(&format!("sleep {stubborn}")).await,
        "remote process survived"
    );
}

#[tokio::test]
async fn a_lost_connection_fails_the_task() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let driver = plugin(&sshd, serde_json::json!({}));
    let marker = unique_sleep();
    let s = spec(dir.path(), &sshd, "sleep", &[&marker]);
    let mut h = start(&driver, &s).await.unwrap();
    let deadline = Instant::now() + TEST_TIMEOUT;
    while !process_running(&format!("sleep {marker}")) {
        assert!(Instant::now() < deadline, "remote sleep never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sshd.drop_connections();
    let exit = tokio::time::timeout(TEST_TIMEOUT, h.wait()).await.unwrap();
    assert!(!exit.success());
    let reason = h.failure_reason().expect("a lost connection is a failure");
    assert!(
        reason.contains("lost") || reason.contains("closed"),
        "{reason}"
    );
    // The next task dials a new connection.
    let mut h = start(&driver, &spec(dir.path(), &sshd, "true", &[]))
        .await
        .unwrap();
    assert_eq!(h.wait().await.code, 0);
    assert_eq!(driver.connections_dialled(), 2);
    // The wrapper's watcher saw the channel's stdin close and killed the remote group.
    assert!(
        gone(&format!("sleep {marker}")).await,
        "remote process outlived its connection"
    );
    // Should it not have, the leftover was started by this test.
    for pid in pids_matching(&format!("sleep {marker}")) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL);
    }
}

#[tokio::test]
async fn keepalives_detect_a_server_that_stopped_answering() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let driver = plugin(
        &sshd,
        serde_json::json!({"keepalive_interval": "300ms", "keepalive_max": 2}),
    );
    let marker = unique_sleep();
    let s = spec(dir.path(), &sshd, "sleep", &[&marker]);
    let mut h = start(&driver, &s).await.unwrap();
    let deadline = Instant::now() + TEST_TIMEOUT;
    while !process_running(&format!("sleep {marker}")) {
        assert!(Instant::now() < deadline, "remote sleep never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sshd.freeze_connections(true);
    let begun = Instant::now();
    let exit = tokio::time::timeout(Duration::from_secs(10), h.wait()).await;
    sshd.freeze_connections(false);
    let exit = exit.expect("keepalives noticed the silent server");
    assert!(!exit.success());
    assert!(h.failure_reason().is_some());
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "{:?}",
        begun.elapsed()
    );
    // Thawed, the server sees the connection closed and the watcher ends the remote group.
    assert!(
        gone(&format!("sleep {marker}")).await,
        "remote process outlived its connection"
    );
}

#[tokio::test]
async fn exec_and_signal_use_the_task_connection() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let driver = plugin(&sshd, serde_json::json!({}));
    let s = spec(
        dir.path(),
        &sshd,
        "sh",
        &[
            "-c",
            "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done",
        ],
    );
    let mut h = start(&driver, &s).await.unwrap();
    let control = h.control();
    let (in_tx, in_rx) = tokio::sync::mpsc::channel(4);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel(16);
    in_tx
        .send(crate::driver::ExecInput::Stdin(b"from-stdin".to_vec()))
        .await
        .unwrap();
    drop(in_tx);
    let exit = control
        .exec(crate::driver::ExecSession {
            command: vec!["sh".into(), "-c".into(), "cat; echo; echo e >&2".into()],
            tty: false,
            input: in_rx,
            output: out_tx,
        })
        .await
        .unwrap();
    assert_eq!(exit.code, 0);
    let mut got = Vec::new();
    while let Ok(o) = out_rx.try_recv() {
        got.push(o);
    }
    assert!(got.contains(&crate::driver::ExecOutput::Stdout(b"from-stdin\n".to_vec())) || got.iter().any(|o| matches!(o, crate::driver::ExecOutput::Stdout(d) if String::from_utf8_lossy(d).contains("from-stdin"))), "{got:?}");
    assert!(
        got.contains(&crate::driver::ExecOutput::Stderr(b"e\n".to_vec())),
        "{got:?}"
    );
    // Signal only once the trap is set (a signal before it would end the shell).
    let log = s.log_dir.join("t.stdout.0");
    let deadline = Instant::now() + TEST_TIMEOUT;
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ready")
    {
        assert!(Instant::now() < deadline, "task never got ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    control.signal(Signal::SIGUSR1).await.unwrap();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("got-usr1")
    {
        assert!(Instant::now() < deadline, "signal never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.stop(Signal::SIGKILL, Duration::from_secs(1)).await;
    assert_eq!(sshd.logins(), 1);
}

#[test]
fn plugin_config_errors_name_the_option() {
    let err = SshPluginConfig::parse(&serde_json::json!({})).unwrap_err();
    assert!(err.contains("private_key_file"), "{err}");
    let err = SshPluginConfig::parse(&serde_json::json!({"private_key_file": "/k", "bogus": 1}))
        .unwrap_err();
    assert!(err.contains("bogus"), "{err}");
    let err = SshPluginConfig::parse(
        &serde_json::json!({"private_key_file": "/k", "connect_timeout": "soon"}),
    )
    .unwrap_err();
    assert!(err.contains("connect_timeout"), "{err}");
    let c = SshPluginConfig::parse(&serde_json::json!({"private_key_file": "/k"})).unwrap();
    assert_eq!(c.circuit_breaker_failures, 5);
    assert_eq!(c.connect_timeout, Duration::from_secs(10));
}

#[test]
fn task_config_errors_name_the_field() {
    let base = BTreeMap::from([
        ("host".to_string(), serde_json::json!("h")),
        ("user".to_string(), serde_json::json!("u")),
        ("command".to_string(), serde_json::json!("c")),
    ]);
    let c = SshTaskConfig::parse(&base).unwrap();
    assert_eq!((c.port, c.pty, c.host_key.is_none()), (22, false, true));
    for (field, value) in [
        ("port", serde_json::json!(70000)),
        ("host_key", serde_json::json!("not a key")),
        ("pty", serde_json::json!("yes")),
        ("hots", serde_json::json!("typo")),
    ] {
        let mut bad = base.clone();
        bad.insert(field.to_string(), value);
        let err = SshTaskConfig::parse(&bad).unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    let mut missing = base.clone();
    missing.remove("user");
    assert!(
        SshTaskConfig::parse(&missing)
            .unwrap_err()
            .to_string()
            .contains("user")
    );
}
