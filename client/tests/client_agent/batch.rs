//! A batch task runs to completion; its output lands in the log file and streams back
//! through the tunnel.

use nomadish_proto::model::Allocation;
use nomadish_proto::node_v1::{LogRequest, StreamChunk};

use crate::fake::FakeServer;
use crate::harness::{Agent, alloc, event_types, quick_restarts, sh_task, wait_until};

fn log_request(
    stream_id: u64,
    alloc_id: &str,
    task: &str,
    log_type: &str,
    origin: &str,
    offset: i64,
) -> LogRequest {
    LogRequest {
        stream_id,
        alloc_id: alloc_id.into(),
        task: task.into(),
        log_type: log_type.into(),
        origin: origin.into(),
        offset,
        follow: false,
    }
}

async fn stream_result(server: &FakeServer, stream_id: u64) -> Vec<StreamChunk> {
    wait_until("the stream to end", || {
        server.with(|s| {
            s.chunks
                .get(&stream_id)
                .is_some_and(|c| c.iter().any(|c| c.eof))
        })
    })
    .await;
    server.with(|s| s.chunks[&stream_id].clone())
}

fn data(chunks: &[StreamChunk]) -> String {
    chunks
        .iter()
        .map(|c| String::from_utf8_lossy(&c.data).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_task_completes_and_its_log_streams_through_the_tunnel() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    assert_registered(&server).await;
    let (a, stdout) = run_batch_to_completion(&server, &agent).await;
    assert_logs_stream(&server, &a, &stdout).await;
    wait_until("a few heartbeats", || server.with(|s| s.heartbeats >= 2)).await;
    agent.stop().await;
    server.stop().await;
}

async fn assert_registered(server: &FakeServer) {
    wait_until("registration", || {
        server.with(|s| !s.registrations.is_empty())
    })
    .await;
    let node = server.with(|s| s.registrations[0].clone());
    assert_eq!(node.status, "ready");
    assert_eq!(node.name, "test-node");
    assert!(node.has_driver("raw_exec"));
    assert_eq!(node.attributes["driver.raw_exec"], "1");
    assert!(node.node_resources.cpu.cpu_shares > 0);
}

/// Runs a batch alloc whose args use client-side interpolation; returns it and its stdout.
async fn run_batch_to_completion(server: &FakeServer, agent: &Agent) -> (Allocation, String) {
    let script = "echo hello from $NOMAD_TASK_NAME on ${node.unique.name} rack ${meta.rack}; \
                  echo oops >&2; sleep 0.5";
    let a = alloc("batch", vec![sh_task("web", script)], quick_restarts(3));
    server.upsert_alloc(a.clone());
    wait_until("the alloc to complete", || {
        server.with(|s| {
            s.latest(&a.id)
                .is_some_and(|u| u.client_status == "complete")
        })
    })
    .await;
    let update = server.with(|s| s.latest(&a.id).unwrap().clone());
    let web = &update.task_states["web"];
    assert_eq!(web.state, "dead");
    assert!(!web.failed);
    assert_eq!(
        event_types(web),
        ["Received", "Task Setup", "Started", "Terminated"]
    );
    assert_eq!(web.events[3].exit_code, 0);
    assert!(web.started_at.is_some() && web.finished_at.is_some());
    assert!(server.with(|s| {
        s.updates
            .iter()
            .any(|u| u.id == a.id && u.client_status == "running")
    }));
    let logs = agent.alloc_dir(&a.id).join("alloc/logs");
    let stdout = std::fs::read_to_string(logs.join("web.stdout.0")).unwrap();
    assert_eq!(stdout, "hello from web on test-node rack r1\n");
    assert_eq!(
        std::fs::read_to_string(logs.join("web.stderr.0")).unwrap(),
        "oops\n"
    );
    (a, stdout)
}

async fn assert_logs_stream(server: &FakeServer, a: &Allocation, stdout: &str) {
    wait_until("the tunnel", || server.tunnel_open()).await;
    server.request_logs(log_request(1, &a.id, "web", "stdout", "start", 0));
    let chunks = stream_result(server, 1).await;
    assert_eq!(data(&chunks), stdout);
    assert_eq!(
        (chunks[0].file.as_str(), chunks[0].offset),
        ("alloc/logs/web.stdout.0", 0)
    );
    assert!(chunks.iter().all(|c| c.error.is_empty()));

    server.request_logs(log_request(2, &a.id, "web", "stderr", "end", 3));
    let chunks = stream_result(server, 2).await;
    assert_eq!(data(&chunks), "ps\n");
    assert_eq!(chunks[0].offset, 2);

    server.request_logs(log_request(3, "no-such-alloc", "web", "stdout", "start", 0));
    let chunks = stream_result(server, 3).await;
    assert!(
        chunks[0].not_found && !chunks[0].error.is_empty(),
        "{chunks:?}"
    );

    server.request_logs(log_request(4, &a.id, "nope", "stdout", "start", 0));
    let chunks = stream_result(server, 4).await;
    assert!(
        chunks[0].not_found && chunks[0].error.contains("nope"),
        "{chunks:?}"
    );

    server.request_logs(log_request(5, &a.id, "web", "stdin", "start", 0));
    let chunks = stream_result(server, 5).await;
    assert!(
        !chunks[0].not_found && !chunks[0].error.is_empty(),
        "{chunks:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_node_registers_again() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&server, dir.path());
    wait_until("registration", || {
        server.with(|s| s.registrations.len() == 1)
    })
    .await;
    server.modify(|s| s.forget_node = true);
    wait_until("re-registration", || {
        server.with(|s| s.registrations.len() == 2)
    })
    .await;
    let (first, second) = server.with(|s| (s.registrations[0].clone(), s.registrations[1].clone()));
    assert_eq!(first.id, second.id);
    assert_eq!(first.secret_id, second.secret_id);
    agent.stop().await;

    // The identity persists across agent restarts.
    let agent = Agent::start(&server, dir.path());
    wait_until("registration after restart", || {
        server.with(|s| s.registrations.len() == 3)
    })
    .await;
    assert_eq!(server.with(|s| s.registrations[2].id.clone()), first.id);
    agent.stop().await;
    server.stop().await;
}
