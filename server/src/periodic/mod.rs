//! The periodic dispatcher: a leader-only task that launches the children of periodic jobs
//! on their cron schedules. The decisions are in the sans-IO [`core::Dispatcher`]; this shell
//! reads the state, writes the launches and sleeps until the next one.
//!
//! ```text
//!   loop: view ──> Dispatcher::tick(view, now) ──> LaunchPeriodicChild per due job (raft)
//!           ^                                         │
//!           └── sleep until next launch, a job change, or MAX_IDLE ─┘
//! ```
//!
//! Each launch is recorded in the replicated `periodic_launch` table with the child, and the
//! FSM refuses a scheduled launch at or before the recorded one, so a new leader picks up the
//! schedule where the old one left it and never launches the same child twice.

mod core;

use std::sync::Arc;
use std::time::Duration;

use nomadish_proto::model::{Job, NS_PER_SEC, now_ns, trigger};
use tokio::sync::watch;
use tokio::time::Instant;

pub use self::core::{Dispatcher, Launch, Tick, child_id, derive_child, has_live_child};
use crate::evals::job_eval;
use crate::fsm::{Command, CommandResponse};
use crate::server::{Server, WriteError};

/// Longest sleep between looks at the schedule, whatever the next launch time.
const MAX_IDLE: Duration = Duration::from_secs(60);
/// Pause after a launch could not be written, before trying again.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// Shortest gap between two looks caused by job changes (jobs change often under load; a look
/// scans every job).
const MIN_TICK_GAP: Duration = Duration::from_millis(200);

/// Launches one child of `parent` at `launch` (Unix ns); returns the evaluation's ID and the
/// write's response.
pub async fn launch_child(
    server: &Server,
    parent: &Job,
    launch: i64,
    force: bool,
) -> Result<(String, CommandResponse), WriteError> {
    let child = derive_child(parent, launch);
    let now = now_ns();
    let eval = job_eval(&child, trigger::PERIODIC_JOB, now);
    let eval_id = eval.id.clone();
    tracing::info!(job = %parent.id, child = %child.id, force, "launching periodic job");
    let resp = server
        .write(Command::LaunchPeriodicChild {
            child: Box::new(child),
            eval,
            launch,
            force,
            now,
        })
        .await?;
    Ok((eval_id, resp))
}

/// `job periodic force`: launches a child now (whole seconds, as child IDs are).
pub async fn force_launch(
    server: &Server,
    parent: &Job,
) -> Result<(String, CommandResponse), WriteError> {
    let now = now_ns();
    launch_child(server, parent, now - now.rem_euclid(NS_PER_SEC), true).await
}

/// Runs the dispatcher until `shutdown`.
pub async fn run_periodic(server: Arc<Server>, mut shutdown: watch::Receiver<bool>) {
    let mut dispatcher = Dispatcher::default();
    let mut changes = server.state.subscribe();
    loop {
        let ticked_at = Instant::now();
        let view = server.state.snapshot();
        let jobs_seen = view.tables.jobs;
        let now = now_ns();
        let tick = dispatcher.tick(&view, now);
        let mut failed = false;
        for Launch { key, launch } in &tick.launches {
            let Some(parent) = view.jobs.get(key) else {
                continue;
            };
            if let Err(e) = launch_child(&server, parent, *launch, false).await {
                tracing::warn!(job = %key.1, error = %e, "periodic launch failed");
                failed = true;
            }
        }
        let wait = match (failed, tick.next_wake) {
            (true, _) => RETRY_DELAY,
            (false, Some(at)) => Duration::from_nanos(u64::try_from(at - now).unwrap_or(0)),
            (false, None) => MAX_IDLE,
        };
        let deadline = Instant::now() + wait.min(MAX_IDLE);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                r = changes.changed() => {
                    if r.is_err() {
                        return;
                    }
                    if server.state.snapshot().tables.jobs != jobs_seen {
                        let earliest = (ticked_at + MIN_TICK_GAP).min(deadline);
                        tokio::select! {
                            () = tokio::time::sleep_until(earliest) => {}
                            _ = shutdown.changed() => return,
                        }
                        break;
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}
