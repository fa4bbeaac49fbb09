//! Applying namespace writes: upsert and delete.
//!
//! `default` always exists: it may be edited (its description, meta, quota) but never deleted.
//! A namespace that still holds jobs (not yet purged) or variables cannot be deleted. Changing a
//! namespace's quota moves `capacity_index`, so evaluations blocked on the old quota are
//! retried.

use std::sync::Arc;

use nomadish_proto::model::{DEFAULT_NAMESPACE, Namespace};
use serde::{Deserialize, Serialize};

use super::ApplyError;
use crate::state::StateView;

/// One namespaces change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NamespaceOp {
    /// Create or replace a namespace (its indexes are stamped on apply).
    Upsert {
        /// The namespace, validated by the proposer (and again here).
        namespace: Box<Namespace>,
    },
    /// Delete a namespace.
    Delete {
        /// Its name.
        name: String,
    },
}

/// Applies one namespaces change at `index`.
pub(super) fn apply(view: &mut StateView, index: u64, op: NamespaceOp) -> Result<(), ApplyError> {
    match op {
        NamespaceOp::Upsert { namespace } => upsert(view, index, *namespace),
        NamespaceOp::Delete { name } => delete(view, index, &name),
    }
}

fn upsert(view: &mut StateView, index: u64, mut ns: Namespace) -> Result<(), ApplyError> {
    ns.validate()
        .map_err(|reason| ApplyError::Rejected { reason })?;
    let old = view.namespaces.get(&ns.name).cloned();
    ns.create_index = old.as_ref().map_or(index, |o| o.create_index);
    ns.modify_index = index;
    let old_limits = old.as_ref().and_then(|o| o.limits());
    if old_limits != ns.limits() {
        // A changed quota may let blocked placements through.
        view.capacity_index = index;
    }
    view.namespaces.insert(ns.name.clone(), Arc::new(ns));
    view.tables.namespaces = index;
    Ok(())
}

fn delete(view: &mut StateView, index: u64, name: &str) -> Result<(), ApplyError> {
    if name == DEFAULT_NAMESPACE {
        return Err(ApplyError::Rejected {
            reason: "the default namespace cannot be deleted".to_string(),
        });
    }
    if !view.namespaces.contains_key(name) {
        return Err(ApplyError::NotFound {
            kind: format!("namespace {name:?}"),
        });
    }
    let jobs = view.namespace_job_ids(name);
    if !jobs.is_empty() {
        return Err(ApplyError::Rejected {
            reason: format!(
                "namespace {name:?} has jobs that are not purged: [{}]; purge them first (job stop -purge)",
                jobs.join(", ")
            ),
        });
    }
    let vars = view.namespace_variable_count(name);
    if vars > 0 {
        return Err(ApplyError::Rejected {
            reason: format!("namespace {name:?} still holds {vars} variable(s); delete them first"),
        });
    }
    view.namespaces.remove(name);
    view.tables.namespaces = index;
    Ok(())
}

#[cfg(test)]
mod tests {
    use nomadish_proto::model::{Job, QuotaLimits};

    use super::*;
    use crate::fsm::{Command, apply as apply_cmd};
    use crate::state::{decode_snapshot, encode_snapshot, state_digest};

    fn upsert_cmd(name: &str, description: &str) -> Command {
        Command::ApplyNamespace {
            op: NamespaceOp::Upsert {
                namespace: Box::new(Namespace {
                    name: name.into(),
                    description: description.into(),
                    ..Namespace::default()
                }),
            },
        }
    }

    fn delete_cmd(name: &str) -> Command {
        Command::ApplyNamespace {
            op: NamespaceOp::Delete { name: name.into() },
        }
    }

    fn job_cmd(ns: &str, id: &str) -> Command {
        let mut job = Job {
            id: id.into(),
            namespace: ns.into(),
            ..Job::default()
        };
        job.canonicalize();
        Command::UpsertJob {
            job: Box::new(job),
            eval: None,
            enforce_index: None,
            now: 1,
        }
    }

    #[test]
    fn upsert_stamps_indexes_and_default_always_exists() {
        let mut view = StateView::default();
        assert!(view.namespace_exists("default"));
        assert_eq!(view.namespaces_with_prefix("").len(), 1);
        assert!(
            apply_cmd(&mut view, 3, upsert_cmd("team-a", "A"))
                .error
                .is_none()
        );
        assert!(
            apply_cmd(&mut view, 5, upsert_cmd("team-a", "A2"))
                .error
                .is_none()
        );
        let ns = view.namespace("team-a").unwrap();
        assert_eq!((ns.create_index, ns.modify_index), (3, 5));
        assert_eq!(ns.description, "A2");
        assert_eq!(view.tables.namespaces, 5);
        let names: Vec<_> = view
            .namespaces_with_prefix("")
            .iter()
            .map(|n| n.name.clone())
            .collect();
        assert_eq!(names, ["default", "team-a"]);
        assert_eq!(view.namespaces_with_prefix("te").len(), 1);
        // The default namespace's description is editable.
        assert!(
            apply_cmd(&mut view, 6, upsert_cmd("default", "Ours"))
                .error
                .is_none()
        );
        assert_eq!(view.namespace("default").unwrap().description, "Ours");
        assert_eq!(view.namespaces_with_prefix("").len(), 2);
    }

    #[test]
    fn invalid_names_and_default_deletion_are_refused() {
        let mut view = StateView::default();
        let bad = apply_cmd(&mut view, 2, upsert_cmd("team_a", ""));
        assert!(matches!(bad.error, Some(ApplyError::Rejected { .. })));
        let del = apply_cmd(&mut view, 3, delete_cmd("default"));
        assert!(matches!(del.error, Some(ApplyError::Rejected { .. })));
        assert!(view.namespace_exists("default"));
        let missing = apply_cmd(&mut view, 4, delete_cmd("nope"));
        assert!(matches!(missing.error, Some(ApplyError::NotFound { .. })));
        assert_eq!(view.tables.namespaces, 0, "refusals change nothing");
    }

    #[test]
    fn jobs_need_an_existing_namespace_and_keep_it_alive() {
        let mut view = StateView::default();
        let refused = apply_cmd(&mut view, 2, job_cmd("team-a", "web"));
        assert_eq!(
            refused.error.map(|e| e.to_string()).as_deref(),
            Some("job \"web\" is in nonexistent namespace \"team-a\"")
        );
        assert!(view.job("team-a", "web").is_none());
        apply_cmd(&mut view, 3, upsert_cmd("team-a", ""));
        assert!(
            apply_cmd(&mut view, 4, job_cmd("team-a", "web"))
                .error
                .is_none()
        );
        let del = apply_cmd(&mut view, 5, delete_cmd("team-a"));
        let msg = del.error.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("namespace \"team-a\" has jobs that are not purged: [web]"));
        assert!(view.namespace_exists("team-a"));
        view.remove_job("team-a", "web");
        assert!(
            apply_cmd(&mut view, 6, delete_cmd("team-a"))
                .error
                .is_none()
        );
        assert!(!view.namespace_exists("team-a"));
        assert_eq!(view.tables.namespaces, 6);
    }

    #[test]
    fn quota_changes_move_the_capacity_index() {
        let mut view = StateView::default();
        apply_cmd(&mut view, 2, upsert_cmd("team-a", ""));
        assert_eq!(view.capacity_index, 0, "no quota, nothing to retry");
        let with_quota = |allocations| Command::ApplyNamespace {
            op: NamespaceOp::Upsert {
                namespace: Box::new(Namespace {
                    name: "team-a".into(),
                    quota_limits: Some(QuotaLimits {
                        allocations,
                        ..QuotaLimits::default()
                    }),
                    ..Namespace::default()
                }),
            },
        };
        apply_cmd(&mut view, 3, with_quota(1));
        assert_eq!(view.capacity_index, 3);
        apply_cmd(&mut view, 4, with_quota(1));
        assert_eq!(view.capacity_index, 3, "same quota");
        apply_cmd(&mut view, 5, with_quota(2));
        assert_eq!(view.capacity_index, 5);
    }

    #[test]
    fn namespaces_survive_snapshots() {
        let mut view = StateView::default();
        let empty = state_digest(&view);
        apply_cmd(&mut view, 2, upsert_cmd("team-a", "A"));
        let back = decode_snapshot(&encode_snapshot(&view)).unwrap();
        assert_eq!(state_digest(&back), state_digest(&view));
        assert_ne!(state_digest(&view), empty);
        assert_eq!(back.namespace("team-a").unwrap().description, "A");
        assert_eq!(back.tables.namespaces, 2);
    }
}
