//! Authentication and authorization of API requests, in one place.
//!
//! ```text
//!   request ─> token (X-Nomad-Token | Authorization: Bearer) ─> Identity (compiled ACL)
//!          ─> route rule (rules.rs, by method + matched path) ─> object's namespace ─> allow?
//!          ─> handler ─> list filtered by what the token may read (namespace=*)
//!          ─> audit line for every write and every denial (audit.rs)
//! ```
//!
//! With `acl { enabled = false }` every request acts as management, but writes are still
//! audited. With ACLs on, a request without a token is governed by the `anonymous` policy
//! (none: denied), an unknown or expired token is refused with 403.

pub mod audit;
mod cache;
pub mod layer;
pub mod reaper;
pub mod rules;
pub mod streams;

use std::sync::Arc;

use nomadish_acl::Acl;
use nomadish_acl::secret::hash_secret;
use nomadish_proto::model::ANONYMOUS_POLICY;

use crate::config::ServerConfig;
use crate::state::{StateView, StoredAclToken};

/// Header carrying the token secret.
pub const TOKEN_HEADER: &str = "X-Nomad-Token";
/// Accessor recorded for requests without a token.
pub const ANONYMOUS_ACCESSOR: &str = "anonymous";

/// ACL settings (`acl { ... }` in the agent configuration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclConfig {
    /// Whether tokens are required (default deny).
    pub enabled: bool,
}

/// Audit settings (`audit { enabled path }` in the agent configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// Whether writes and denials are recorded (default on).
    pub enabled: bool,
    /// The log file (default `<data_dir>/server/audit.log`).
    pub path: Option<std::path::PathBuf>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
        }
    }
}

/// A server's authorization state: the audit log.
#[derive(Debug, Default)]
pub struct AuthState {
    log: audit::AuditLog,
}

impl AuthState {
    /// Opens the audit log the configuration asks for (a log that cannot be opened is
    /// reported and disables auditing rather than the server).
    pub fn new(config: &ServerConfig) -> Self {
        if !config.audit.enabled {
            return Self::default();
        }
        let path = config
            .audit
            .path
            .clone()
            .unwrap_or_else(|| config.data_dir.join("server").join("audit.log"));
        match audit::AuditLog::open(&path) {
            Ok(log) => Self { log },
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot open the audit log");
                Self::default()
            }
        }
    }

    /// Appends one audit record.
    pub fn audit(&self, rec: &nomadish_acl::audit::AuditRecord) {
        self.log.record(rec);
    }

    /// Where the audit log is, if one is kept.
    pub fn audit_path(&self) -> Option<&std::path::Path> {
        self.log.path()
    }
}

/// Who a request acts as.
#[derive(Debug, Clone)]
pub struct Identity {
    /// What it may do.
    pub acl: Arc<Acl>,
    /// The token's accessor ID (`anonymous` without a token, empty with ACLs off).
    pub accessor: String,
    /// The token, when one was presented.
    pub token: Option<Arc<StoredAclToken>>,
    /// The presented secret (for `GET /v1/acl/token/self` only; never logged).
    secret: Option<String>,
}

impl Identity {
    /// The identity of every request while ACLs are off.
    pub fn acls_disabled() -> Self {
        Self {
            acl: Arc::new(Acl::management()),
            accessor: String::new(),
            token: None,
            secret: None,
        }
    }

    /// Whether the identity may do anything.
    pub fn is_management(&self) -> bool {
        self.acl.is_management()
    }

    /// The secret this request presented.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    /// When the token stops working (Unix nanoseconds), if ever.
    pub fn expires(&self) -> Option<i64> {
        self.token.as_ref().and_then(|t| t.expiration_time)
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token has this secret.
    #[error("ACL token not found")]
    TokenNotFound,
    /// The token's expiration time has passed.
    #[error("ACL token expired")]
    TokenExpired,
}

/// Resolves a presented secret (or none) against the state at `now` (Unix nanoseconds).
pub fn resolve(
    config: &AclConfig,
    view: &StateView,
    secret: Option<&str>,
    now: i64,
) -> Result<Identity, AuthError> {
    if !config.enabled {
        return Ok(Identity::acls_disabled());
    }
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        let acl = match view.acl.policies.get(ANONYMOUS_POLICY) {
            Some(p) => cache::compile(std::slice::from_ref(p)),
            None => Arc::new(Acl::deny_all()),
        };
        return Ok(Identity {
            acl,
            accessor: ANONYMOUS_ACCESSOR.to_string(),
            token: None,
            secret: None,
        });
    };
    let token = lookup(view, secret).ok_or(AuthError::TokenNotFound)?;
    if token.expired_at(now) {
        return Err(AuthError::TokenExpired);
    }
    let acl = if token.is_management() {
        Arc::new(Acl::management())
    } else {
        let policies: Vec<_> = token
            .policies
            .iter()
            .filter_map(|name| view.acl.policies.get(name).cloned())
            .collect();
        cache::compile(&policies)
    };
    Ok(Identity {
        acl,
        accessor: token.accessor_id.clone(),
        token: Some(token),
        secret: Some(secret.to_string()),
    })
}

/// The token a secret belongs to, by its salted hash.
pub fn lookup(view: &StateView, secret: &str) -> Option<Arc<StoredAclToken>> {
    let salt = decode_salt(view.acl.salt.as_deref()?)?;
    view.acl.token_by_hash(&hash_secret(&salt, secret)).cloned()
}

/// The salt's bytes from its hex form.
pub fn decode_salt(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A fresh random salt, hex.
pub fn new_salt() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
