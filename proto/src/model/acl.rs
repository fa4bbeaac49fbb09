//! ACL policies and tokens in Nomad's API shapes (`/v1/acl/*`).
//!
//! ```text
//!   POST /v1/acl/bootstrap            -> AclToken (management, SecretID shown once)
//!   POST /v1/acl/policy/:name  {Name, Description, Rules}
//!   POST /v1/acl/token         {Name, Type, Policies, ExpirationTTL} -> AclToken with SecretID
//! ```
//!
//! Token secrets leave the server only in the answer to the request that created them (and to
//! `token/self`, which already holds it); the state keeps a salted hash.

use serde::{Deserialize, Serialize};

/// `Type` of a token that is subject to its policies.
pub const TOKEN_TYPE_CLIENT: &str = "client";
/// `Type` of a token that may do anything.
pub const TOKEN_TYPE_MANAGEMENT: &str = "management";
/// Name of the policy that governs requests without a token.
pub const ANONYMOUS_POLICY: &str = "anonymous";
/// Shortest `ExpirationTTL` Nomad accepts (1 minute), in nanoseconds.
pub const MIN_TOKEN_TTL_NS: i64 = 60 * 1_000_000_000;
/// Longest `ExpirationTTL` Nomad accepts (24 hours), in nanoseconds.
pub const MAX_TOKEN_TTL_NS: i64 = 24 * 3600 * 1_000_000_000;

/// An ACL policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AclPolicy {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    /// The policy text (HCL).
    #[serde(rename = "Rules")]
    pub rules: String,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// A `GET /v1/acl/policies` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AclPolicyListStub {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl From<&AclPolicy> for AclPolicyListStub {
    fn from(p: &AclPolicy) -> Self {
        Self {
            name: p.name.clone(),
            description: p.description.clone(),
            create_index: p.create_index,
            modify_index: p.modify_index,
        }
    }
}

/// An ACL token as the API shows it (and as create/update requests send it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AclToken {
    #[serde(rename = "AccessorID")]
    pub accessor_id: String,
    /// Empty except in the answer that created the token and in `token/self`.
    #[serde(rename = "SecretID")]
    pub secret_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    /// `client` or `management`.
    #[serde(rename = "Type")]
    pub token_type: String,
    #[serde(rename = "Policies")]
    pub policies: Vec<String>,
    /// Roles are not supported; always empty.
    #[serde(rename = "Roles")]
    pub roles: Vec<serde_json::Value>,
    #[serde(rename = "Global")]
    pub global: bool,
    /// RFC 3339.
    #[serde(rename = "CreateTime")]
    pub create_time: String,
    /// RFC 3339, or absent for a token that never expires.
    #[serde(rename = "ExpirationTime", skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<String>,
    /// Nanoseconds (0: no TTL).
    #[serde(rename = "ExpirationTTL")]
    pub expiration_ttl: i64,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

/// A `GET /v1/acl/tokens` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AclTokenListStub {
    #[serde(rename = "AccessorID")]
    pub accessor_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Type")]
    pub token_type: String,
    #[serde(rename = "Policies")]
    pub policies: Vec<String>,
    #[serde(rename = "Global")]
    pub global: bool,
    #[serde(rename = "CreateTime")]
    pub create_time: String,
    #[serde(rename = "ExpirationTime", skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<String>,
    #[serde(rename = "CreateIndex")]
    pub create_index: u64,
    #[serde(rename = "ModifyIndex")]
    pub modify_index: u64,
}

impl From<&AclToken> for AclTokenListStub {
    fn from(t: &AclToken) -> Self {
        Self {
            accessor_id: t.accessor_id.clone(),
            name: t.name.clone(),
            token_type: t.token_type.clone(),
            policies: t.policies.clone(),
            global: t.global,
            create_time: t.create_time.clone(),
            expiration_time: t.expiration_time.clone(),
            create_index: t.create_index,
            modify_index: t.modify_index,
        }
    }
}

/// A policy name as Nomad allows it: 1-128 of letters, digits and `-`.
pub fn valid_policy_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Checks a token create/update request: its type, policies and TTL. Returns the reason
/// when it is unusable.
pub fn check_token_request(t: &AclToken) -> Result<(), String> {
    match t.token_type.as_str() {
        TOKEN_TYPE_CLIENT => {
            if t.policies.is_empty() {
                return Err("client token missing policies".into());
            }
        }
        TOKEN_TYPE_MANAGEMENT => {
            if !t.policies.is_empty() {
                return Err("management token cannot be associated with policies".into());
            }
        }
        other => {
            return Err(format!(
                "token type must be client or management, not {other:?}"
            ));
        }
    }
    if t.name.len() > 256 {
        return Err("token name too long".into());
    }
    if t.expiration_ttl != 0 && !(MIN_TOKEN_TTL_NS..=MAX_TOKEN_TTL_NS).contains(&t.expiration_ttl) {
        return Err("expiration time cannot be less than 1m0s or more than 24h0m0s".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(kind: &str, policies: &[&str], ttl: i64) -> AclToken {
        AclToken {
            token_type: kind.into(),
            policies: policies.iter().map(|p| p.to_string()).collect(),
            expiration_ttl: ttl,
            ..AclToken::default()
        }
    }

    #[test]
    fn token_requests_are_checked_as_nomad_does() {
        assert!(check_token_request(&token("client", &["a"], 0)).is_ok());
        assert!(check_token_request(&token("management", &[], MIN_TOKEN_TTL_NS)).is_ok());
        assert!(check_token_request(&token("client", &[], 0)).is_err());
        assert!(check_token_request(&token("management", &["a"], 0)).is_err());
        assert!(check_token_request(&token("root", &["a"], 0)).is_err());
        let short = check_token_request(&token("client", &["a"], 1_000_000_000));
        assert!(short.unwrap_err().contains("1m0s"));
        assert!(check_token_request(&token("client", &["a"], MAX_TOKEN_TTL_NS + 1)).is_err());
    }

    #[test]
    fn policy_names_follow_nomad() {
        assert!(valid_policy_name("team-a-read"));
        assert!(!valid_policy_name(""));
        assert!(!valid_policy_name("a b"));
        assert!(!valid_policy_name(&"x".repeat(129)));
    }

    #[test]
    fn tokens_serialize_in_nomad_shape() {
        let t = AclToken {
            accessor_id: "a".into(),
            token_type: "client".into(),
            ..AclToken::default()
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["AccessorID"], "a");
        assert_eq!(v["Roles"], serde_json::json!([]));
        assert!(v.get("ExpirationTime").is_none());
    }
}
