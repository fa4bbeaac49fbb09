//! The watcher's decisions, sans-IO: given what the client runs and one update from the
//! server, what to start, update, stop, drop, or just remember.
//!
//! ```text
//! changed alloc, not known:   client-terminal on the server  -> Track (logs stay readable)
//!                             server wants it stopped         -> ReportStopped (never ran here)
//!                             otherwise                       -> Start (restarted if it ran before)
//! changed alloc, known:       desired stop / evict            -> Stop
//!                             new job version / modify index  -> Update (in place)
//! known ID missing from the server's list                     -> Drop
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use nomadish_proto::model::Allocation;

/// What the client remembers of an allocation it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Known {
    pub job_version: u64,
    pub job_modify_index: u64,
}

impl Known {
    /// The version facts of an allocation's job.
    pub fn of(alloc: &Allocation) -> Self {
        alloc.job.as_ref().map_or_else(Self::default, |j| Self {
            job_version: j.version,
            job_modify_index: j.job_modify_index,
        })
    }
}

/// One step for the alloc manager.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchAction {
    /// Run a new allocation; `restarted` when it ran here before a client restart.
    Start {
        alloc: Arc<Allocation>,
        restarted: bool,
    },
    /// The allocation changed in place: keep running, remember the new job.
    Update(Arc<Allocation>),
    /// The server wants it stopped: kill its tasks.
    Stop(String),
    /// The server no longer has it: stop it and forget it.
    Drop(String),
    /// Remember a finished allocation (its logs can still be streamed).
    Track(Arc<Allocation>),
    /// The server wants it stopped but nothing runs here: report its tasks dead.
    ReportStopped(Arc<Allocation>),
}

/// Plans the actions for one update: `changed` allocations and the IDs of every allocation
/// the server has for this node. `recovered` holds allocations that were running when the
/// client last stopped.
pub fn plan(
    known: &BTreeMap<String, Known>,
    changed: Vec<Allocation>,
    all_ids: &[String],
    recovered: &BTreeSet<String>,
) -> Vec<WatchAction> {
    let mut actions = Vec::new();
    for alloc in changed {
        let alloc = Arc::new(alloc);
        match known.get(&alloc.id) {
            Some(_) if alloc.server_terminal() => actions.push(WatchAction::Stop(alloc.id.clone())),
            Some(k) if *k != Known::of(&alloc) => actions.push(WatchAction::Update(alloc)),
            Some(_) => {}
            None if alloc.client_terminal() => actions.push(WatchAction::Track(alloc)),
            None if alloc.server_terminal() => actions.push(WatchAction::ReportStopped(alloc)),
            None => {
                let restarted = recovered.contains(&alloc.id) || !alloc.task_states.is_empty();
                actions.push(WatchAction::Start { alloc, restarted });
            }
        }
    }
    let listed: BTreeSet<&str> = all_ids.iter().map(String::as_str).collect();
    actions.extend(
        known
            .keys()
            .filter(|id| !listed.contains(id.as_str()))
            .map(|id| WatchAction::Drop(id.clone())),
    );
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{Job, TaskState};

    fn alloc(id: &str, desired: &str, client: &str, version: u64) -> Allocation {
        Allocation {
            id: id.into(),
            desired_status: desired.into(),
            client_status: client.into(),
            job: Some(Arc::new(Job {
                version,
                ..Job::default()
            })),
            ..Allocation::default()
        }
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn new_allocations_start_unless_finished_or_stopped() {
        let known = BTreeMap::new();
        let changed = vec![
            alloc("new", "run", "pending", 0),
            alloc("done", "run", "complete", 0),
            alloc("stopped", "stop", "running", 0),
        ];
        let actions = plan(
            &known,
            changed,
            &ids(&["new", "done", "stopped"]),
            &BTreeSet::new(),
        );
        assert!(
            matches!(&actions[0], WatchAction::Start { alloc, restarted: false } if alloc.id == "new")
        );
        assert!(matches!(&actions[1], WatchAction::Track(a) if a.id == "done"));
        assert!(matches!(&actions[2], WatchAction::ReportStopped(a) if a.id == "stopped"));
        assert_eq!(actions.len(), 3);
    }

    #[test]
    fn allocations_that_ran_before_a_client_restart_are_marked_restarted() {
        let mut with_states = alloc("b", "run", "running", 0);
        with_states
            .task_states
            .insert("web".into(), TaskState::default());
        let changed = vec![alloc("a", "run", "pending", 0), with_states];
        let recovered = BTreeSet::from(["a".to_string()]);
        let actions = plan(&BTreeMap::new(), changed, &ids(&["a", "b"]), &recovered);
        assert!(matches!(
            &actions[0],
            WatchAction::Start {
                restarted: true,
                ..
            }
        ));
        assert!(matches!(
            &actions[1],
            WatchAction::Start {
                restarted: true,
                ..
            }
        ));
    }

    #[test]
    fn known_allocations_stop_update_or_stay() {
        let known = BTreeMap::from([
            (
                "a".to_string(),
                Known {
                    job_version: 1,
                    job_modify_index: 0,
                },
            ),
            (
                "b".to_string(),
                Known {
                    job_version: 1,
                    job_modify_index: 0,
                },
            ),
            (
                "c".to_string(),
                Known {
                    job_version: 1,
                    job_modify_index: 0,
                },
            ),
        ]);
        let changed = vec![
            alloc("a", "stop", "running", 1),
            alloc("b", "run", "running", 2),
            alloc("c", "run", "running", 1),
        ];
        let actions = plan(&known, changed, &ids(&["a", "b", "c"]), &BTreeSet::new());
        assert_eq!(actions[0], WatchAction::Stop("a".into()));
        assert!(matches!(&actions[1], WatchAction::Update(a) if a.id == "b"));
        assert_eq!(actions.len(), 2);
    }

    #[test]
    fn allocations_the_server_forgot_are_dropped() {
        let known = BTreeMap::from([
            ("keep".to_string(), Known::default()),
            ("gone".to_string(), Known::default()),
        ]);
        let actions = plan(&known, vec![], &ids(&["keep"]), &BTreeSet::new());
        assert_eq!(actions, [WatchAction::Drop("gone".into())]);
    }
}
