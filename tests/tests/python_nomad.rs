//! Nomad's own client libraries work against nomadish unchanged: tests/python/nomad_api.py
//! drives a real server and client agent (ACLs on, not bootstrapped) through python-nomad — ACLs, namespaces,
//! status, agent, operator, nodes, jobs from JSON with versions, plan, canary promotion, revert,
//! evaluate, dispatch, periodic force, logs, variables with CAS, allocation stop, eligibility,
//! drain, the event stream and deregistration — checking Nomad's response shapes at each step.
//!
//! The interpreter is `$NOMADISH_PYTHON`, else the virtual environment `.ci/run` makes at
//! `target/python-venv`. Without python-nomad the test fails when `CI=true` and is skipped,
//! with the reason printed, elsewhere.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use nomadish_tests::sshd::in_ci;
use nomadish_tests::{Agent, AgentKind};

/// The longest the script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The Python interpreter that has python-nomad, or why there is none.
fn python() -> Result<PathBuf, String> {
    let python = std::env::var_os("NOMADISH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/python-venv/bin/python3"));
    let probe = Command::new(&python)
        .args(["-c", "import nomad"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !probe.status.success() {
        return Err(format!(
            "{} cannot import nomad: {}",
            python.display(),
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    Ok(python)
}

#[tokio::test]
async fn python_nomad_drives_every_api_area_with_nomads_shapes() {
    let python = match python() {
        Ok(p) => p,
        Err(reason) if in_ci() => panic!("python-nomad is required in CI: {reason}"),
        Err(reason) => {
            eprintln!("skipping: python-nomad not installed ({reason}); run .ci/run once");
            return;
        }
    };
    let dir = nomadish_tests::test_dir();
    let acl = "acl {\n  enabled = true\n}\n";
    let agent = Agent::start(dir.path(), "server", AgentKind::Server, acl).await;
    let client = AgentKind::Client(vec![agent.rpc.clone()]);
    let _client = Agent::start(dir.path(), "c1", client, acl).await;
    let script = workspace().join("tests/python/nomad_api.py");
    let child = tokio::process::Command::new(&python)
        .arg(&script)
        .env("NOMAD_ADDR", &agent.http)
        .env_remove("NOMAD_TOKEN")
        .env_remove("NOMAD_NAMESPACE")
        .env_remove("NOMAD_REGION")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, child)
        .await
        .unwrap_or_else(|_| panic!("{} ran longer than {SCRIPT_TIMEOUT:?}", script.display()))
        .expect("run the python-nomad script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("every call succeeded"),
        "python-nomad script failed ({}):\n{stdout}\n{stderr}\n--- agent log tail ---\n{}",
        out.status,
        tail(&agent.log(), 60)
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
