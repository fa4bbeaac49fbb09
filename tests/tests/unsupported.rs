//! Jobs submitted as JSON through the HTTP API with Nomad fields for systems nomadish does not
//! have (Vault, Consul, Connect, CSI, multiregion, workload identities, scaling policies) are
//! refused with 400 "not supported by nomadish: <block>" and nothing is registered; the same
//! fields sent as `null` or empty, as Nomad's clients send unset fields, are accepted.

use nomadish_tests::{Agent, AgentKind, Api};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A batch job in Nomad's API shape, with `extra` merged into the job, its group and its task.
fn api_job(id: &str, job_extra: Value, group_extra: Value, task_extra: Value) -> Value {
    let mut task = json!({
        "Name": "t",
        "Driver": "raw_exec",
        "Config": {"command": "/bin/true"},
        "Resources": {"CPU": 20, "MemoryMB": 16},
    });
    let mut group = json!({"Name": "g", "Count": 1});
    let mut job = json!({"ID": id, "Name": id, "Type": "batch", "Datacenters": ["*"]});
    for (target, extra) in [
        (&mut task, task_extra),
        (&mut group, group_extra),
        (&mut job, job_extra),
    ] {
        if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
            t.extend(e);
        }
    }
    group["Tasks"] = json!([task]);
    job["TaskGroups"] = json!([group]);
    job
}

async fn post(api: &Api, path: &str, body: &Value) -> (StatusCode, Value) {
    api.send(Method::POST, path, serde_json::to_vec(body).expect("json"))
        .await
}

/// Registering `job` answers 400 naming `block`, and the job does not exist afterwards.
async fn assert_refused(api: &Api, job: Value, block: &str) {
    let id = job["ID"].as_str().expect("job id").to_string();
    let body = json!({"Job": job});
    let want = format!("not supported by nomadish: {block}");
    for path in [
        "/v1/jobs".to_string(),
        format!("/v1/job/{id}"),
        format!("/v1/job/{id}/plan"),
    ] {
        let (status, reply) = post(api, &path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "POST {path}: {reply}");
        let text = reply.as_str().unwrap_or_default();
        assert!(text.contains(&want), "POST {path}: {text:?} lacks {want:?}");
    }
    let (status, _, _) = api.get(&format!("/v1/job/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{id} was registered");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_jobs_with_unsupported_blocks_are_refused() {
    let dir = nomadish_tests::test_dir();
    let agent = Agent::start(dir.path(), "dev", AgentKind::Dev, "").await;
    let api = agent.api();
    let none = || json!({});

    let cases = [
        (
            api_job("vault", none(), none(), json!({"Vault": {"Role": "db"}})),
            "vault",
        ),
        (
            api_job(
                "consul",
                none(),
                json!({"Consul": {"Namespace": "team"}}),
                none(),
            ),
            "consul",
        ),
        (
            api_job(
                "connect",
                none(),
                json!({"Services": [{"Name": "web", "Provider": "nomad",
                                     "Connect": {"SidecarService": {}, "Native": true}}]}),
                none(),
            ),
            "connect",
        ),
        (
            api_job(
                "multiregion",
                json!({"Multiregion": {"Regions": [{"Name": "east", "Count": 1}]}}),
                none(),
                none(),
            ),
            "multiregion",
        ),
        (
            api_job(
                "identity",
                none(),
                none(),
                json!({"Identities": [{"Name": "aws", "Audience": ["sts.amazonaws.com"]}]}),
            ),
            "identity",
        ),
        (
            api_job(
                "plugin",
                none(),
                none(),
                json!({"CSIPluginConfig": {"ID": "ebs", "Type": "monolith"}}),
            ),
            "csi_plugin",
        ),
        (
            api_job(
                "csi",
                none(),
                json!({"Volumes": {"data": {"Type": "csi", "Source": "ebs-vol"}}}),
                none(),
            ),
            "csi",
        ),
        (
            api_job(
                "scaling",
                none(),
                json!({"Scaling": {"Min": 1, "Max": 3, "Policy": {"cooldown": "1m"}}}),
                none(),
            ),
            "scaling policy",
        ),
        (
            api_job("token", json!({"VaultToken": "s.secret"}), none(), none()),
            "vault_token",
        ),
    ];
    for (job, block) in cases {
        assert_refused(&api, job, block).await;
    }

    // The same fields as Nomad's clients send them when unset are accepted.
    let nulls = api_job(
        "nulls",
        json!({"Multiregion": null, "ConsulToken": "", "VaultToken": "",
               "ConsulNamespace": "", "VaultNamespace": "", "UI": null}),
        json!({"Consul": null, "Disconnect": null, "Volumes": null,
               "Scaling": {"Min": 1, "Max": 2, "Policy": null}}),
        json!({"Vault": null, "Consul": null, "Identity": null, "Identities": null,
               "CSIPluginConfig": null, "Actions": []}),
    );
    let (status, reply) = post(&api, "/v1/jobs", &json!({"Job": nulls})).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let stored = api.get_ok("/v1/job/nulls").await;
    assert!(
        stored["TaskGroups"][0]["Tasks"][0].get("Vault").is_none(),
        "unset fields are left out: {stored}"
    );
}
