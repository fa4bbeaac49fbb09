//! Client nodes authenticate with their node secret on every NodeService call, besides their
//! certificate: a real server and client agent, then every NodeService method (read from the
//! compiled descriptors, so a new method without a case here fails) called with the real
//! node's ID and a wrong secret must be refused with PermissionDenied and change nothing.

use std::time::Duration;

use nomadish_proto::node_v1::node_service_client::NodeServiceClient;
use nomadish_proto::node_v1::tunnel_from_client::Msg;
use nomadish_proto::node_v1::{
    HeartbeatRequest, MigrateDataRequest, RegisterRequest, TemplateDataRequest, TunnelFromClient,
    TunnelHello, UpdateAllocationsRequest, UpdateServicesRequest, WatchAllocationsRequest,
};
use nomadish_tests::{Agent, AgentKind, wait_until};
use prost::Message;
use tonic::{Code, Status};

const WRONG: &str = "00000000-0000-0000-0000-000000000000";

/// The NodeService methods in the compiled descriptors.
fn node_methods() -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(nomadish_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    set.file
        .iter()
        .flat_map(|f| f.service.iter())
        .filter(|s| s.name() == "NodeService")
        .flat_map(|s| s.method.iter().map(|m| m.name().to_string()))
        .collect()
}

fn refused(method: &str, result: Result<(), Status>) -> Option<String> {
    match result {
        Err(s) if s.code() == Code::PermissionDenied => None,
        other => Some(format!(
            "{method}: expected PermissionDenied, got {other:?}"
        )),
    }
}

#[tokio::test]
async fn every_node_rpc_needs_the_nodes_secret() {
    let dir = nomadish_tests::test_dir();
    let server = Agent::start(dir.path(), "server", AgentKind::Server, "").await;
    let _client = Agent::start(
        dir.path(),
        "c1",
        AgentKind::Client(vec![server.rpc.clone()]),
        "",
    )
    .await;
    let api = server.api();
    let node = wait_until(
        "the client registered",
        Duration::from_secs(30),
        async || {
            let nodes = api.get_ok("/v1/nodes").await;
            nodes.as_array()?.first().cloned()
        },
    )
    .await;
    let node_id = node["ID"].as_str().expect("node ID").to_string();
    let full = api.get_ok(&format!("/v1/node/{node_id}")).await;

    let mut rpc = NodeServiceClient::connect(format!("http://{}", server.rpc))
        .await
        .expect("connect");
    let id = node_id.clone();
    let mut failures = Vec::new();
    for method in node_methods() {
        let result: Result<(), Status> = match method.as_str() {
            "Register" => {
                let mut node = full.clone();
                node["SecretID"] = WRONG.into();
                let node_json = serde_json::to_vec(&node).expect("json");
                rpc.register(RegisterRequest { node_json })
                    .await
                    .map(|_| ())
            }
            "Heartbeat" => rpc
                .heartbeat(HeartbeatRequest {
                    node_id: id.clone(),
                    secret_id: WRONG.into(),
                })
                .await
                .map(|_| ()),
            "WatchAllocations" => rpc
                .watch_allocations(WatchAllocationsRequest {
                    node_id: id.clone(),
                    secret_id: WRONG.into(),
                    min_index: 0,
                })
                .await
                .map(|_| ()),
            "UpdateAllocations" => rpc
                .update_allocations(UpdateAllocationsRequest {
                    node_id: id.clone(),
                    secret_id: WRONG.into(),
                    updates_json: b"[]".to_vec(),
                })
                .await
                .map(|_| ()),
            "Tunnel" => {
                let hello = TunnelFromClient {
                    msg: Some(Msg::Hello(TunnelHello {
                        node_id: id.clone(),
                        secret_id: WRONG.into(),
                    })),
                };
                rpc.tunnel(tokio_stream_once(hello)).await.map(|_| ())
            }
            "UpdateServices" => rpc
                .update_services(UpdateServicesRequest {
                    node_id: id.clone(),
                    secret_id: WRONG.into(),
                    alloc_id: WRONG.into(),
                    registrations_json: b"[]".to_vec(),
                })
                .await
                .map(|_| ()),
            "TemplateData" => rpc
                .template_data(TemplateDataRequest {
                    node_id: id.clone(),
                    secret_id: WRONG.into(),
                    alloc_id: WRONG.into(),
                    task: "t".into(),
                    kind: "var".into(),
                    key: "nomad/jobs".into(),
                    ..TemplateDataRequest::default()
                })
                .await
                .map(|_| ()),
            "MigrateData" => rpc
                .migrate_data(MigrateDataRequest {
                    node_id: id.clone(),
                    secret_id: WRONG.into(),
                    alloc_id: WRONG.into(),
                })
                .await
                .map(|_| ()),
            other => {
                failures.push(format!("{other}: no case in this test; add one"));
                continue;
            }
        };
        failures.extend(refused(&method, result));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The real node is untouched: still registered under its own secret, and ready.
    let after = api.get_ok(&format!("/v1/node/{node_id}")).await;
    assert_eq!(after["Status"], "ready");
    assert_eq!(after["Name"], full["Name"]);
}

/// A client stream of one message.
fn tokio_stream_once<T: Send + 'static>(item: T) -> impl futures::Stream<Item = T> + Send {
    futures::stream::once(async move { item })
}
