//! Issue 6's template acceptance and the Variables basics of issue 8, with a real agent:
//! `var put` a variable, a raw_exec task renders it into `local/config.txt` and (with
//! `env = true`) into its environment; a new value re-renders the file and restarts the task;
//! a check-and-set conflict answers 409 and changes nothing; a variable outside the task's
//! implicit paths fails the task with a clear `Template` event.

use std::time::Duration;

use nomadish_tests::{Agent, AgentKind, cli, wait_until, write_file};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

fn ok(agent: &Agent, args: &[&str]) -> String {
    let out = cli(agent, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
    text
}

const SERVICE_JOB: &str = r#"
job "tmpl" {
  datacenters = ["*"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat local/config.txt; echo; echo \"env=$DB_USER\"; sleep 600"]
      }
      template {
        data        = "user={{ with nomadVar \"nomad/jobs/tmpl\" }}{{ .user }}{{ end }} task={{ env \"NOMAD_TASK_NAME\" }}"
        destination = "local/config.txt"
        splay       = "0s"
      }
      template {
        data        = "DB_USER={{ with nomadVar \"nomad/jobs/tmpl/g/t\" }}{{ .user }}{{ end }}\n"
        destination = "secrets/app.env"
        env         = true
        splay       = "0s"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

const DENIED_JOB: &str = r#"
job "denied" {
  type        = "batch"
  datacenters = ["*"]
  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      template {
        data        = "{{ with nomadVar \"nomad/jobs/tmpl\" }}{{ .user }}{{ end }}"
        destination = "local/x.txt"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

const LATE_JOB: &str = r#"
job "late" {
  type        = "batch"
  datacenters = ["*"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/cat"
        args    = ["local/late.txt"]
      }
      template {
        data        = "late={{ with nomadVar \"nomad/jobs/late\" }}{{ .v }}{{ end }}"
        destination = "local/late.txt"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// The first allocation of `job` matching `pred`.
async fn wait_alloc(agent: &Agent, job: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let api = agent.api();
    let path = format!("/v1/job/{job}/allocations");
    wait_until(what, TIMEOUT, async || {
        let list = api.get_ok(&path).await;
        let id = list.as_array()?.first()?["ID"].as_str()?.to_string();
        let alloc = api.get_ok(&format!("/v1/allocation/{id}")).await;
        pred(&alloc).then_some(alloc)
    })
    .await
}

fn logs(agent: &Agent, alloc: &Value) -> String {
    let id = alloc["ID"].as_str().expect("alloc id");
    let out = cli(agent, &["alloc", "logs", id, "t"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn event_messages(alloc: &Value) -> Vec<String> {
    alloc["TaskStates"]["t"]["Events"]
        .as_array()
        .map(|evs| {
            evs.iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["Type"].as_str().unwrap_or(""),
                        e["DisplayMessage"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn variables_render_into_templates_and_changes_restart_the_task() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();

    // Variables through the CLI.
    let out = ok(&agent, &["var", "put", "nomad/jobs/tmpl", "user=alice"]);
    assert!(
        out.contains("Created variable \"nomad/jobs/tmpl\""),
        "{out}"
    );
    ok(
        &agent,
        &["var", "put", "nomad/jobs/tmpl/g/t", "user=env-alice"],
    );
    let out = ok(&agent, &["var", "get", "-out", "json", "nomad/jobs/tmpl"]);
    let got: Value = serde_json::from_str(&out).expect("var get json");
    assert_eq!(got["Items"]["user"], "alice");
    let index = got["ModifyIndex"].as_u64().expect("index");
    let out = ok(&agent, &["var", "list", "nomad/jobs"]);
    assert!(
        out.contains("nomad/jobs/tmpl/g/t") && out.contains("Last Updated"),
        "{out}"
    );

    // Check-and-set conflicts: 409 with the current variable; nothing changes.
    let body = json!({"Items": {"user": "mallory"}});
    let (status, current) = api.put_json("/v1/var/nomad/jobs/tmpl?cas=0", &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(current["Items"]["user"], "alice");
    assert_eq!(current["ModifyIndex"].as_u64(), Some(index));
    let (status, _) = api
        .put_json(
            &format!("/v1/var/nomad/jobs/tmpl?cas={}", index + 100),
            &body,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let bad = cli(
        &agent,
        &["var", "purge", "-check-index", "1", "nomad/jobs/tmpl"],
    );
    assert_eq!(bad.status.code(), Some(1));
    let (_, _, now) = api.get("/v1/var/nomad/jobs/tmpl").await;
    assert_eq!(now["Items"]["user"], "alice");
    assert_eq!(now["ModifyIndex"].as_u64(), Some(index));
    let (status, _, _) = api.get("/v1/var/nomad/jobs/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The task sees the rendered file and the env template.
    let spec = write_file(dir.path(), "tmpl.hcl", SERVICE_JOB);
    ok(
        &agent,
        &["job", "run", "-detach", spec.to_str().expect("utf-8")],
    );
    let alloc = wait_alloc(&agent, "tmpl", "tmpl running", |a| {
        a["TaskStates"]["t"]["State"] == "running"
    })
    .await;
    let first = wait_until("first render in the logs", TIMEOUT, async || {
        let l = logs(&agent, &alloc);
        l.contains("env=env-alice").then_some(l)
    })
    .await;
    assert!(first.contains("user=alice task=t"), "logs: {first}");

    // A new value: the file is re-rendered and the task restarted with it.
    ok(&agent, &["var", "put", "nomad/jobs/tmpl", "user=bob"]);
    let restarted = wait_alloc(&agent, "tmpl", "restart after re-render", |a| {
        a["TaskStates"]["t"]["Restarts"].as_u64() >= Some(1)
            && a["TaskStates"]["t"]["State"] == "running"
    })
    .await;
    let msgs = event_messages(&restarted);
    assert!(
        msgs.iter()
            .any(|m| m.contains("Template with change_mode restart re-rendered")),
        "events: {msgs:?}"
    );
    let after = wait_until("second render in the logs", TIMEOUT, async || {
        let l = logs(&agent, &restarted);
        l.contains("user=bob task=t").then_some(l)
    })
    .await;
    assert!(
        after.contains("user=alice"),
        "the first run's output is kept: {after}"
    );

    // Outside the implicit workload paths: the task fails with a clear event.
    let spec = write_file(dir.path(), "denied.hcl", DENIED_JOB);
    ok(
        &agent,
        &["job", "run", "-detach", spec.to_str().expect("utf-8")],
    );
    let failed = wait_alloc(&agent, "denied", "denied alloc failed", |a| {
        a["ClientStatus"] == "failed"
    })
    .await;
    let msgs = event_messages(&failed);
    assert!(
        msgs.iter().any(|m| m.starts_with("Template: Template failed:") && m.contains("Permission denied")),
        "events: {msgs:?}"
    );

    // A variable that does not exist yet: the task waits with a "Missing" event, then runs.
    let spec = write_file(dir.path(), "late.hcl", LATE_JOB);
    ok(
        &agent,
        &["job", "run", "-detach", spec.to_str().expect("utf-8")],
    );
    let waiting = wait_alloc(&agent, "late", "late waits for its variable", |a| {
        event_messages(a)
            .iter()
            .any(|m| m.contains("Missing: nomad.var.block(nomad/jobs/late@default.global)"))
    })
    .await;
    assert_ne!(waiting["ClientStatus"], "complete");
    ok(&agent, &["var", "put", "nomad/jobs/late", "v=arrived"]);
    let done = wait_alloc(&agent, "late", "late completes", |a| {
        a["ClientStatus"] == "complete"
    })
    .await;
    assert!(logs(&agent, &done).contains("late=arrived"));

    // Purge with the right index.
    let (_, _, now) = api.get("/v1/var/nomad/jobs/tmpl").await;
    let idx = now["ModifyIndex"].as_u64().expect("index").to_string();
    ok(
        &agent,
        &["var", "purge", "-check-index", &idx, "nomad/jobs/tmpl"],
    );
    let (status, _, _) = api.get("/v1/var/nomad/jobs/tmpl").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    ok(&agent, &["job", "stop", "-purge", "-detach", "tmpl"]);
}

const BACKEND_JOB: &str = r#"
job "backend" {
  datacenters = ["*"]
  group "g" {
    network {
      port "http" {}
    }
    service {
      name     = "backend"
      provider = "nomad"
      port     = "http"
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

const FRONT_JOB: &str = r#"
job "front" {
  datacenters = ["*"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "cat local/upstream.txt; echo; sleep 600"]
      }
      template {
        data        = <<-EOT
          greeting={{ with nomadVar "nomad/jobs/front" }}{{ .greeting }}{{ end }} backends=[{{ range nomadService "backend" }}{{ .Address }}:{{ .Port }};{{ end }}]
        EOT
        destination = "local/upstream.txt"
        splay       = "0s"
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
"#;

/// Issue 6's acceptance: a template renders a variable and a service address, the task sees
/// the file, and a change in the service catalog re-renders it and restarts the task.
#[tokio::test]
async fn templates_render_a_variable_and_a_service_address_and_follow_the_catalog() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    ok(&agent, &["var", "put", "nomad/jobs/front", "greeting=hi"]);

    // Job templates live in variables too: `job init -template` writes one out.
    let template_file = write_file(dir.path(), "front.tmpl.hcl", FRONT_JOB);
    let item = format!("template=@{}", template_file.display());
    ok(&agent, &["var", "put", "nomad/job-templates/front", &item]);
    let listed = ok(&agent, &["job", "init", "-list-templates"]);
    assert!(listed.contains("  front"), "{listed}");
    let written = dir.path().join("from-template.hcl");
    let path = written.to_str().expect("utf-8");
    ok(&agent, &["job", "init", "-template", "front", path]);
    assert_eq!(
        std::fs::read_to_string(&written).expect("written"),
        FRONT_JOB
    );
    let missing = cli(&agent, &["job", "init", "-template", "nope", "other.hcl"]);
    assert_eq!(missing.status.code(), Some(1));

    let spec = write_file(dir.path(), "backend.hcl", BACKEND_JOB);
    ok(
        &agent,
        &["job", "run", "-detach", spec.to_str().expect("utf-8")],
    );
    let registered = wait_until("backend registered", TIMEOUT, async || {
        let list = api.get_ok("/v1/service/backend").await;
        let first = list.as_array()?.first()?.clone();
        Some(format!(
            "{}:{}",
            first["Address"].as_str()?,
            first["Port"].as_u64()?
        ))
    })
    .await;

    let spec = write_file(dir.path(), "front.hcl", FRONT_JOB);
    ok(
        &agent,
        &["job", "run", "-detach", spec.to_str().expect("utf-8")],
    );
    let alloc = wait_alloc(&agent, "front", "front running", |a| {
        a["TaskStates"]["t"]["State"] == "running"
    })
    .await;
    let expected = format!("greeting=hi backends=[{registered};]");
    let seen = wait_until("rendered upstream in the logs", TIMEOUT, async || {
        let l = logs(&agent, &alloc);
        l.contains(&expected).then_some(l)
    })
    .await;
    assert!(seen.contains(&expected), "logs: {seen}");

    // The backend goes away: its registration is removed, the template re-renders without it
    // and the task restarts with the new file.
    ok(&agent, &["job", "stop", "-detach", "backend"]);
    let restarted = wait_alloc(&agent, "front", "front restarted", |a| {
        a["TaskStates"]["t"]["Restarts"].as_u64() >= Some(1)
            && a["TaskStates"]["t"]["State"] == "running"
    })
    .await;
    let after = wait_until("re-rendered upstream in the logs", TIMEOUT, async || {
        let l = logs(&agent, &restarted);
        l.contains("greeting=hi backends=[]").then_some(l)
    })
    .await;
    assert!(
        after.contains(&expected),
        "the first run's output is kept: {after}"
    );
    ok(&agent, &["job", "stop", "-purge", "-detach", "front"]);
}
