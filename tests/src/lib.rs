//! Fixtures for nomadish's integration suites: real agent processes on loopback ports, the
//! HTTP API, and the CLI.
//!
//! ```text
//!   Agent::dev / Agent::server / Agent::client ──spawn──> target/<profile>/nomadish agent ...
//!        │  kill9 / stop / pause (SIGSTOP) / resume / restart on the same data dir
//!        └─ Api (reqwest) and cli(...) (the binary with NOMAD_ADDR) talk to it
//! ```
//!
//! Every wait is bounded: helpers poll with a deadline and fail with what they last saw.
#![forbid(unsafe_code)]

pub mod acl;
mod agent;
mod api;
mod cluster;
pub mod docker;
pub mod faults;
pub mod history;
mod http_files;
pub mod linearizable;
pub mod load;
pub mod nemesis;
mod pki;
pub mod sim;
pub mod sshd;
pub mod streams;
pub mod workload;

pub use agent::{Agent, AgentKind, cli, free_port, nomadish_bin, wait_until};
pub use api::Api;
pub use cluster::{CLUSTER_TIMEOUT, Cluster, empty_job, marked_sleep_job};
pub use http_files::serve_files;
pub use pki::Pki;

/// Installs ring as rustls's process-wide crypto provider (the workspace builds rustls with
/// no default provider); safe to call many times.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A directory for one test's agents: removed afterwards, unless `NOMADISH_KEEP_TEST_DIRS`
/// is set (then its path is printed, so agent logs can be read after a failure).
pub struct TestDir {
    path: std::path::PathBuf,
    _guard: Option<tempfile::TempDir>,
}

impl TestDir {
    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// A new [`TestDir`].
pub fn test_dir() -> TestDir {
    let dir = tempfile::Builder::new()
        .prefix("nomadish-test-")
        .tempdir()
        .expect("temp dir");
    if std::env::var_os("NOMADISH_KEEP_TEST_DIRS").is_some() {
        let path = dir.keep();
        eprintln!("keeping test dir {}", path.display());
        return TestDir { path, _guard: None };
    }
    TestDir {
        path: dir.path().to_path_buf(),
        _guard: Some(dir),
    }
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

/// Writes `spec` to `dir/<name>.hcl` and submits it with `nomadish job run -detach`, asserting
/// that the CLI succeeds.
pub fn run_job(agent: &Agent, dir: &std::path::Path, name: &str, spec: &str) {
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
