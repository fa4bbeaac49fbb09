//! What runs only on the leader, started when this server gains leadership and stopped when
//! it loses it.
//!
//! ```text
//!   raft metrics ──(became leader)──> establish: catch up, enable broker, restore evaluations,
//!        │                            heartbeat deadlines (failover TTL), spawn workers,
//!        │                            plan applier, broker timers, heartbeat expiry, unblocker,
//!        │                            periodic dispatcher, garbage collector, deployment
//!        │                            watcher, node drainer
//!        └──(lost leadership)──────> revoke: stop and join them, disable broker, forget deadlines
//! ```

use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::{
    EVAL_STATUS_BLOCKED, EVAL_STATUS_PENDING, NODE_STATUS_DOWN, NodeEvent, now_ns, trigger,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::evals::node_job_evals;
use crate::fsm::Command;
use crate::plan_apply::run_plan_applier;
use crate::server::Server;
use crate::worker::{mark_failed, run_worker};

/// Plans queued for the applier before workers wait.
const PLAN_QUEUE: usize = 64;
/// How long leader tasks may take to finish when leadership ends.
const REVOKE_GRACE: Duration = Duration::from_secs(3);
/// How long a new leader waits to apply everything committed before it starts.
const CATCH_UP: Duration = Duration::from_secs(10);

/// The running leader-only tasks.
pub struct LeaderHandle {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts the leader's machinery.
pub async fn establish(server: &Arc<Server>) -> LeaderHandle {
    match server.confirm_leadership().await {
        Ok(Some(log_id)) => {
            server.state.wait_for_index(log_id.index, CATCH_UP).await;
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "leader could not confirm its log before starting"),
    }
    tracing::info!(
        node_id = server.node_id,
        "became leader; starting leader services"
    );
    server.broker.set_enabled(true);
    let (plan_tx, plan_rx) = mpsc::channel(PLAN_QUEUE);
    *server.plans.lock().unwrap_or_else(|e| e.into_inner()) = Some(plan_tx);
    restore(server);

    let (shutdown, rx) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(run_plan_applier(
        server.clone(),
        plan_rx,
        rx.clone(),
    ))];
    for _ in 0..server.config.num_schedulers.max(1) {
        tasks.push(tokio::spawn(run_worker(server.clone(), rx.clone())));
    }
    tasks.push(spawn_broker_timers(server.clone(), rx.clone()));
    tasks.push(spawn_heartbeat_expiry(server.clone(), rx.clone()));
    tasks.push(tokio::spawn(crate::deployments::run_deployment_watcher(
        server.clone(),
        rx.clone(),
    )));
    tasks.push(tokio::spawn(crate::periodic::run_periodic(
        server.clone(),
        rx.clone(),
    )));
    tasks.push(tokio::spawn(crate::gc::run_gc(server.clone(), rx.clone())));
    tasks.push(tokio::spawn(crate::drainer::run_drainer(
        server.clone(),
        rx.clone(),
    )));
    tasks.push(tokio::spawn(crate::auth::reaper::run_token_reaper(
        server.clone(),
        rx.clone(),
    )));
    tasks.push(tokio::spawn(run_unblocker(server.clone(), rx)));
    LeaderHandle { shutdown, tasks }
}

/// Stops the leader's machinery and waits for it.
pub async fn revoke(server: &Server, handle: LeaderHandle) {
    tracing::info!(node_id = server.node_id, "stopping leader services");
    let _ = handle.shutdown.send(true);
    *server.plans.lock().unwrap_or_else(|e| e.into_inner()) = None;
    // A worker may be waiting on a write that can no longer commit (leadership or quorum
    // lost); such tasks are cut after a grace period. Their evaluations stay pending in the
    // state, and the next leader offers them again.
    let aborted = crate::tasks::join_or_abort(handle.tasks, REVOKE_GRACE).await;
    if aborted > 0 {
        tracing::warn!(
            aborted,
            "leader tasks did not finish in time and were stopped"
        );
    }
    server.broker.set_enabled(false);
    server.heartbeats.clear();
}

/// Puts outstanding evaluations in the broker and gives every live node the failover TTL.
fn restore(server: &Server) {
    let view = server.state.snapshot();
    let mut pending = Vec::new();
    for eval in view.evals.values() {
        match eval.status.as_str() {
            EVAL_STATUS_PENDING => pending.push(eval.as_ref().clone()),
            EVAL_STATUS_BLOCKED => {
                server.broker.block(eval.as_ref().clone());
            }
            _ => {}
        }
    }
    server.broker.enqueue_all(pending);
    server.broker.unblock_all(view.capacity_index);
    let ttl = server.heartbeats.failover_ttl();
    for node in view.nodes.values().filter(|n| n.status != NODE_STATUS_DOWN) {
        server.heartbeats.reset_with_ttl(&node.id, ttl);
    }
}

fn spawn_broker_timers(server: Arc<Server>, rx: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let failer = server.clone();
        server
            .broker
            .run_timers(
                move |eval| {
                    let server = failer.clone();
                    tokio::spawn(async move {
                        let desc = "evaluation lease expired too many times";
                        if let Err(e) = mark_failed(&server, &eval, desc).await {
                            tracing::warn!(eval = %eval.id, error = %e, "could not mark evaluation failed");
                        }
                    });
                },
                rx,
            )
            .await;
    })
}

fn spawn_heartbeat_expiry(server: Arc<Server>, rx: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let marker = server.clone();
        server
            .heartbeats
            .run(
                move |nodes| {
                    let server = marker.clone();
                    tokio::spawn(async move { mark_nodes_down(&server, nodes).await });
                },
                rx,
            )
            .await;
    })
}

/// Marks nodes whose heartbeat deadline passed as down, with evaluations for their jobs.
pub async fn mark_nodes_down(server: &Server, nodes: Vec<String>) {
    for node_id in nodes {
        let view = server.state.snapshot();
        let Some(node) = view.nodes.get(&node_id) else {
            continue;
        };
        if node.status == NODE_STATUS_DOWN {
            continue;
        }
        let now = now_ns();
        let evals = node_job_evals(&view, &node_id, trigger::NODE_UPDATE, now);
        tracing::warn!(node = %node_id, jobs = evals.len(), "node missed its heartbeat; marking it down");
        let cmd = Command::UpdateNodeStatus {
            node_id: node_id.clone(),
            status: NODE_STATUS_DOWN.to_string(),
            event: Some(NodeEvent {
                message: "Node heartbeat missed".to_string(),
                subsystem: "Cluster".to_string(),
                timestamp: now,
                ..NodeEvent::default()
            }),
            evals,
            now,
        };
        if let Err(e) = server.write(cmd).await {
            tracing::warn!(node = %node_id, error = %e, "could not mark node down");
        }
    }
}

/// Retries blocked evaluations whenever capacity may have freed up, and rebuilds the leader's
/// view of evaluations and nodes after a snapshot restore replaced the state.
async fn run_unblocker(server: Arc<Server>, mut shutdown: watch::Receiver<bool>) {
    let mut changes = server.state.subscribe();
    let first = server.state.snapshot();
    let (mut capacity_seen, mut restore_seen) = (first.capacity_index, first.restore_index);
    loop {
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = shutdown.changed() => return,
        }
        let view = server.state.snapshot();
        if view.restore_index > restore_seen {
            restore_seen = view.restore_index;
            tracing::info!(
                index = restore_seen,
                "state restored; rebuilding the broker and heartbeats"
            );
            server.broker.set_enabled(false);
            server.broker.set_enabled(true);
            server.heartbeats.clear();
            restore(&server);
        }
        if view.capacity_index > capacity_seen {
            capacity_seen = view.capacity_index;
            server.broker.unblock_all(capacity_seen);
        }
    }
}

/// Follows raft leadership, starting and stopping the leader's machinery, until `shutdown`.
pub async fn run_leadership(server: Arc<Server>, mut shutdown: watch::Receiver<bool>) {
    let mut metrics = server.raft.metrics();
    let mut handle: Option<LeaderHandle> = None;
    loop {
        let leading = server.is_leader();
        if leading && handle.is_none() {
            crate::metrics::incr("nomad.raft.state.leader", &[]);
            handle = Some(establish(&server).await);
        } else if !leading && let Some(h) = handle.take() {
            crate::metrics::incr("nomad.raft.state.follower", &[]);
            revoke(&server, h).await;
        }
        tokio::select! {
            r = metrics.changed() => if r.is_err() { break },
            _ = shutdown.changed() => break,
        }
    }
    if let Some(h) = handle {
        revoke(&server, h).await;
    }
}
