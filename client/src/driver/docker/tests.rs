//! The Docker driver against the machine's real engine, with the busybox test image.
//! Without an engine these tests fail when `CI=true` and are skipped otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use nomadish_proto::model::LogConfig;
use tokio::sync::mpsc;

use super::*;
use crate::driver::{ExecInput, ExecOutput, ExecSession, TaskSpec};

const IMAGE: &str = "nomadish-test/busybox:latest";

/// True when the engine is there (building the test image if needed); see the module doc.
fn engine_ready(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: the Docker engine is required in CI"
        );
        eprintln!("skipping {test}: no Docker engine");
        return false;
    }
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let present = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        let ctx = tempfile::tempdir().unwrap();
        std::fs::copy("/bin/busybox", ctx.path().join("busybox")).expect("busybox-static");
        std::fs::write(
            ctx.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        )
        .unwrap();
        let out = Command::new("docker")
            .args(["build", "-q", "-t", IMAGE])
            .arg(ctx.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    true
}

/// One test's node: a driver with its own node ID, and an alloc dir.
struct Fixture {
    driver: Arc<DockerDriver>,
    node_id: String,
    dir: tempfile::TempDir,
    alloc_id: String,
}

impl Fixture {
    /// A fixture whose driver never removes images (the test image is shared).
    fn new(config: DockerPluginConfig) -> Self {
        Self::with_gc(DockerPluginConfig {
            gc: config::GcConfig {
                image: false,
                ..config.gc
            },
            ..config
        })
    }

    fn with_gc(config: DockerPluginConfig) -> Self {
        let node_id = uuid::Uuid::new_v4().to_string();
        Self {
            driver: Arc::new(DockerDriver::new(config, &node_id)),
            node_id,
            dir: tempfile::tempdir().unwrap(),
            alloc_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    fn alloc_dir(&self) -> PathBuf {
        self.dir.path().join(&self.alloc_id)
    }

    fn spec(&self, task: &str, config: serde_json::Value) -> TaskSpec {
        let alloc_dir = self.alloc_dir();
        let task_dir = alloc_dir.join(task);
        for sub in ["alloc/logs", "alloc/data", "alloc/tmp"] {
            std::fs::create_dir_all(alloc_dir.join(sub)).unwrap();
        }
        for sub in ["local", "secrets", "tmp"] {
            std::fs::create_dir_all(task_dir.join(sub)).unwrap();
        }
        let env = BTreeMap::from([
            ("NOMAD_ALLOC_ID".to_string(), self.alloc_id.clone()),
            ("NOMAD_JOB_ID".to_string(), "job".to_string()),
            ("NOMAD_NAMESPACE".to_string(), "default".to_string()),
            ("NOMAD_TASK_NAME".to_string(), task.to_string()),
            ("NOMAD_MEMORY_LIMIT".to_string(), "32".to_string()),
            ("NOMAD_CPU_LIMIT".to_string(), "100".to_string()),
        ]);
        TaskSpec {
            driver: "docker".into(),
            task_name: task.into(),
            user: String::new(),
            config: serde_json::from_value(config).unwrap(),
            env,
            task_dir,
            log_dir: alloc_dir.join("alloc/logs"),
            log_config: LogConfig::default(),
            host_mounts: Vec::new(),
        }
    }

    fn log(&self, task: &str) -> String {
        let path = self.alloc_dir().join(format!("alloc/logs/{task}.stdout.0"));
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker ps -aq --filter label={}={} | xargs -r docker rm -f -v",
                container::LABEL_NODE_ID,
                self.node_id
            ))
            .output();
    }
}

fn sh(script: &str) -> serde_json::Value {
    serde_json::json!({"image": IMAGE, "command": "sh", "args": ["-c", script]})
}

async fn wait_for_log(f: &Fixture, task: &str, needle: &str) -> String {
    for _ in 0..200 {
        let log = f.log(task);
        if log.contains(needle) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{needle:?} never appeared in the log: {:?}", f.log(task));
}

#[tokio::test]
async fn hardened_container_runs_and_its_output_reaches_the_logs() {
    if !engine_ready("hardened_container_runs") {
        return;
    }
    let f = Fixture::new(DockerPluginConfig::default());
    let script = "id -u; id -g; touch /x 2>/dev/null && echo ROOT-WRITABLE || echo root-readonly; \
                  touch /tmp/ok && echo tmp-writable; echo hi > /local/f && echo local-writable; \
                  chown 0 /local/f 2>/dev/null && echo CHOWNED || echo chown-refused; \
                  echo $NOMAD_TASK_DIR; sleep 30";
    let spec = f.spec("web", sh(script));
    let mut handle = f.driver.start(&spec).await.unwrap();
    let log = wait_for_log(&f, "web", "/local\n").await;
    assert_eq!(
        log,
        "65534\n65534\nroot-readonly\ntmp-writable\nlocal-writable\nchown-refused\n/local\n"
    );
    let docker = f.driver.client().await.unwrap();
    let info = docker
        .inspect_container(handle.container_id(), None)
        .await
        .unwrap();
    assert_eq!(
        info.name.as_deref(),
        Some(format!("/web-{}", f.alloc_id).as_str())
    );
    let hc = info.host_config.unwrap();
    assert_eq!(hc.cap_drop.unwrap(), ["ALL"]);
    assert_eq!(hc.readonly_rootfs, Some(true));
    assert_eq!(hc.security_opt.unwrap(), ["no-new-privileges"]);
    assert_eq!(hc.pids_limit, Some(1024));
    assert_eq!(hc.memory, Some(32 * 1024 * 1024));
    assert_eq!(hc.memory_swap, Some(32 * 1024 * 1024));
    assert_eq!(hc.init, Some(true));
    assert_eq!(hc.privileged, Some(false));
    assert_eq!(info.config.unwrap().user.as_deref(), Some("65534:65534"));
    let id = handle.container_id().to_string();
    let exit = handle.stop(Signal::SIGTERM, Duration::from_secs(5)).await;
    assert_eq!(exit.code, 143, "sleep killed by SIGTERM via init: {exit:?}");
    assert_eq!(exit.signal, 15);
    // The container is removed once the task is done.
    assert!(docker.inspect_container(&id, None).await.is_err());
}

#[tokio::test]
async fn exit_codes_and_kill_timeout_escalation() {
    if !engine_ready("exit_codes") {
        return;
    }
    let f = Fixture::new(DockerPluginConfig::default());
    let mut handle = f
        .driver
        .start(&f.spec("exits", sh("exit 3")))
        .await
        .unwrap();
    let exit = handle.wait().await;
    assert_eq!((exit.code, exit.signal), (3, 0));
    assert!(!handle.oom_killed());

    let stubborn = sh("trap 'echo ignoring-term' TERM; echo ready; while true; do sleep 0.1; done");
    let mut handle = f.driver.start(&f.spec("stubborn", stubborn)).await.unwrap();
    wait_for_log(&f, "stubborn", "ready").await;
    let started = std::time::Instant::now();
    let exit = handle.stop(Signal::SIGTERM, Duration::from_secs(1)).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        (exit.code, exit.signal),
        (137, 9),
        "SIGKILL after the kill timeout"
    );
    wait_for_log(&f, "stubborn", "ignoring-term").await;
}

#[tokio::test]
async fn exec_and_signal_reach_the_container() {
    if !engine_ready("exec_and_signal") {
        return;
    }
    let f = Fixture::new(DockerPluginConfig::default());
    let script = "trap 'echo got-usr1' USR1; echo ready; while true; do sleep 0.1; done";
    let mut handle = f.driver.start(&f.spec("ex", sh(script))).await.unwrap();
    wait_for_log(&f, "ex", "ready").await;
    let control = handle.control();

    let (in_tx, in_rx) = mpsc::channel(8);
    let (out_tx, mut out_rx) = mpsc::channel(64);
    let session = ExecSession {
        command: vec![
            "sh".into(),
            "-c".into(),
            "read line; echo got:$line; id -u; exit 7".into(),
        ],
        tty: false,
        input: in_rx,
        output: out_tx,
    };
    let exec = tokio::spawn({
        let control = control.clone();
        async move { control.exec(session).await }
    });
    in_tx
        .send(ExecInput::Stdin(b"hello\n".to_vec()))
        .await
        .unwrap();
    in_tx.send(ExecInput::CloseStdin).await.unwrap();
    let exit = exec.await.unwrap().unwrap();
    let mut stdout = Vec::new();
    while let Ok(out) = out_rx.try_recv() {
        if let ExecOutput::Stdout(b) = out {
            stdout.extend(b);
        }
    }
    assert_eq!(String::from_utf8_lossy(&stdout), "got:hello\n65534\n");
    assert_eq!(exit.code, 7);

    // A TTY session merges the streams.
    let (_in_tx, in_rx) = mpsc::channel(8);
    let (out_tx, mut out_rx) = mpsc::channel(64);
    let session = ExecSession {
        command: vec!["sh".into(), "-c".into(), "echo out; echo err >&2".into()],
        tty: true,
        input: in_rx,
        output: out_tx,
    };
    let exit = control.exec(session).await.unwrap();
    assert_eq!(exit.code, 0);
    let mut text = Vec::new();
    while let Ok(ExecOutput::Stdout(b)) = out_rx.try_recv() {
        text.extend(b);
    }
    assert_eq!(String::from_utf8_lossy(&text), "out\r\nerr\r\n");

    control.signal(Signal::SIGUSR1).await.unwrap();
    wait_for_log(&f, "ex", "got-usr1").await;
    handle.stop(Signal::SIGKILL, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn oom_kill_is_reported() {
    if !engine_ready("oom_kill") {
        return;
    }
    let f = Fixture::new(DockerPluginConfig::default());
    // 32 MB limit, swap off: holding 200 MB in a shell variable cannot fit.
    let script = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived";
    let mut handle = f.driver.start(&f.spec("oom", sh(script))).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(60), handle.wait())
        .await
        .expect("oom task ends");
    assert!(handle.oom_killed(), "exit {exit:?}, log {:?}", f.log("oom"));
    assert!(!exit.success());
}

#[tokio::test]
async fn a_new_driver_reattaches_and_orphans_are_removed() {
    if !engine_ready("reattach") {
        return;
    }
    let f = Fixture::new(DockerPluginConfig::default());
    let spec = f.spec("long", sh("echo first; sleep 60"));
    let handle = f.driver.start(&spec).await.unwrap();
    let id = handle.container_id().to_string();
    wait_for_log(&f, "long", "first").await;
    drop(handle); // the client "crashes": nothing stops the container

    let restarted = Arc::new(DockerDriver::new(f.driver.config().clone(), &f.node_id));
    let mut again = restarted.start(&spec).await.unwrap();
    assert!(again.reattached());
    assert_eq!(again.container_id(), id);
    let docker = restarted.client().await.unwrap();
    let filters = HashMap::from([(
        "label",
        vec![format!("{}={}", container::LABEL_NODE_ID, f.node_id)],
    )]);
    let all = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "no duplicate container");
    // The log is not copied twice.
    assert_eq!(f.log("long"), "first\n");
    let exit = again.stop(Signal::SIGTERM, Duration::from_secs(5)).await;
    assert_eq!(exit.code, 143);

    // A container of an allocation the client no longer runs is removed at startup.
    let orphan_spec = f.spec("orphan", sh("sleep 60"));
    let orphan = f.driver.start(&orphan_spec).await.unwrap();
    let orphan_id = orphan.container_id().to_string();
    drop(orphan);
    let fresh = Arc::new(DockerDriver::new(f.driver.config().clone(), &f.node_id));
    assert_eq!(fresh.remove_orphans(&BTreeSet::new()).await, 1);
    assert!(docker.inspect_container(&orphan_id, None).await.is_err());
}

#[tokio::test]
async fn missing_image_that_cannot_be_pulled_is_a_clear_error() {
    if !engine_ready("missing_image") {
        return;
    }
    let f = Fixture::new(DockerPluginConfig {
        pull_timeout: Duration::from_secs(20),
        ..DockerPluginConfig::default()
    });
    let spec = f.spec(
        "nope",
        serde_json::json!({"image": "127.0.0.1:9/nomadish/absent:1"}),
    );
    let err = f.driver.start(&spec).await.unwrap_err().to_string();
    assert!(
        err.contains("not found and cannot be pulled") && err.contains("absent"),
        "{err}"
    );
    // Refusals happen before the engine is asked anything.
    let mut refused = f.spec("priv", sh("true"));
    refused
        .config
        .insert("privileged".into(), serde_json::Value::Bool(true));
    let err = f.driver.start(&refused).await.unwrap_err();
    assert!(!err.is_recoverable());
    assert!(err.to_string().contains("allow_privileged = true"), "{err}");
}

#[tokio::test]
async fn the_engine_is_fingerprinted() {
    if !engine_ready("fingerprint") {
        return;
    }
    let f = Fixture::new(DockerPluginConfig::default());
    let version = f.driver.fingerprint().await.expect("engine version");
    assert!(!version.is_empty());
    let absent = DockerDriver::new(
        DockerPluginConfig {
            endpoint: "unix:///nonexistent/docker.sock".into(),
            ..DockerPluginConfig::default()
        },
        "n",
    );
    assert_eq!(absent.fingerprint().await, None);
    let _ = Path::new("/");
}

#[tokio::test]
async fn health_follows_the_engine() {
    // An engine that stops answering: the node loses driver.docker and the driver is unhealthy.
    let driver = Arc::new(DockerDriver::new(
        DockerPluginConfig {
            endpoint: "unix:///nonexistent/docker.sock".into(),
            ..DockerPluginConfig::default()
        },
        "n",
    ));
    let mut node = nomadish_proto::model::Node::default();
    crate::fingerprint::add_docker(&mut node, "20.10.24");
    let (tx, mut rx) = tokio::sync::watch::channel(node);
    let stop = crate::shutdown::StopSource::new();
    let health = driver.spawn_health_every(Duration::from_millis(50), tx, stop.subscribe());
    tokio::time::timeout(Duration::from_secs(10), rx.changed())
        .await
        .expect("the node changes")
        .unwrap();
    let node = rx.borrow().clone();
    assert!(!node.attributes.contains_key("driver.docker"));
    assert!(!node.drivers[DOCKER].healthy);
    stop.stop();
    health.await.unwrap();
}

#[tokio::test]
async fn unused_images_are_removed_after_image_delay() {
    if !engine_ready("image_gc") {
        return;
    }
    // A tag of its own, so removing it never touches the shared test image.
    let tag = format!("nomadish-test/busybox:gc-{}", uuid::Uuid::new_v4().simple());
    let tagged = Command::new("docker")
        .args(["tag", IMAGE, &tag])
        .status()
        .unwrap();
    assert!(tagged.success());
    let f = Fixture::with_gc(DockerPluginConfig {
        gc: config::GcConfig {
            image: true,
            image_delay: Duration::from_millis(200),
            container: true,
        },
        ..DockerPluginConfig::default()
    });
    let spec = f.spec("gc", serde_json::json!({"image": tag, "command": "true"}));
    let mut handle = f.driver.start(&spec).await.unwrap();
    assert!(handle.wait().await.success());
    let exists = |image: &str| {
        Command::new("docker")
            .args(["image", "inspect", image])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    for _ in 0..100 {
        if !exists(&tag) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!exists(&tag), "the unused image was not collected");
    assert!(exists(IMAGE), "only the task's image is removed");
}
