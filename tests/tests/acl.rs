//! ACL tokens and namespaces with real agent processes: a token for team-a sees and changes
//! team-a only; bootstrap works once; bad policies are refused with line:col; expired tokens
//! stop at once, even on an open log stream; no secret reaches disk or logs; the audit log
//! detects an edit.

use std::time::{Duration, Instant};

use nomadish_tests::acl::{AclCluster, READ_A, cli_as, cli_ok, token_with};
use nomadish_tests::{Agent, AgentKind, cli, write_file};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| v[field].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_team_a_token_sees_and_changes_only_team_a() {
    let dir = nomadish_tests::test_dir();
    let c = AclCluster::start(dir.path()).await;
    let alloc_a = c.running_alloc("web-a", "team-a").await;
    let alloc_b = c.running_alloc("web-b", "team-b").await;
    let (a, b) = (
        alloc_a["ID"].as_str().unwrap().to_string(),
        alloc_b["ID"].as_str().unwrap().to_string(),
    );
    let eval_b = alloc_b["EvalID"].as_str().unwrap().to_string();
    let read = c.server.api().with_token(&c.read_a.secret);
    let write = c.server.api().with_token(&c.write_a.secret);

    // Reads in team-a work; team-b's job, allocation, evaluation, logs and fs are 403.
    assert_eq!(
        read.get("/v1/job/web-a?namespace=team-a").await.0,
        StatusCode::OK
    );
    assert_eq!(
        read.get(&format!("/v1/allocation/{a}")).await.0,
        StatusCode::OK
    );
    for path in [
        "/v1/job/web-b?namespace=team-b".to_string(),
        "/v1/job/web-b/allocations?namespace=team-b".to_string(),
        format!("/v1/allocation/{b}"),
        format!("/v1/evaluation/{eval_b}"),
        format!("/v1/client/fs/logs/{b}?task=web&type=stdout"),
        format!("/v1/client/fs/ls/{b}?path=/"),
        format!("/v1/client/fs/cat/{b}?path=alloc/logs/web.stdout.0"),
    ] {
        let (code, _, body) = read.get(&path).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{path}: {body}");
        let (code, _, body) = write.get(&path).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "write-a on {path}: {body}");
    }
    // Reading logs needs read-logs: the read policy lacks it, the write policy has it.
    let logs_a = format!("/v1/client/fs/logs/{a}?task=web&type=stdout&plain=true");
    assert_eq!(read.get_text(&logs_a).await.0, StatusCode::FORBIDDEN);
    let (code, text) = write.get_text(&logs_a).await;
    assert_eq!(code, StatusCode::OK, "{text}");
    assert!(text.contains("hello-a"), "{text}");

    // namespace=* lists only what the token may read.
    for (path, field, want) in [
        ("/v1/jobs?namespace=*", "ID", "web-a"),
        ("/v1/allocations?namespace=*", "JobID", "web-a"),
        ("/v1/evaluations?namespace=*", "JobID", "web-a"),
    ] {
        let list = read.get_ok(path).await;
        let seen = ids(&list, field);
        assert!(
            !seen.is_empty() && seen.iter().all(|j| j == want),
            "{path}: {seen:?}"
        );
        let all = c.admin().get_ok(path).await;
        assert!(
            ids(&all, field).iter().any(|j| j == "web-b"),
            "management sees both"
        );
    }
    // A listing of team-b alone is refused.
    assert_eq!(
        read.get("/v1/jobs?namespace=team-b").await.0,
        StatusCode::FORBIDDEN
    );

    // Writes: a body naming team-b is refused even when the request says team-a.
    let job_b = json!({"Job": {"ID": "sneaky", "Name": "sneaky", "Namespace": "team-b",
        "Type": "batch", "TaskGroups": []}});
    let (code, body) = write.put_json("/v1/jobs?namespace=team-a", &job_b).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    let (code, body) = write.put_json("/v1/jobs", &job_b).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        c.admin().get("/v1/job/sneaky?namespace=team-b").await.0,
        StatusCode::NOT_FOUND,
        "nothing was registered"
    );
    // The read token cannot stop team-a's job; the write token can (through the CLI).
    let out = cli_as(
        &c.server,
        &c.read_a.secret,
        &["job", "stop", "-namespace", "team-a", "-detach", "web-a"],
    );
    assert_ne!(out.status.code(), Some(0), "read token stopped a job");
    let out = cli_as(
        &c.server,
        &c.write_a.secret,
        &["job", "stop", "-namespace", "team-b", "-detach", "web-b"],
    );
    assert_ne!(
        out.status.code(),
        Some(0),
        "team-a token stopped team-b's job"
    );
    cli_ok(
        &c.server,
        &c.write_a.secret,
        &["job", "stop", "-namespace", "team-a", "-detach", "web-a"],
    );
    let job = c.admin().get_ok("/v1/job/web-b?namespace=team-b").await;
    assert_eq!(job["Stop"], false, "team-b's job untouched");
}

#[tokio::test]
async fn bootstrap_once_policies_checked_and_tokens_managed_from_the_cli() {
    let dir = nomadish_tests::test_dir();
    let acl = "acl {\n  enabled = true\n}\n";
    let server = Agent::start(dir.path(), "server", AgentKind::Server, acl).await;
    // Without a token, nothing but the public endpoints.
    assert_eq!(server.api().get("/v1/jobs").await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.api().get("/v1/agent/health").await.0, StatusCode::OK);

    let boot = cli(&server, &["acl", "bootstrap"]);
    let text = String::from_utf8_lossy(&boot.stdout).to_string();
    assert_eq!(boot.status.code(), Some(0), "{text}");
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("Secret ID"))
        .and_then(|l| l.split('=').nth(1))
        .map(|s| s.trim().to_string())
        .expect("a secret in the bootstrap output");
    assert!(text.contains("Type         = management"), "{text}");
    let again = cli(&server, &["acl", "bootstrap"]);
    assert_ne!(again.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already done"),
        "{again:?}"
    );

    // A bad policy is refused with its line and column, and nothing is stored.
    let bad = write_file(
        dir.path(),
        "bad.hcl",
        "namespace \"a\" {\n  policy = \"read\"\n  capabilities = [\"read-job\", \"fly\"]\n}\n",
    );
    let out = cli_as(
        &server,
        &secret,
        &["acl", "policy", "apply", "bad", bad.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("bad.hcl:3:"), "{err}");
    let api = server.api().with_token(&secret);
    let (code, _, body) = api.get("/v1/acl/policy/bad").await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
    // The API refuses it as well (a client that skips the CLI's check).
    let (code, body) = api
        .put_json(
            "/v1/acl/policy/bad",
            &json!({"Rules": "namespace { policy = \"read\" }"}),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.as_str().unwrap_or_default().contains("1:"), "{body}");

    let good = write_file(dir.path(), "a.hcl", READ_A);
    cli_ok(
        &server,
        &secret,
        &[
            "acl",
            "policy",
            "apply",
            "-description",
            "reads a",
            "a-read",
            good.to_str().unwrap(),
        ],
    );
    let list = cli_ok(&server, &secret, &["acl", "policy", "list"]);
    assert!(
        list.contains("a-read") && list.contains("reads a"),
        "{list}"
    );
    let info = cli_ok(&server, &secret, &["acl", "policy", "info", "a-read"]);
    assert!(info.contains("namespace \"team-a\""), "{info}");

    let created = cli_ok(
        &server,
        &secret,
        &[
            "acl", "token", "create", "-name", "ci", "-policy", "a-read", "-json",
        ],
    );
    let token: Value = serde_json::from_str(&created).unwrap();
    let (accessor, client_secret) = (
        token["AccessorID"].as_str().unwrap().to_string(),
        token["SecretID"].as_str().unwrap().to_string(),
    );
    assert_eq!(token["Policies"], json!(["a-read"]));
    let me = cli_ok(&server, &client_secret, &["acl", "token", "self", "-json"]);
    let me: Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["AccessorID"], accessor.as_str());
    // Listing tokens is management's; the list never carries secrets.
    assert_ne!(
        cli_as(&server, &client_secret, &["acl", "token", "list"])
            .status
            .code(),
        Some(0)
    );
    let tokens = cli_ok(&server, &secret, &["acl", "token", "list", "-json"]);
    assert!(tokens.contains(&accessor) && !tokens.contains(&client_secret));
    // Someone else's token is not shown to a client token; its own is (without the secret
    // when read by management).
    let info = api.get_ok(&format!("/v1/acl/token/{accessor}")).await;
    assert_eq!(info["SecretID"], "");
    let update = cli_ok(
        &server,
        &secret,
        &["acl", "token", "update", "-name", "renamed", &accessor],
    );
    assert!(update.contains("renamed"), "{update}");
    // Unknown policies are refused.
    let out = cli_as(
        &server,
        &secret,
        &["acl", "token", "create", "-policy", "nope"],
    );
    assert_ne!(out.status.code(), Some(0));
    cli_ok(&server, &secret, &["acl", "token", "delete", &accessor]);
    let (code, _, _) = server
        .api()
        .with_token(&client_secret)
        .get("/v1/acl/token/self")
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "a deleted token stops working");

    // The reset file allows one more bootstrap, with the index the refusal named.
    let err = String::from_utf8_lossy(&again.stderr).to_string();
    let index: String = err
        .split("reset index: ")
        .nth(1)
        .map(|s| s.chars().take_while(char::is_ascii_digit).collect())
        .expect("the reset index in the refusal");
    std::fs::write(
        server.data_dir.join("server").join("acl-bootstrap-reset"),
        &index,
    )
    .unwrap();
    let reset = cli(&server, &["acl", "bootstrap"]);
    assert_eq!(reset.status.code(), Some(0), "{reset:?}");
}

#[tokio::test]
async fn expired_tokens_fail_at_expiry_even_on_an_open_log_stream() {
    let dir = nomadish_tests::test_dir();
    let c = AclCluster::start(dir.path()).await;
    let alloc = c.running_alloc("web-a", "team-a").await;
    let id = alloc["ID"].as_str().unwrap().to_string();
    // The shortest TTL Nomad allows: one minute.
    let short = token_with(
        &c.admin(),
        "a-logs",
        "namespace \"team-a\" {\n  policy = \"write\"\n}\n",
        Some(60),
    )
    .await;
    let api = c.server.api().with_token(&short.secret);
    let me = api.get_ok("/v1/acl/token/self").await;
    let expiry = me["ExpirationTime"]
        .as_str()
        .expect("an expiration time")
        .to_string();
    let path = format!("/v1/client/fs/logs/{id}?task=web&type=stdout&follow=true&plain=true");
    let mut stream = api
        .request(reqwest::Method::GET, &path)
        .send()
        .await
        .expect("log stream");
    assert_eq!(stream.status(), StatusCode::OK);
    let started = Instant::now();
    // The stream stays open until the token expires, then ends.
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(90), stream.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(_) => break Instant::now(),
            Err(_) => panic!("the log stream outlived its token (expiry {expiry})"),
        }
    };
    let open_for = ended - started;
    assert!(
        open_for > Duration::from_secs(50) && open_for < Duration::from_secs(62),
        "stream open for {open_for:?}, token expiry {expiry}"
    );
    let (code, _, body) = api.get("/v1/job/web-a?namespace=team-a").await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.as_str().unwrap_or_default().contains("expired"),
        "{body}"
    );
}

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Scenario 25 of RELIABILITY.md: no token secret in any file the agents wrote (their logs,
/// the sled database holding the raft log and the state); plus the audit log's hash chain.
#[tokio::test]
async fn scenario_25_token_secrets_never_reach_logs_raft_or_sled_and_the_audit_log_detects_an_edit()
{
    let dir = nomadish_tests::test_dir();
    let c = AclCluster::start(dir.path()).await;
    // A denial and a few writes, so the audit log has both kinds.
    let read = c.server.api().with_token(&c.read_a.secret);
    assert_eq!(
        read.get("/v1/job/web-b?namespace=team-b").await.0,
        StatusCode::FORBIDDEN
    );
    let secrets = [&c.management.secret, &c.read_a.secret, &c.write_a.secret];
    // The state is flushed to sled and the raft log on every write; look at every file the
    // agents wrote (data dirs, logs, configs) for any secret.
    let mut looked = 0;
    for file in files(dir.path()) {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        looked += 1;
        for s in &secrets {
            let found = bytes.windows(s.len()).any(|w| w == s.as_bytes());
            assert!(!found, "a token secret is in {}", file.display());
        }
    }
    assert!(looked > 10, "only {looked} files looked at");

    let log = c.server.data_dir.join("server").join("audit.log");
    let text = std::fs::read_to_string(&log).expect("audit log");
    assert!(
        text.contains("\"denied\"") && text.contains("/v1/job/web-b"),
        "{text}"
    );
    assert!(
        text.contains(&c.read_a.accessor),
        "the denial names the accessor"
    );
    let out = cli(
        &c.server,
        &["operator", "audit", "verify", log.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // Edit one line (the namespace of the third) in a copy: verify points at that line.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines.len() >= 4, "{text}");
    let original = lines[2].clone();
    lines[2] = lines[2].replacen("\"time\":\"2", "\"time\":\"1", 1);
    assert_ne!(lines[2], original, "the edit changed the line");
    let edited = write_file(dir.path(), "edited.log", &(lines.join("\n") + "\n"));
    let out = cli(
        &c.server,
        &["operator", "audit", "verify", edited.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("edited.log:3:"), "{err}");
    // A removed line is caught at the line after it.
    let mut removed: Vec<String> = text.lines().map(str::to_string).collect();
    removed.remove(1);
    let cut = write_file(dir.path(), "cut.log", &(removed.join("\n") + "\n"));
    let out = cli(
        &c.server,
        &["operator", "audit", "verify", cut.to_str().unwrap()],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cut.log:2:"),
        "{out:?}"
    );
}
