//! Applying Nomad Variables writes: the root key, upserts and deletes with check-and-set.
//!
//! Items arrive already sealed (see `state::variables`); application only stamps indexes and
//! enforces CAS, so it stays deterministic.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ApplyError;
use crate::state::{RootKey, StateView, StoredVariable};

/// One variables change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum VariableOp {
    /// Install the cluster root key; ignored when one exists (the first one wins).
    InitRootKey {
        /// The key.
        key: RootKey,
    },
    /// Create or replace a variable.
    Upsert {
        /// The sealed variable (its times stamped by the proposer, indexes on apply).
        var: StoredVariable,
        /// Check-and-set: the current `ModifyIndex` must equal this (0: must not exist).
        cas: Option<u64>,
    },
    /// Delete a variable.
    Delete {
        /// Namespace.
        namespace: String,
        /// Path.
        path: String,
        /// Check-and-set: the current `ModifyIndex` must equal this.
        cas: Option<u64>,
    },
}

/// Applies one variables change at `index`; an upsert returns the variable's create index and
/// create time.
pub(super) fn apply(
    view: &mut StateView,
    index: u64,
    op: VariableOp,
) -> Result<Option<(u64, i64)>, ApplyError> {
    match op {
        VariableOp::InitRootKey { key } => {
            if view.root_key.is_none() {
                view.root_key = Some(Arc::new(key));
                view.tables.variables = index;
            }
            Ok(None)
        }
        VariableOp::Upsert { mut var, cas } => {
            if !view.namespace_exists(&var.meta.namespace) {
                return Err(ApplyError::Rejected {
                    reason: format!(
                        "variable {:?} is in nonexistent namespace {:?}",
                        var.meta.path, var.meta.namespace
                    ),
                });
            }
            let key = (var.meta.namespace.clone(), var.meta.path.clone());
            let current = view.variables.get(&key).cloned();
            check_cas(current.as_deref(), cas)?;
            if view
                .root_key
                .as_ref()
                .is_none_or(|k| k.key_id != var.key_id)
            {
                return Err(ApplyError::Invalid {
                    reason: "variable sealed with an unknown key".to_string(),
                });
            }
            if let Some(old) = current {
                var.meta.create_index = old.meta.create_index;
                var.meta.create_time = old.meta.create_time;
            } else {
                var.meta.create_index = index;
            }
            var.meta.modify_index = index;
            let created = (var.meta.create_index, var.meta.create_time);
            view.variables.insert(key, Arc::new(var));
            view.tables.variables = index;
            Ok(Some(created))
        }
        VariableOp::Delete {
            namespace,
            path,
            cas,
        } => {
            let key = (namespace, path);
            check_cas(view.variables.get(&key).map(AsRef::as_ref), cas)?;
            if view.variables.remove(&key).is_some() {
                view.tables.variables = index;
            }
            Ok(None)
        }
    }
}

fn check_cas(current: Option<&StoredVariable>, cas: Option<u64>) -> Result<(), ApplyError> {
    let actual = current.map_or(0, |v| v.meta.modify_index);
    match cas {
        Some(expected) if expected != actual => Err(ApplyError::CasMismatch { expected, actual }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use nomadish_proto::model::Variable;

    use super::*;
    use crate::fsm::{Command, apply as apply_cmd};
    use crate::state::{
        decode_snapshot, encode_snapshot, open_variable, seal_variable, state_digest,
    };

    fn put(view: &mut StateView, index: u64, value: &str, cas: Option<u64>) -> Option<ApplyError> {
        let key = view.root_key.as_deref().unwrap().clone();
        let var = Variable {
            namespace: "default".into(),
            path: "app/db".into(),
            create_time: index as i64,
            modify_time: index as i64,
            items: [("pw".to_string(), value.to_string())].into(),
            ..Variable::default()
        };
        let op = VariableOp::Upsert {
            var: seal_variable(&key, &var).unwrap(),
            cas,
        };
        apply_cmd(view, index, Command::ApplyVariable { op }).error
    }

    fn init(view: &mut StateView, index: u64) {
        let op = VariableOp::InitRootKey {
            key: RootKey::generate(0),
        };
        assert!(
            apply_cmd(view, index, Command::ApplyVariable { op })
                .error
                .is_none()
        );
    }

    #[test]
    fn upsert_with_cas_and_delete() {
        let mut view = StateView::default();
        init(&mut view, 1);
        let first = view.root_key.clone();
        init(&mut view, 2);
        assert_eq!(view.root_key, first, "the first root key wins");
        assert_eq!(put(&mut view, 3, "a", Some(0)), None);
        assert_eq!(
            put(&mut view, 4, "b", Some(0)),
            Some(ApplyError::CasMismatch {
                expected: 0,
                actual: 3
            })
        );
        assert_eq!(put(&mut view, 5, "c", Some(3)), None);
        let v = view
            .decrypted_variable("default", "app/db")
            .unwrap()
            .unwrap();
        assert_eq!((v.create_index, v.modify_index), (3, 5));
        assert_eq!(v.items["pw"], "c");
        assert_eq!(view.tables.variables, 5);
        let del = |cas| Command::ApplyVariable {
            op: VariableOp::Delete {
                namespace: "default".into(),
                path: "app/db".into(),
                cas,
            },
        };
        assert!(apply_cmd(&mut view, 6, del(Some(4))).error.is_some());
        assert!(view.variable("default", "app/db").is_some());
        assert!(apply_cmd(&mut view, 7, del(Some(5))).error.is_none());
        assert!(view.variable("default", "app/db").is_none());
    }

    #[test]
    fn an_upsert_answers_with_what_it_stored() {
        let mut view = StateView::default();
        init(&mut view, 1);
        let key = view.root_key.as_deref().unwrap().clone();
        let upsert = |time: i64| {
            let var = Variable {
                namespace: "default".into(),
                path: "app/db".into(),
                create_time: time,
                modify_time: time,
                ..Variable::default()
            };
            let var = seal_variable(&key, &var).unwrap();
            let op = VariableOp::Upsert { var, cas: None };
            Command::ApplyVariable { op }
        };
        let first = apply_cmd(&mut view, 2, upsert(20));
        assert_eq!(first.variable_created, Some((2, 20)));
        // An update keeps the first create index and time, as the stored variable does.
        let second = apply_cmd(&mut view, 3, upsert(30));
        assert_eq!(second.variable_created, Some((2, 20)));
        let stored = view
            .decrypted_variable("default", "app/db")
            .unwrap()
            .unwrap();
        assert_eq!((stored.create_index, stored.create_time), (2, 20));
        assert_eq!(
            (stored.modify_index, stored.modify_time),
            (second.index, 30)
        );
    }

    #[test]
    fn variables_survive_snapshots_and_move_the_digest() {
        let mut view = StateView::default();
        let empty = state_digest(&view);
        init(&mut view, 1);
        put(&mut view, 2, "secret-value", None);
        let bytes = encode_snapshot(&view);
        assert!(!String::from_utf8_lossy(&bytes).contains("secret-value"));
        let back = decode_snapshot(&bytes).unwrap();
        assert_eq!(state_digest(&back), state_digest(&view));
        assert_ne!(state_digest(&view), empty);
        let key = back.root_key.as_deref().unwrap();
        let stored = back.variable("default", "app/db").unwrap();
        assert_eq!(
            open_variable(key, stored).unwrap().items["pw"],
            "secret-value"
        );
    }
}
