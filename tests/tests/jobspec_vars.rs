//! Jobspec variables through the real `nomadish` binary: `-var`, `-var-file` and
//! `NOMAD_VAR_*` with Nomad's precedence in `job validate` and `job run -output`, warnings on
//! stderr, and a dev agent running a task that echoes a variable's value.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, nomadish_bin, wait_until, write_file};
use serde_json::Value;

/// Time for a job to be scheduled and its task to finish.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

const JOB: &str = r#"
variable "greeting" {
  type    = string
  default = "from-default"
}

variable "repeat" {
  type    = number
  default = 1

  validation {
    condition     = var.repeat > 0
    error_message = "repeat must be positive"
  }
}

variable "words" {
  type    = list(string)
  default = []
}

locals {
  line = join(" ", concat([for i in range(var.repeat) : var.greeting], var.words))
}

job "vars" {
  type = "batch"

  group "g" {
    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"said: ${local.line} in $${NOMAD_TASK_NAME}\""]
      }

      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// Runs the CLI with no agent, `NOMAD_VAR_*` taken from `env` only.
fn run_cli(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(nomadish_bin());
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("NOMAD_VAR_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run nomadish")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The task's shell command in `job run -output`.
fn command_of(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    json["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]["args"][1]
        .as_str()
        .expect("args[1]")
        .to_string()
}

#[test]
fn validate_and_output_follow_the_precedence_of_value_sources() {
    let dir = nomadish_tests::test_dir();
    let d = dir.path();
    write_file(d, "job.hcl", JOB);
    write_file(d, "a.vars", "greeting = \"from-file-a\"\nrepeat   = 2\n");
    write_file(d, "b.json", r#"{"greeting": "from-file-b", "extra": true}"#);

    let out = run_cli(d, &["job", "validate", "job.hcl"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Job validation successful"));

    let output = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["job", "run", "-output"];
        all.extend_from_slice(args);
        all.push("job.hcl");
        command_of(&run_cli(d, &all, env))
    };
    let env = [
        ("NOMAD_VAR_greeting", "from-env"),
        ("NOMAD_VAR_unknown", "ignored"),
    ];
    assert_eq!(
        output(&[], &[]),
        "echo \"said: from-default in ${NOMAD_TASK_NAME}\""
    );
    assert_eq!(
        output(&[], &env),
        "echo \"said: from-env in ${NOMAD_TASK_NAME}\""
    );
    assert_eq!(
        output(&["-var-file", "a.vars"], &env),
        "echo \"said: from-file-a from-file-a in ${NOMAD_TASK_NAME}\""
    );
    assert_eq!(
        output(&["-var-file", "a.vars", "-var-file", "b.json"], &env),
        "echo \"said: from-file-b from-file-b in ${NOMAD_TASK_NAME}\""
    );
    assert_eq!(
        output(
            &[
                "-var-file=a.vars",
                "-var",
                "greeting=flag-1",
                "-var=greeting=flag-2",
                "-var",
                "words=[\"x\", \"y\"]"
            ],
            &env
        ),
        "echo \"said: flag-2 flag-2 x y in ${NOMAD_TASK_NAME}\""
    );

    // A var-file entry for an undeclared variable is a warning, and validate still succeeds.
    let out = run_cli(
        d,
        &["job", "validate", "-var-file", "b.json", "job.hcl"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("b.json:1:29: warning: value for undeclared variable \"extra\" is ignored"),
        "stderr: {}",
        text(&out.stderr)
    );

    // Errors: an undeclared -var, a wrong type, a failed validation.
    let out = run_cli(d, &["job", "validate", "-var", "nope=1", "job.hcl"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("-var nope=...: no variable \"nope\" is declared"),
        "{}",
        text(&out.stderr)
    );
    let out = run_cli(
        d,
        &["job", "validate", "job.hcl"],
        &[("NOMAD_VAR_repeat", "many")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("job.hcl:7:1: invalid value for variable \"repeat\" from environment variable NOMAD_VAR_repeat: expected number, got string \"many\""),
        "{}",
        text(&out.stderr)
    );
    let out = run_cli(d, &["job", "validate", "-var", "repeat=0", "job.hcl"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("job.hcl:11:3: variable \"repeat\": repeat must be positive"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn a_task_echoes_a_value_given_with_var() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let file = write_file(dir.path(), "job.hcl", JOB);
    let file = file.to_str().expect("utf-8 path");
    let out = cli(
        &agent,
        &[
            "job",
            "run",
            "-detach",
            "-var",
            "greeting=hello-from-var",
            "-var",
            "repeat=2",
            file,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "job run: {}", text(&out.stderr));
    let api = agent.api();
    let alloc = wait_until("the task completes", RUN_TIMEOUT, async || {
        let allocs = api.get_ok("/v1/job/vars/allocations").await;
        allocs
            .as_array()?
            .iter()
            .find(|a| a["ClientStatus"] == "complete")
            .cloned()
    })
    .await;
    let id = alloc["ID"].as_str().expect("alloc id");
    let out = cli(&agent, &["alloc", "logs", id, "t"]);
    let logs = text(&out.stdout);
    assert!(
        logs.contains("said: hello-from-var hello-from-var in t"),
        "logs: {logs}"
    );
}
