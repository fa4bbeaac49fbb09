//! The policy language: Nomad's HCL ACL policies parsed into [`Policy`] values.
//!
//! A [`Policy`] is what the author wrote, checked but not expanded: levels stay levels and
//! capability lists stay as written. [`crate::Acl::compile`] expands and merges them.

mod decode;
mod json;
mod source;

use std::fmt;

/// A coarse policy disposition, `policy = "<level>"` in a rule block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// `deny`: nothing is allowed, and the deny overrides grants from other rules.
    Deny,
    /// `read`: read-only access.
    Read,
    /// `list`: listing only (valid in `plugin` rules only, as in Nomad).
    List,
    /// `write`: read and modify.
    Write,
    /// `scale`: scaling jobs and reading their scaling state (namespace rules).
    Scale,
}

impl Level {
    /// Every level, in the order the language documents them.
    pub const ALL: [Level; 5] = [
        Level::Deny,
        Level::Read,
        Level::List,
        Level::Write,
        Level::Scale,
    ];

    /// The level's name in the policy language.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Deny => "deny",
            Level::Read => "read",
            Level::List => "list",
            Level::Write => "write",
            Level::Scale => "scale",
        }
    }

    /// The level named `name`, if any.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.as_str() == name)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parsed ACL policy (the `Rules` of a Nomad ACL policy object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `namespace "<glob>" { ... }` rules, in source order.
    pub namespaces: Vec<NamespaceRule>,
    /// `node { policy = ... }`.
    pub node: Option<Level>,
    /// `agent { policy = ... }`.
    pub agent: Option<Level>,
    /// `operator { policy = ... }`.
    pub operator: Option<Level>,
    /// `operator { capabilities = [...] }` (snapshot-save, keyring-read, ...).
    pub operator_capabilities: Vec<String>,
    /// `quota { policy = ... }`.
    pub quota: Option<Level>,
    /// `plugin { policy = ... }` (deny, read, list or write).
    pub plugin: Option<Level>,
    /// `node_pool "<glob>" { ... }` rules.
    pub node_pools: Vec<NodePoolRule>,
    /// `host_volume "<glob>" { ... }` rules.
    pub host_volumes: Vec<HostVolumeRule>,
}

impl Policy {
    /// Whether the policy has no rule at all (only the empty source parses to this).
    pub fn is_empty(&self) -> bool {
        self == &Policy::default()
    }
}

/// A `namespace "<name>" { policy capabilities variables }` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceRule {
    /// The namespace name, or a glob where `*` matches any run of characters.
    pub name: String,
    /// The coarse level, if written.
    pub policy: Option<Level>,
    /// Capabilities granted by name, as written.
    pub capabilities: Vec<String>,
    /// `variables { path "<glob>" { capabilities = [...] } }` rules.
    pub variables: Vec<VariablesPathRule>,
}

/// A `path "<glob>" { capabilities = [...] }` rule inside a namespace's `variables` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariablesPathRule {
    /// The variable path or a glob (`*` matches any run of characters, `/` included).
    pub path: String,
    /// Variables capabilities (read, write, list, destroy, deny), as written.
    pub capabilities: Vec<String>,
}

/// A `node_pool "<name>" { policy capabilities }` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePoolRule {
    /// The node pool name or a glob.
    pub name: String,
    /// The coarse level, if written.
    pub policy: Option<Level>,
    /// Capabilities (read, write, delete, deny), as written.
    pub capabilities: Vec<String>,
}

/// A `host_volume "<name>" { policy capabilities }` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostVolumeRule {
    /// The host volume name or a glob.
    pub name: String,
    /// The coarse level, if written.
    pub policy: Option<Level>,
    /// Capabilities (mount-readonly, mount-readwrite, deny), as written.
    pub capabilities: Vec<String>,
}

/// Why a policy was rejected, and where (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct PolicyError {
    /// 1-based line of the offending block or attribute.
    pub line: usize,
    /// 1-based column (in characters) of the offending block or attribute.
    pub col: usize,
    /// What is wrong, for a human.
    pub message: String,
}

/// Parses Nomad's HCL ACL policy language. Errors carry 1-based line and column of the offending
/// block/attribute: an unknown block, a block without its label (namespace/node_pool/
/// host_volume), an unknown capability, an unknown policy level, an unknown attribute, bad
/// syntax. The first problem in source order is reported.
///
/// Nomad's JSON form (`{"namespace": {"default": {"policy": "read"}}}`) is accepted too; its
/// syntax errors are positioned, its other errors point at 1:1.
///
/// As in Nomad, the empty string parses to an empty policy, while a non-empty source without
/// any rule (only comments, say) is an error.
pub fn parse_policy(src: &str) -> Result<Policy, PolicyError> {
    decode::parse(src)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
