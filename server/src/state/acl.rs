//! The ACL tables: policies, tokens (secrets only as salted hashes), the cluster's hashing
//! salt and the bootstrap marker.
//!
//! ```text
//!   secret ──HMAC-SHA256(cluster salt)──> hash ──by_hash──> accessor ──tokens──> StoredAclToken
//! ```
//!
//! A presented secret is hashed with the replicated salt and looked up; the secret itself is
//! never proposed to raft, stored, snapshotted or logged.

use std::sync::Arc;

use imbl::OrdMap;
use nomadish_proto::model::{AclPolicy, AclToken, TOKEN_TYPE_MANAGEMENT, rfc3339};
use serde::{Deserialize, Serialize};

/// A token as the state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAclToken {
    /// Public ID.
    pub accessor_id: String,
    /// `hash_secret(salt, SecretID)`, hex.
    pub secret_hash: String,
    /// Name.
    pub name: String,
    /// `client` or `management`.
    pub token_type: String,
    /// Policy names (client tokens).
    pub policies: Vec<String>,
    /// Nomad's `Global` flag (kept; one region).
    pub global: bool,
    /// Unix nanoseconds.
    pub create_time: i64,
    /// Unix nanoseconds; `None` never expires.
    pub expiration_time: Option<i64>,
    /// Nanoseconds the TTL was (0 without one).
    pub expiration_ttl: i64,
    /// Raft index of creation.
    pub create_index: u64,
    /// Raft index of the last change.
    pub modify_index: u64,
}

impl StoredAclToken {
    /// Whether the token may do anything.
    pub fn is_management(&self) -> bool {
        self.token_type == TOKEN_TYPE_MANAGEMENT
    }

    /// Whether the token has expired at `now` (Unix nanoseconds).
    pub fn expired_at(&self, now: i64) -> bool {
        self.expiration_time.is_some_and(|t| t <= now)
    }

    /// The API form; `secret` is shown only to the request that created it or presents it.
    pub fn to_api(&self, secret: Option<&str>) -> AclToken {
        AclToken {
            accessor_id: self.accessor_id.clone(),
            secret_id: secret.unwrap_or_default().to_string(),
            name: self.name.clone(),
            token_type: self.token_type.clone(),
            policies: self.policies.clone(),
            roles: Vec::new(),
            global: self.global,
            create_time: rfc3339(self.create_time),
            expiration_time: self.expiration_time.map(rfc3339),
            expiration_ttl: self.expiration_ttl,
            create_index: self.create_index,
            modify_index: self.modify_index,
        }
    }
}

/// Every ACL table.
#[derive(Debug, Clone, Default)]
pub struct AclTables {
    /// Policies by name.
    pub policies: OrdMap<String, Arc<AclPolicy>>,
    /// Tokens by accessor ID.
    pub tokens: OrdMap<String, Arc<StoredAclToken>>,
    /// Accessor ID by secret hash.
    pub by_hash: OrdMap<String, String>,
    /// Hex salt for secret hashes; set by the first bootstrap.
    pub salt: Option<String>,
    /// Raft index of the bootstrap (0: not bootstrapped).
    pub bootstrap_index: u64,
}

impl AclTables {
    /// The token a secret hash names.
    pub fn token_by_hash(&self, hash: &str) -> Option<&Arc<StoredAclToken>> {
        self.by_hash.get(hash).and_then(|a| self.tokens.get(a))
    }

    /// Inserts or replaces a token, keeping the hash index in step.
    pub fn put_token(&mut self, token: Arc<StoredAclToken>) {
        if let Some(old) = self.tokens.get(&token.accessor_id) {
            self.by_hash.remove(&old.secret_hash);
        }
        self.by_hash
            .insert(token.secret_hash.clone(), token.accessor_id.clone());
        self.tokens.insert(token.accessor_id.clone(), token);
    }

    /// Removes a token; whether it existed.
    pub fn remove_token(&mut self, accessor: &str) -> bool {
        match self.tokens.remove(accessor) {
            Some(old) => {
                self.by_hash.remove(&old.secret_hash);
                true
            }
            None => false,
        }
    }

    /// The durable form.
    pub fn to_snapshot(&self) -> Option<AclSnapshot> {
        if self.salt.is_none() && self.policies.is_empty() && self.tokens.is_empty() {
            return None;
        }
        Some(AclSnapshot {
            policies: self
                .policies
                .values()
                .map(|p| AclPolicy::clone(p))
                .collect(),
            tokens: self
                .tokens
                .values()
                .map(|t| StoredAclToken::clone(t))
                .collect(),
            salt: self.salt.clone(),
            bootstrap_index: self.bootstrap_index,
        })
    }

    /// Rebuilds the tables from [`AclTables::to_snapshot`]'s form.
    pub fn from_snapshot(snap: AclSnapshot) -> Self {
        let mut tables = AclTables {
            salt: snap.salt,
            bootstrap_index: snap.bootstrap_index,
            ..AclTables::default()
        };
        for p in snap.policies {
            tables.policies.insert(p.name.clone(), Arc::new(p));
        }
        for t in snap.tokens {
            tables.put_token(Arc::new(t));
        }
        tables
    }
}

/// The ACL tables in a state snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclSnapshot {
    /// Policies.
    pub policies: Vec<AclPolicy>,
    /// Tokens (hashes only).
    pub tokens: Vec<StoredAclToken>,
    /// The secret-hash salt.
    pub salt: Option<String>,
    /// Raft index of the bootstrap.
    pub bootstrap_index: u64,
}
