//! Gauges read at scrape time from the server's own structures, so no hot path keeps them:
//! the eval broker's queues, raft indexes, heartbeat timers, jobs by status and allocations
//! by job, task group and client status (Nomad's `job_summary` gauges).

use std::collections::BTreeMap;

use nomadish_metrics::{Labels, Snapshot};

use crate::server::Server;
use crate::state::StateView;

/// Every metric of the process plus this server's gauges.
pub fn scrape(server: &Server) -> Snapshot {
    let mut snap = nomadish_metrics::global().snapshot();
    broker(server, &mut snap);
    raft(server, &mut snap);
    let view = server.state.snapshot();
    jobs(&view, &mut snap);
    allocations(&view, &mut snap);
    snap.sort();
    snap
}

fn broker(server: &Server, snap: &mut Snapshot) {
    let s = server.broker.stats();
    let gauges = [
        ("nomad.nomad.broker.total_ready", s.ready),
        ("nomad.nomad.broker.total_unacked", s.unacked),
        ("nomad.nomad.broker.total_pending", s.pending),
        ("nomad.nomad.broker.total_waiting", s.delayed),
        ("nomad.nomad.broker.total_blocked", s.blocked),
        ("nomad.nomad.blocked_evals.total_blocked", s.blocked),
        ("nomad.nomad.heartbeat.active", server.heartbeats.active()),
    ];
    for (name, v) in gauges {
        snap.push_gauge(name, Vec::new(), v as f64);
    }
}

fn raft(server: &Server, snap: &mut Snapshot) {
    let m = server.raft.metrics().borrow().clone();
    let leader = f64::from(u8::from(server.is_leader()));
    let gauges = [
        (
            "nomad.raft.appliedIndex",
            m.last_applied.map_or(0, |l| l.index) as f64,
        ),
        ("nomad.raft.lastIndex", m.last_log_index.unwrap_or(0) as f64),
        ("nomad.raft.term", m.current_term as f64),
        ("nomad.raft.peers", server.peers().len() as f64),
        ("nomad.raft.is_leader", leader),
    ];
    for (name, v) in gauges {
        snap.push_gauge(name, Vec::new(), v);
    }
}

/// `nomad.nomad.job_status.{pending,running,dead}`, every status present even at zero.
fn jobs(view: &StateView, snap: &mut Snapshot) {
    let mut counts: BTreeMap<&str, u64> = ["pending", "running", "dead"]
        .into_iter()
        .map(|s| (s, 0))
        .collect();
    for job in view.jobs.values() {
        *counts.entry(job.status.as_str()).or_default() += 1;
    }
    for (status, n) in counts {
        let name = format!("nomad.nomad.job_status.{status}");
        snap.push_gauge(&name, Vec::new(), n as f64);
    }
}

/// The job summary status a client status counts under.
fn summary_status(client_status: &str) -> &str {
    match client_status {
        "pending" => "starting",
        other => other,
    }
}

/// `nomad.nomad.job_summary.<status>{namespace,job,task_group}` from the allocations.
fn allocations(view: &StateView, snap: &mut Snapshot) {
    let mut counts: BTreeMap<(&str, &str, &str, &str), u64> = BTreeMap::new();
    for a in view.allocs.values() {
        let key = (
            summary_status(&a.client_status),
            a.namespace.as_str(),
            a.job_id.as_str(),
            a.task_group.as_str(),
        );
        *counts.entry(key).or_default() += 1;
    }
    for ((status, namespace, job, group), n) in counts {
        let labels: Labels = vec![
            ("job".into(), job.into()),
            ("namespace".into(), namespace.into()),
            ("task_group".into(), group.into()),
        ];
        let name = format!("nomad.nomad.job_summary.{status}");
        snap.push_gauge(&name, labels, n as f64);
    }
}
