//! The real Docker engine for the Docker suites: availability (a missing engine fails the
//! test when `CI=true`, else skips it), the test image built `FROM scratch` with the
//! static busybox, and `docker inspect` / cleanup by label.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

/// The image the Docker tests run: busybox on an empty base, built locally (no registry).
pub const TEST_IMAGE: &str = "nomadish-test/busybox:latest";
/// Where Debian's `busybox-static` installs the binary.
pub const BUSYBOX: &str = "/bin/busybox";
/// The label every container of the Docker driver carries.
pub const LABEL_NODE_ID: &str = "com.hashicorp.nomad.node_id";
/// The label with the allocation ID.
pub const LABEL_ALLOC_ID: &str = "com.hashicorp.nomad.alloc_id";

static BUILD: Mutex<bool> = Mutex::new(false);

/// Whether the engine answers `docker version`.
pub fn docker_available() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True when the test can run. Without an engine: panics when `CI=true`, else prints why
/// the test is skipped and returns false. Builds the test image when it can run.
pub fn require_docker(test: &str) -> bool {
    if !docker_available() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{test}: the Docker engine is required in CI (docker version failed)");
        }
        eprintln!("skipping {test}: no Docker engine (docker version failed)");
        return false;
    }
    ensure_test_image();
    true
}

/// Builds [`TEST_IMAGE`] once per process when the engine does not have it.
pub fn ensure_test_image() {
    let mut built = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if *built || image_exists(TEST_IMAGE) {
        *built = true;
        return;
    }
    assert!(
        Path::new(BUSYBOX).is_file(),
        "{BUSYBOX} is missing: install busybox-static to build {TEST_IMAGE}"
    );
    let context = tempfile::tempdir().expect("build context");
    std::fs::copy(BUSYBOX, context.path().join("busybox")).expect("copy busybox");
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
    )
    .expect("Dockerfile");
    let out = Command::new("docker")
        .args(["build", "-q", "-t", TEST_IMAGE])
        .arg(context.path())
        .output()
        .expect("run docker build");
    assert!(
        out.status.success(),
        "docker build of {TEST_IMAGE} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    *built = true;
}

/// Whether the engine has `image`.
pub fn image_exists(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `docker inspect` of a container, or `Value::Null` when it does not exist.
pub fn inspect(container: &str) -> Value {
    let out = Command::new("docker")
        .args(["inspect", container])
        .output()
        .expect("run docker inspect");
    if !out.status.success() {
        return Value::Null;
    }
    let list: Value = serde_json::from_slice(&out.stdout).expect("inspect json");
    list.get(0).cloned().unwrap_or(Value::Null)
}

/// IDs of the containers (running or not) carrying `label=value`.
pub fn containers_with_label(label: &str, value: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--no-trunc", "--filter"])
        .arg(format!("label={label}={value}"))
        .output()
        .expect("run docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Force-removes the containers carrying `label=value`.
pub fn remove_containers_with_label(label: &str, value: &str) {
    let ids = containers_with_label(label, value);
    if ids.is_empty() {
        return;
    }
    let _ = Command::new("docker")
        .args(["rm", "-f", "-v"])
        .args(&ids)
        .output();
}

/// Removes a test's containers when dropped (also when the test panics).
pub struct ContainerCleanup {
    label: String,
    value: String,
}

impl ContainerCleanup {
    /// Cleans up the containers carrying `label=value`.
    pub fn new(label: &str, value: &str) -> Self {
        Self {
            label: label.to_string(),
            value: value.to_string(),
        }
    }
}

impl Drop for ContainerCleanup {
    fn drop(&mut self) {
        remove_containers_with_label(&self.label, &self.value);
    }
}
