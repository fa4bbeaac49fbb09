//! The client-only listener over a real socket, with a status driven by hand.

use std::time::Duration;

use super::*;

async fn start(
    acl_enabled: bool,
) -> (String, ClientStatus, crate::agent::signals::ShutdownTrigger) {
    crate::cli::api::install_crypto_provider();
    let dir = std::env::temp_dir();
    let client = ClientConfig::new(dir, vec!["127.0.0.1:4647".into()]);
    let config = ClientHttpConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        advertise: "127.0.0.1:4646".into(),
        tls: None,
        acl_enabled,
    };
    let status = ClientStatus::new();
    let http = ClientHttp::bind(config, &client, status.clone())
        .await
        .unwrap();
    let url = format!("http://{}", http.local_addr().unwrap());
    let (trigger, shutdown) = crate::agent::signals::shutdown_channel();
    tokio::spawn(http.serve(shutdown.wait()));
    (url, status, trigger)
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::Client::new().get(url).send().await.unwrap();
    let code = response.status().as_u16();
    (code, response.text().await.unwrap())
}

#[tokio::test]
async fn probes_follow_the_heartbeat_status() {
    let (url, status, _trigger) = start(false).await;
    assert_eq!(get(&format!("{url}/live")).await.0, 200);
    let (code, body) = get(&format!("{url}/health")).await;
    assert_eq!(code, 500, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["client"]["ok"], false);
    assert!(health.get("server").is_none());
    assert_eq!(get(&format!("{url}/ready")).await.0, 503);

    status.heartbeat_ok("127.0.0.1:4647", Duration::from_secs(10), Vec::new());
    let (code, body) = get(&format!("{url}/v1/agent/health")).await;
    assert_eq!(code, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        health["client"],
        serde_json::json!({"ok": true, "message": "ok"})
    );
    assert_eq!(get(&format!("{url}/ready")).await.0, 200);

    status.failed("connection refused");
    let (code, body) = get(&format!("{url}/ready")).await;
    assert_eq!(code, 503);
    assert!(body.contains("connection refused"), "{body}");
}

#[tokio::test]
async fn metrics_render_both_formats_and_refuse_unknown_ones() {
    let (url, _status, _trigger) = start(false).await;
    let (code, body) = get(&format!("{url}/v1/metrics?format=prometheus")).await;
    assert_eq!(code, 200);
    assert!(body.contains("# TYPE nomad_client_uptime gauge"), "{body}");
    let (code, body) = get(&format!("{url}/v1/metrics")).await;
    assert_eq!(code, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(json["Gauges"].is_array() && json["Samples"].is_array());
    assert_eq!(get(&format!("{url}/v1/metrics?format=xml")).await.0, 400);
}

#[tokio::test]
async fn other_api_paths_get_a_clear_501() {
    let (url, _status, _trigger) = start(false).await;
    let (code, body) = get(&format!("{url}/v1/jobs")).await;
    assert_eq!(code, 501);
    assert!(
        body.contains("/v1/jobs is not served by a client-only agent"),
        "{body}"
    );
    assert!(body.contains("127.0.0.1:4647"), "{body}");
}

#[tokio::test]
async fn agent_self_has_nomads_keys_and_is_refused_with_acls() {
    let (url, _status, _trigger) = start(false).await;
    let (code, body) = get(&format!("{url}/v1/agent/self")).await;
    assert_eq!(code, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["config"]["Client"]["Enabled"], true);
    assert_eq!(me["config"]["Server"]["Enabled"], false);
    assert_eq!(me["member"]["Tags"]["role"], "client");
    assert_eq!(me["stats"]["client"]["registered"], "false");

    let (url, _status, _trigger) = start(true).await;
    let (code, body) = get(&format!("{url}/v1/agent/self")).await;
    assert_eq!(code, 403);
    assert!(body.contains("Permission denied"), "{body}");
    assert_eq!(get(&format!("{url}/health")).await.0, 500);
}

#[test]
fn public_paths_here_are_public_on_servers_and_agent_self_is_not() {
    use nomadish_server::auth::rules::{RULES, Rule};
    let rule = |path: &str| {
        RULES
            .iter()
            .find(|(method, p, _)| *method == "GET" && *p == path)
            .map(|(_, _, rule)| *rule)
    };
    for path in PUBLIC_PATHS {
        assert_eq!(rule(path), Some(Rule::Public), "{path}");
    }
    let guarded = rule(AGENT_SELF).expect("a rule for /v1/agent/self");
    assert_ne!(guarded, Rule::Public);
}
