//! `operator raft ...` and `operator snapshot ...` against a scripted agent: the requests
//! they make, what they write, and what they refuse to send.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use nomadish_proto::model::{SNAPSHOT_FORMAT, SnapshotHeader};
use serde_json::json;

use super::args::{ApiOpts, Cli, Command};
use super::argv::translate_args;
use super::operator::snapshot::{SnapshotInfo, inspect_json, inspect_text, read_header};
use super::operator::*;
use super::test_server::serve;

/// Largest request body the scripted agent reads.
const MAX_TEST_BODY: usize = 1 << 20;
const TOKEN: &str = "mgmt-secret";

/// One request as the scripted agent saw it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    token: Option<String>,
    body: Vec<u8>,
}

/// How the scripted agent answers `GET /v1/operator/snapshot` and the write endpoints.
#[derive(Clone)]
struct Script {
    seen: Arc<Mutex<Vec<Seen>>>,
    snapshot: Vec<u8>,
    fail_writes: bool,
}

fn header() -> SnapshotHeader {
    SnapshotHeader {
        format: SNAPSHOT_FORMAT.into(),
        version: 1,
        index: 1182,
        term: 2,
        create_time: 1_700_000_000_123_000_000,
        jobs: 3,
        evaluations: 14,
        allocations: 27,
        nodes: 5,
    }
}

/// A snapshot file's bytes: the header line, then binary "state" holding newlines.
fn snapshot_bytes() -> Vec<u8> {
    let mut bytes = serde_json::to_vec(&header()).unwrap();
    bytes.push(b'\n');
    bytes.extend_from_slice(&[0, 1, 2, 0xff, 0xfe, b'\n', 9, b'{']);
    bytes
}

fn answer(script: &Script, method: &Method, path: &str) -> Response {
    let write = matches!(method.as_str(), "PUT" | "DELETE");
    if write && script.fail_writes {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no leader").into_response();
    }
    match (method.as_str(), path) {
        ("GET", "/v1/operator/raft/configuration") => Json(json!({
            "Servers": [
                {"ID": "2", "Node": "s2.global", "Address": "10.0.0.2:4647", "Leader": false,
                 "Voter": true, "RaftProtocol": "3"},
                {"ID": "1", "Node": "s1.global", "Address": "10.0.0.1:4647", "Leader": true,
                 "Voter": true, "RaftProtocol": "3"}
            ],
            "Index": 17
        }))
        .into_response(),
        ("DELETE", "/v1/operator/raft/peer")
        | ("PUT", "/v1/operator/raft/transfer-leadership")
        | ("PUT", "/v1/operator/snapshot") => StatusCode::OK.into_response(),
        ("GET", "/v1/operator/snapshot") => (
            [("X-Nomad-Index", "1182")],
            Body::from(script.snapshot.clone()),
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn record(
    State(script): State<Script>,
    OriginalUri(uri): OriginalUri,
    req: Request,
) -> Response {
    let line = match uri.query() {
        Some(q) => format!("{} {}?{q}", req.method(), uri.path()),
        None => format!("{} {}", req.method(), uri.path()),
    };
    let method = req.method().clone();
    let token = req
        .headers()
        .get("X-Nomad-Token")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = to_bytes(req.into_body(), MAX_TEST_BODY)
        .await
        .unwrap()
        .to_vec();
    script.seen.lock().unwrap().push(Seen { line, token, body });
    answer(&script, &method, uri.path())
}

/// A scripted agent serving `snapshot`; its API flags carry a token and a namespace (which
/// operator commands must not send).
async fn agent(snapshot: Vec<u8>, fail_writes: bool) -> (ApiOpts, Script) {
    let script = Script {
        seen: Arc::default(),
        snapshot,
        fail_writes,
    };
    let router = Router::new().fallback(record).with_state(script.clone());
    let url = serve(router).await;
    let opts = ApiOpts {
        address: url,
        token: Some(TOKEN.into()),
        namespace: Some("prod".into()),
        region: None,
        ..ApiOpts::default()
    };
    (opts, script)
}

fn seen(script: &Script) -> Vec<Seen> {
    std::mem::take(&mut *script.seen.lock().unwrap())
}

fn lines(script: &Script) -> Vec<String> {
    seen(script).into_iter().map(|s| s.line).collect()
}

fn peer_args(api: &ApiOpts, id: Option<&str>, address: Option<&str>) -> RaftPeerArgs {
    RaftPeerArgs {
        api: api.clone(),
        peer_id: id.map(String::from),
        peer_address: address.map(String::from),
    }
}

#[tokio::test]
async fn list_peers_reads_the_configuration_without_a_namespace() {
    let (api, script) = agent(snapshot_bytes(), false).await;
    for (stale, json) in [(false, false), (true, true)] {
        let args = RaftListPeersArgs {
            api: api.clone(),
            stale,
            json,
        };
        assert_eq!(raft::list_peers(args).await, 0);
    }
    let reqs = seen(&script);
    assert_eq!(reqs[0].line, "GET /v1/operator/raft/configuration");
    assert_eq!(reqs[0].token.as_deref(), Some(TOKEN));
    assert_eq!(
        reqs[1].line,
        "GET /v1/operator/raft/configuration?stale=true"
    );
}

#[tokio::test]
async fn list_peers_fails_when_the_agent_is_unreachable() {
    let (mut api, _script) = agent(snapshot_bytes(), false).await;
    api.address = "http://127.0.0.1:1".into();
    let args = RaftListPeersArgs {
        api,
        stale: false,
        json: false,
    };
    assert_eq!(raft::list_peers(args).await, 1);
}

#[tokio::test]
async fn remove_peer_by_id_or_address() {
    let (api, script) = agent(snapshot_bytes(), false).await;
    assert_eq!(raft::remove_peer(peer_args(&api, Some("2"), None)).await, 0);
    let addr = Some("10.0.0.2:4647");
    assert_eq!(raft::remove_peer(peer_args(&api, None, addr)).await, 0);
    let reqs = seen(&script);
    assert_eq!(reqs[0].line, "DELETE /v1/operator/raft/peer?id=2");
    assert_eq!(reqs[0].token.as_deref(), Some(TOKEN));
    assert_eq!(
        reqs[1].line,
        "DELETE /v1/operator/raft/peer?address=10.0.0.2%3A4647"
    );
}

#[tokio::test]
async fn remove_peer_needs_exactly_one_peer_and_sends_nothing_otherwise() {
    let (api, script) = agent(snapshot_bytes(), false).await;
    assert_eq!(raft::remove_peer(peer_args(&api, None, None)).await, 1);
    let both = peer_args(&api, Some("2"), Some("10.0.0.2:4647"));
    assert_eq!(raft::remove_peer(both).await, 1);
    assert!(lines(&script).is_empty());
}

#[tokio::test]
async fn transfer_leadership_to_a_peer_or_any_voter() {
    let (api, script) = agent(snapshot_bytes(), false).await;
    let t = |id, addr| raft::transfer_leadership(peer_args(&api, id, addr));
    assert_eq!(t(None, None).await, 0);
    assert_eq!(t(Some("3"), None).await, 0);
    assert_eq!(t(None, Some("10.0.0.3:4647")).await, 0);
    assert_eq!(t(Some("3"), Some("10.0.0.3:4647")).await, 1);
    assert_eq!(
        lines(&script),
        [
            "PUT /v1/operator/raft/transfer-leadership",
            "PUT /v1/operator/raft/transfer-leadership?id=3",
            "PUT /v1/operator/raft/transfer-leadership?address=10.0.0.3%3A4647",
        ]
    );
}

#[tokio::test]
async fn raft_changes_report_server_errors() {
    let (api, script) = agent(snapshot_bytes(), true).await;
    assert_eq!(raft::remove_peer(peer_args(&api, Some("2"), None)).await, 1);
    let t = raft::transfer_leadership(peer_args(&api, None, None));
    assert_eq!(t.await, 1);
    assert_eq!(lines(&script).len(), 2);
}

/// Files in `dir` (temporary files included).
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn save_args(api: &ApiOpts, file: &Path, stale: bool) -> SnapshotSaveArgs {
    SnapshotSaveArgs {
        api: api.clone(),
        stale,
        file: Some(file.to_path_buf()),
    }
}

#[tokio::test]
async fn save_writes_exactly_what_the_agent_sent() {
    let (api, script) = agent(snapshot_bytes(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.snap");
    assert_eq!(snapshot::save(save_args(&api, &file, true)).await, 0);
    assert_eq!(std::fs::read(&file).unwrap(), snapshot_bytes());
    assert_eq!(
        files_in(dir.path()),
        ["backup.snap"],
        "no temporary file left"
    );
    let reqs = seen(&script);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].line, "GET /v1/operator/snapshot?stale=true");
    assert_eq!(reqs[0].token.as_deref(), Some(TOKEN));
}

#[tokio::test]
async fn save_never_overwrites_an_existing_file() {
    let (api, script) = agent(snapshot_bytes(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.snap");
    std::fs::write(&file, "precious").unwrap();
    assert_eq!(snapshot::save(save_args(&api, &file, false)).await, 1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    assert!(lines(&script).is_empty(), "nothing downloaded");
}

#[tokio::test]
async fn save_refuses_an_answer_that_is_not_a_snapshot() {
    let (api, _script) = agent(b"<html>proxy error</html>\n".to_vec(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.snap");
    assert_eq!(snapshot::save(save_args(&api, &file, false)).await, 1);
    assert!(files_in(dir.path()).is_empty(), "no file, no temporary");
}

#[tokio::test]
async fn save_fails_cleanly_when_the_agent_errors() {
    let (mut api, _script) = agent(snapshot_bytes(), false).await;
    api.address.push_str("/missing-prefix");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.snap");
    assert_eq!(snapshot::save(save_args(&api, &file, false)).await, 1);
    assert!(files_in(dir.path()).is_empty());
}

fn restore_args(api: &ApiOpts, file: PathBuf) -> SnapshotRestoreArgs {
    SnapshotRestoreArgs {
        api: api.clone(),
        file,
    }
}

#[tokio::test]
async fn restore_sends_the_whole_file() {
    let (api, script) = agent(snapshot_bytes(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.snap");
    std::fs::write(&file, snapshot_bytes()).unwrap();
    assert_eq!(snapshot::restore(restore_args(&api, file)).await, 0);
    let reqs = seen(&script);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].line, "PUT /v1/operator/snapshot");
    assert_eq!(reqs[0].token.as_deref(), Some(TOKEN));
    assert_eq!(reqs[0].body, snapshot_bytes());
}

#[tokio::test]
async fn restore_sends_nothing_for_a_file_that_is_not_a_snapshot() {
    let (api, script) = agent(snapshot_bytes(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let mut foreign = header();
    foreign.format = "consul-snapshot".into();
    let mut newer = header();
    newer.version = 2;
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"just some text\nmore\n".to_vec(),
        serde_json::to_vec(&header()).unwrap(),
        [serde_json::to_vec(&foreign).unwrap(), b"\n".to_vec()].concat(),
        [serde_json::to_vec(&newer).unwrap(), b"\nstate".to_vec()].concat(),
        vec![b'x'; 100_000],
    ];
    for (i, bytes) in cases.into_iter().enumerate() {
        let file = dir.path().join(format!("bad-{i}.snap"));
        std::fs::write(&file, bytes).unwrap();
        assert_eq!(
            snapshot::restore(restore_args(&api, file)).await,
            1,
            "case {i}"
        );
    }
    let missing = dir.path().join("missing.snap");
    assert_eq!(snapshot::restore(restore_args(&api, missing)).await, 1);
    assert!(lines(&script).is_empty(), "nothing sent");
}

#[tokio::test]
async fn restore_reports_a_server_error() {
    let (api, _script) = agent(snapshot_bytes(), true).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.snap");
    std::fs::write(&file, snapshot_bytes()).unwrap();
    assert_eq!(snapshot::restore(restore_args(&api, file)).await, 1);
}

#[test]
fn header_errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.snap");
    std::fs::write(&file, "{\"Format\":\"other\",\"Version\":1}\nrest").unwrap();
    let err = read_header(&file).unwrap_err().to_string();
    assert!(err.contains("is not a nomadish snapshot"), "{err}");
    assert!(err.contains("\"other\""), "{err}");
    let mut newer = header();
    newer.version = 9;
    std::fs::write(
        &file,
        [serde_json::to_vec(&newer).unwrap(), b"\n".to_vec()].concat(),
    )
    .unwrap();
    let err = read_header(&file).unwrap_err().to_string();
    assert!(err.contains("format version 9"), "{err}");
}

#[test]
fn inspect_prints_nomads_layout() {
    let info = SnapshotInfo {
        header: header(),
        size: 4115,
    };
    let expected = "\
Created = 2023-11-14T22:13:20Z
ID      = 2-1182-1700000000123
Size    = 4.0 KiB
Index   = 1182
Term    = 2
Version = 1

Type         Count
----         -----
Jobs         3
Evaluations  14
Allocations  27
Nodes        5";
    assert_eq!(inspect_text(&info), expected);
    let json = serde_json::to_value(inspect_json(&info)).unwrap();
    assert_eq!(json["Meta"]["ID"], "2-1182-1700000000123");
    assert_eq!(json["Meta"]["Size"], 4115);
    assert_eq!(json["Meta"]["Index"], 1182);
    assert_eq!(
        json["Stats"][2],
        json!({"Name": "Allocations", "Count": 27})
    );
}

#[test]
fn inspect_reads_the_local_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.snap");
    std::fs::write(&file, snapshot_bytes()).unwrap();
    let info = read_header(&file).unwrap();
    assert_eq!(info.header, header());
    assert_eq!(info.size, snapshot_bytes().len() as u64);
    for json in [false, true] {
        let args = SnapshotInspectArgs {
            json,
            file: file.clone(),
        };
        assert_eq!(snapshot::inspect(&args), 0);
    }
    let bad = SnapshotInspectArgs {
        json: false,
        file: dir.path().join("missing.snap"),
    };
    assert_eq!(snapshot::inspect(&bad), 1);
}

#[test]
fn default_save_name_is_dated() {
    let name = snapshot::default_file_name().display().to_string();
    assert!(name.starts_with("nomadish-state-20"), "{name}");
    assert!(name.ends_with(".snap"), "{name}");
    assert_eq!(name.split('-').nth(2).map(str::len), Some(8), "{name}");
}

fn parse(argv: &[&str]) -> OperatorCommand {
    let mut full = vec!["nomadish", "operator"];
    full.extend_from_slice(argv);
    let cli = <Cli as clap::Parser>::try_parse_from(translate_args(full)).unwrap();
    match cli.command {
        Command::Operator(cmd) => cmd,
        other => panic!("not operator: {other:?}"),
    }
}

#[test]
fn nomad_style_flags_parse() {
    let cmd = parse(&[
        "raft",
        "list-peers",
        "-json",
        "-stale",
        "-address=http://h:4646",
    ]);
    let OperatorCommand::Raft(RaftCommand::ListPeers(a)) = cmd else {
        panic!("{cmd:?}");
    };
    assert!(a.json && a.stale);
    assert_eq!(a.api.address, "http://h:4646");
    let cmd = parse(&["raft", "remove-peer", "-peer-address", "10.0.0.2:4647"]);
    let OperatorCommand::Raft(RaftCommand::RemovePeer(a)) = cmd else {
        panic!("{cmd:?}");
    };
    assert_eq!(a.peer_address.as_deref(), Some("10.0.0.2:4647"));
    let cmd = parse(&["raft", "transfer-leadership", "-peer-id=3", "-token", "t"]);
    let OperatorCommand::Raft(RaftCommand::TransferLeadership(a)) = cmd else {
        panic!("{cmd:?}");
    };
    assert_eq!(a.peer_id.as_deref(), Some("3"));
    assert_eq!(a.api.token.as_deref(), Some("t"));
    let cmd = parse(&["snapshot", "save", "-stale", "b.snap"]);
    assert!(
        matches!(cmd, OperatorCommand::Snapshot(SnapshotCommand::Save(ref a))
        if a.stale && a.file == Some(PathBuf::from("b.snap")))
    );
    let cmd = parse(&["snapshot", "restore", "b.snap"]);
    assert!(matches!(
        cmd,
        OperatorCommand::Snapshot(SnapshotCommand::Restore(_))
    ));
    let cmd = parse(&["snapshot", "inspect", "-json", "b.snap"]);
    assert!(matches!(cmd, OperatorCommand::Snapshot(SnapshotCommand::Inspect(ref a)) if a.json));
}
