//! Applying ACL writes: bootstrap, policies, tokens and the expiry collector.
//!
//! Tokens arrive already hashed (the proposer hashes the secret with the replicated salt), so
//! no secret ever enters the raft log.

use std::sync::Arc;

use nomadish_proto::model::AclPolicy;
use serde::{Deserialize, Serialize};

use super::ApplyError;
use crate::events::{Changes, Payload};
use crate::state::{AclTables, StateView, StoredAclToken};

/// One ACL change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AclOp {
    /// The first management token. Refused once bootstrapped, unless `reset_index` equals the
    /// index of the previous bootstrap (the operator's reset file, as in Nomad).
    Bootstrap {
        /// Salt to install when the cluster has none yet (hex).
        salt: String,
        /// The token, hashed with the installed salt (or with `salt` when none is).
        token: StoredAclToken,
        /// The reset index from `<data_dir>/server/acl-bootstrap-reset`, if any.
        reset_index: Option<u64>,
    },
    /// Create or replace policies.
    UpsertPolicies {
        /// The policies (indexes are stamped on apply).
        policies: Vec<AclPolicy>,
    },
    /// Delete policies by name (all must exist).
    DeletePolicies {
        /// Names.
        names: Vec<String>,
    },
    /// Create or replace tokens.
    UpsertTokens {
        /// The tokens (hashed; indexes stamped on apply).
        tokens: Vec<StoredAclToken>,
    },
    /// Delete tokens by accessor ID (all must exist).
    DeleteTokens {
        /// Accessor IDs.
        accessors: Vec<String>,
    },
    /// Garbage-collect tokens that had expired at `now` (others in the list are kept).
    ReapExpiredTokens {
        /// Candidate accessor IDs.
        accessors: Vec<String>,
        /// The proposer's clock (Unix nanoseconds).
        now: i64,
    },
}

/// Applies one ACL change at `index`.
pub(super) fn apply(view: &mut StateView, index: u64, op: AclOp) -> Result<(), ApplyError> {
    let acl = &mut view.acl;
    let changes = &mut view.changes;
    match op {
        AclOp::Bootstrap {
            salt,
            mut token,
            reset_index,
        } => {
            if acl.bootstrap_index != 0 && reset_index != Some(acl.bootstrap_index) {
                return Err(ApplyError::Invalid {
                    reason: format!(
                        "ACL bootstrap already done (reset index: {})",
                        acl.bootstrap_index
                    ),
                });
            }
            if acl.salt.as_ref().is_some_and(|s| *s != salt) {
                return Err(ApplyError::Invalid {
                    reason: "ACL salt changed under the bootstrap; retry".into(),
                });
            }
            acl.salt = Some(salt);
            token.create_index = index;
            token.modify_index = index;
            let token = Arc::new(token);
            changes.put(Payload::AclToken(token.clone()));
            acl.put_token(token);
            acl.bootstrap_index = index;
        }
        AclOp::UpsertPolicies { policies } => {
            for mut p in policies {
                p.create_index = acl
                    .policies
                    .get(&p.name)
                    .map_or(index, |old| old.create_index);
                p.modify_index = index;
                let p = Arc::new(p);
                changes.put(Payload::AclPolicy(p.clone()));
                acl.policies.insert(p.name.clone(), p);
            }
        }
        AclOp::DeletePolicies { names } => {
            if let Some(missing) = names.iter().find(|n| !acl.policies.contains_key(*n)) {
                return Err(ApplyError::NotFound {
                    kind: format!("ACL policy {missing:?}"),
                });
            }
            for n in &names {
                if let Some(old) = acl.policies.remove(n) {
                    changes.delete(Payload::AclPolicy(old));
                }
            }
        }
        AclOp::UpsertTokens { tokens } => {
            if acl.salt.is_none() {
                return Err(ApplyError::Invalid {
                    reason: "ACL system not bootstrapped".into(),
                });
            }
            for mut t in tokens {
                if let Some(old) = acl.tokens.get(&t.accessor_id) {
                    t.create_index = old.create_index;
                    t.create_time = old.create_time;
                    t.secret_hash = old.secret_hash.clone();
                } else {
                    t.create_index = index;
                }
                t.modify_index = index;
                let t = Arc::new(t);
                changes.put(Payload::AclToken(t.clone()));
                acl.put_token(t);
            }
        }
        AclOp::DeleteTokens { accessors } => {
            if let Some(missing) = accessors.iter().find(|a| !acl.tokens.contains_key(*a)) {
                return Err(ApplyError::NotFound {
                    kind: format!("ACL token {missing:?}"),
                });
            }
            for a in &accessors {
                remove_token(acl, changes, a);
            }
        }
        AclOp::ReapExpiredTokens { accessors, now } => {
            for a in &accessors {
                if acl.tokens.get(a).is_some_and(|t| t.expired_at(now)) {
                    remove_token(acl, changes, a);
                }
            }
        }
    }
    view.tables.acl = index;
    Ok(())
}

/// Removes a token and records its deletion for the event stream.
fn remove_token(acl: &mut AclTables, changes: &mut Changes, accessor: &str) {
    if let Some(old) = acl.tokens.get(accessor).cloned() {
        acl.remove_token(accessor);
        changes.delete(Payload::AclToken(old));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(accessor: &str, hash: &str) -> StoredAclToken {
        StoredAclToken {
            accessor_id: accessor.into(),
            secret_hash: hash.into(),
            name: String::new(),
            token_type: "management".into(),
            policies: Vec::new(),
            global: false,
            create_time: 1,
            expiration_time: None,
            expiration_ttl: 0,
            create_index: 0,
            modify_index: 0,
        }
    }

    fn bootstrap(view: &mut StateView, index: u64, reset: Option<u64>) -> Result<(), ApplyError> {
        let op = AclOp::Bootstrap {
            salt: "00ff".into(),
            token: token(&format!("acc-{index}"), &format!("hash-{index}")),
            reset_index: reset,
        };
        apply(view, index, op)
    }

    #[test]
    fn bootstrap_works_once_unless_reset_with_its_index() {
        let mut view = StateView::default();
        bootstrap(&mut view, 5, None).unwrap();
        assert_eq!(view.acl.bootstrap_index, 5);
        assert!(view.acl.token_by_hash("hash-5").is_some());
        let again = bootstrap(&mut view, 6, None).unwrap_err();
        assert!(again.to_string().contains("reset index: 5"), "{again}");
        assert!(bootstrap(&mut view, 7, Some(4)).is_err());
        bootstrap(&mut view, 8, Some(5)).unwrap();
        assert_eq!(view.acl.bootstrap_index, 8);
        assert_eq!(view.acl.tokens.len(), 2);
    }

    #[test]
    fn token_updates_keep_the_secret_hash_and_creation() {
        let mut view = StateView::default();
        bootstrap(&mut view, 1, None).unwrap();
        let mut t = token("acc-1", "forged");
        t.name = "renamed".into();
        apply(&mut view, 2, AclOp::UpsertTokens { tokens: vec![t] }).unwrap();
        let stored = view.acl.tokens.get("acc-1").unwrap();
        assert_eq!(stored.name, "renamed");
        assert_eq!(stored.secret_hash, "hash-1");
        assert_eq!((stored.create_index, stored.modify_index), (1, 2));
        assert!(view.acl.token_by_hash("forged").is_none());
    }

    #[test]
    fn deletes_need_every_name_and_reaping_spares_live_tokens() {
        let mut view = StateView::default();
        bootstrap(&mut view, 1, None).unwrap();
        let mut expiring = token("acc-x", "hash-x");
        expiring.expiration_time = Some(100);
        let tokens = vec![expiring, token("acc-y", "hash-y")];
        apply(&mut view, 2, AclOp::UpsertTokens { tokens }).unwrap();
        let op = AclOp::DeleteTokens {
            accessors: vec!["acc-y".into(), "nope".into()],
        };
        assert!(apply(&mut view, 3, op).is_err());
        assert!(view.acl.tokens.contains_key("acc-y"));
        let reap = AclOp::ReapExpiredTokens {
            accessors: vec!["acc-x".into(), "acc-y".into()],
            now: 100,
        };
        apply(&mut view, 4, reap).unwrap();
        assert!(!view.acl.tokens.contains_key("acc-x"));
        assert!(view.acl.token_by_hash("hash-x").is_none());
        assert!(view.acl.tokens.contains_key("acc-y"));
    }
}
