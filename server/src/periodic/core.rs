//! The periodic dispatcher's decisions, sans-IO: which periodic jobs are due at `now`, at
//! which launch time, and when to look again.
//!
//! ```text
//!   for each enabled, running periodic job:
//!     base = max(last recorded launch, submit time, last skipped launch)
//!     next = schedule.next_after(base)
//!     next >  now ─────────────────────────────> wake at next
//!     next <= now ─┬─ prohibit_overlap and a child is alive ─> skip it (remember), wake later
//!                  └─ otherwise ─> launch at the latest scheduled time <= now (missed launches
//!                                  while no leader ran collapse into one, as in Nomad)
//! ```

use std::collections::BTreeMap;

use nomadish_jobspecs::periodic::Schedule;
use nomadish_proto::model::{JOB_STATUS_DEAD, Job, NS_PER_SEC};

use crate::state::{JobKey, StateView};

/// Scheduled times stepped through when catching up before giving up and launching "now".
const MAX_CATCH_UP_STEPS: usize = 10_000;

/// One child to launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The periodic job.
    pub key: JobKey,
    /// The launch time (Unix ns, whole seconds).
    pub launch: i64,
}

/// What one tick decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    /// Children to launch now.
    pub launches: Vec<Launch>,
    /// The earliest future launch time of any periodic job (Unix ns).
    pub next_wake: Option<i64>,
}

/// The dispatcher's memory between ticks: launches skipped because of `prohibit_overlap`
/// (not replicated: a new leader at worst reconsiders the one skipped launch).
#[derive(Debug, Default)]
pub struct Dispatcher {
    skipped: BTreeMap<JobKey, i64>,
}

/// The ID of the child launched at `launch` (Unix ns): `PARENT/periodic-<unix seconds>`.
pub fn child_id(parent: &str, launch: i64) -> String {
    format!("{parent}/periodic-{}", launch.div_euclid(NS_PER_SEC))
}

/// The child job a periodic job launches: a copy without the periodic block, named after its
/// launch time, pointing at its parent, with the server's bookkeeping cleared.
pub fn derive_child(parent: &Job, launch: i64) -> Job {
    let id = child_id(&parent.id, launch);
    Job {
        name: id.clone(),
        id,
        parent_id: parent.id.clone(),
        periodic: None,
        status: String::new(),
        status_description: String::new(),
        stable: false,
        version: 0,
        create_index: 0,
        modify_index: 0,
        job_modify_index: 0,
        ..parent.clone()
    }
}

/// Whether a periodic job has a child that is not dead yet.
pub fn has_live_child(view: &StateView, parent: &Job) -> bool {
    let prefix = format!("{}/periodic-", parent.id);
    view.jobs
        .range((parent.namespace.clone(), prefix.clone())..)
        .take_while(|((ns, id), _)| *ns == parent.namespace && id.starts_with(&prefix))
        .any(|(_, child)| child.parent_id == parent.id && child.status != JOB_STATUS_DEAD)
}

/// The latest scheduled time that is `<= now`, starting from `first` (which is).
fn latest_due(schedule: &Schedule, first: i64, now: i64) -> i64 {
    let mut at = first;
    for _ in 0..MAX_CATCH_UP_STEPS {
        match schedule.next_after(at) {
            Some(next) if next <= now => at = next,
            _ => return at,
        }
    }
    now - now.rem_euclid(NS_PER_SEC)
}

impl Dispatcher {
    /// Decides the launches due at `now`.
    pub fn tick(&mut self, view: &StateView, now: i64) -> Tick {
        let mut tick = Tick::default();
        let mut wake = |t: Option<i64>| {
            if let Some(t) = t {
                tick.next_wake = Some(tick.next_wake.map_or(t, |w: i64| w.min(t)));
            }
        };
        let mut launches = Vec::new();
        for (key, job) in view.jobs.iter() {
            let Some(periodic) = job.periodic.as_ref().filter(|p| p.enabled) else {
                continue;
            };
            if job.stop {
                continue;
            }
            let Ok(schedule) = Schedule::new(periodic) else {
                continue;
            };
            let recorded = view.periodic_launches.get(key).map_or(0, |l| l.launch);
            let skipped = self.skipped.get(key).copied().unwrap_or(0);
            let base = recorded.max(job.submit_time).max(skipped);
            let Some(next) = schedule.next_after(base) else {
                continue;
            };
            if next > now {
                wake(Some(next));
                continue;
            }
            let launch = latest_due(&schedule, next, now);
            if periodic.prohibit_overlap && has_live_child(view, job) {
                self.skipped.insert(key.clone(), launch);
            } else {
                launches.push(Launch {
                    key: key.clone(),
                    launch,
                });
            }
            wake(schedule.next_after(launch));
        }
        self.skipped.retain(|k, _| view.jobs.contains_key(k));
        tick.launches = launches;
        tick
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
