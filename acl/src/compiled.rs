//! The compiled ACL: the policies of one token expanded and merged into capability sets that
//! answer "may this token do X?".
//!
//! ```text
//! [&Policy] --Acl::compile--> Acl { namespaces, variables, node_pools, host_volumes,
//!                                   node, agent, operator, quota, plugin levels }
//!                                  `-- allow_*(...) -> bool
//! ```
//!
//! Merging follows Nomad: capabilities of rules with the same name are united, levels of the
//! singleton rules take the most privileged one, and a deny always wins. nomadish is stricter
//! than Nomad in one way: a deny on *any* rule matching a name (an exact rule or any glob)
//! overrides every grant for that name, so `namespace "*" { policy = "deny" }` cannot be
//! undone by a closer `namespace "prod" { policy = "write" }`.

mod rules;

use crate::caps;
use crate::policy::{Level, NamespaceRule, Policy};
use rules::{CapSet, PathRules, RuleSet};

/// What one token may do. Build it with [`Acl::compile`], [`Acl::management`] or
/// [`Acl::deny_all`].
#[derive(Debug, Clone, Default)]
pub struct Acl {
    management: bool,
    namespaces: RuleSet,
    variables: PathRules,
    node_pools: RuleSet,
    host_volumes: RuleSet,
    node: Option<Level>,
    agent: Option<Level>,
    operator: Option<Level>,
    operator_caps: CapSet,
    quota: Option<Level>,
    plugin: Option<Level>,
}

impl Acl {
    /// The ACL of a management token: allows everything.
    pub fn management() -> Acl {
        Acl {
            management: true,
            ..Acl::default()
        }
    }

    /// An ACL that allows nothing (an anonymous token without policies).
    pub fn deny_all() -> Acl {
        Acl::default()
    }

    /// Expands and merges several policies (those of one token) into one ACL.
    pub fn compile(policies: &[&Policy]) -> Acl {
        let mut acl = Acl::default();
        for policy in policies {
            for ns in &policy.namespaces {
                acl.add_namespace(ns);
            }
            for pool in &policy.node_pools {
                let expanded = pool.policy.map(caps::node_pool_level).unwrap_or_default();
                let written = pool.capabilities.iter().map(String::as_str);
                acl.node_pools.grant(&pool.name, written.chain(expanded));
            }
            for vol in &policy.host_volumes {
                let expanded = vol.policy.map(caps::host_volume_level).unwrap_or_default();
                let written = vol.capabilities.iter().map(String::as_str);
                acl.host_volumes.grant(&vol.name, written.chain(expanded));
            }
            merge_level(&mut acl.node, policy.node);
            merge_level(&mut acl.agent, policy.agent);
            merge_level(&mut acl.operator, policy.operator);
            merge_level(&mut acl.quota, policy.quota);
            merge_level(&mut acl.plugin, policy.plugin);
            let expanded = policy
                .operator
                .map(caps::operator_level)
                .unwrap_or_default();
            let written = policy.operator_capabilities.iter().map(String::as_str);
            rules::merge(&mut acl.operator_caps, written.chain(expanded));
        }
        acl
    }

    fn add_namespace(&mut self, ns: &NamespaceRule) {
        let mut granted: Vec<&str> = ns.capabilities.iter().map(String::as_str).collect();
        granted.extend(ns.policy.map(caps::namespace_level).unwrap_or_default());
        let implied: Vec<&str> = granted
            .iter()
            .flat_map(|cap| caps::namespace_implied(cap).iter().copied())
            .collect();
        self.namespaces
            .grant(&ns.name, granted.into_iter().chain(implied));
        for rule in &ns.variables {
            let written = rule.capabilities.iter().map(String::as_str);
            // Nomad: read implies list.
            let implied = rule
                .capabilities
                .iter()
                .any(|c| c == caps::VAR_READ)
                .then_some(caps::VAR_LIST);
            self.variables
                .grant(&ns.name, &rule.path, written.chain(implied));
        }
    }

    /// Whether this is a management ACL.
    pub fn is_management(&self) -> bool {
        self.management
    }

    /// Nomad's AllowNamespaceOperation: `ns` is a concrete namespace name (never "*").
    /// Glob rules ("shared-*", "*") match; an exact-name rule wins over globs, and among globs
    /// the closest match (fewest wildcard-matched characters) wins; but a deny on any matching
    /// rule (deny policy or "deny" capability) wins over every grant.
    pub fn allow_namespace_op(&self, ns: &str, cap: &str) -> bool {
        if self.management {
            return true;
        }
        cap != caps::DENY && allows(self.namespaces.lookup(ns), cap)
    }

    /// Any capability at all in `ns` (Nomad's AllowNamespace), for filtering `namespace=*`
    /// lists.
    pub fn allow_namespace(&self, ns: &str) -> bool {
        if self.management {
            return true;
        }
        self.namespaces
            .lookup(ns)
            .is_some_and(|set| !set.is_empty() && !set.contains(caps::DENY))
    }

    /// Variables: path globs inside namespace blocks; `op` is one of `caps::VAR_*`.
    ///
    /// As in Nomad, a namespace `policy` (even `write`) grants nothing on variables: only
    /// `variables { path ... }` rules do, and `read` implies `list`. The closest matching path
    /// rule (exact namespace and path first, then fewest wildcard-matched characters) decides,
    /// except that any matching path rule with `deny`, or a deny on the namespace itself,
    /// denies.
    pub fn allow_variable_op(&self, ns: &str, path: &str, op: &str) -> bool {
        if self.management {
            return true;
        }
        if op == caps::VAR_DENY || self.namespace_denied(ns) {
            return false;
        }
        allows(self.variables.lookup(ns, path), op)
    }

    fn namespace_denied(&self, ns: &str) -> bool {
        self.namespaces
            .lookup(ns)
            .is_some_and(|set| set.contains(caps::DENY))
    }

    /// Read nodes (`node` read or write).
    pub fn allow_node_read(&self) -> bool {
        self.management || can_read(self.node)
    }

    /// Modify nodes: drain, eligibility, purge (`node` write).
    pub fn allow_node_write(&self) -> bool {
        self.management || self.node == Some(Level::Write)
    }

    /// Read agent information (`agent` read or write).
    pub fn allow_agent_read(&self) -> bool {
        self.management || can_read(self.agent)
    }

    /// Agent operations such as joining or forcing members to leave (`agent` write).
    pub fn allow_agent_write(&self) -> bool {
        self.management || self.agent == Some(Level::Write)
    }

    /// Read cluster-level operator data such as the Raft configuration (`operator` read or
    /// write, and no operator `deny` capability).
    pub fn allow_operator_read(&self) -> bool {
        self.management || (can_read(self.operator) && !self.operator_caps.contains(caps::DENY))
    }

    /// Cluster-level operator changes (`operator` write, and no operator `deny` capability).
    pub fn allow_operator_write(&self) -> bool {
        self.management
            || (self.operator == Some(Level::Write) && !self.operator_caps.contains(caps::DENY))
    }

    /// One operator capability (`caps::OPERATOR_*`), granted by name or by the level.
    pub fn allow_operator_op(&self, op: &str) -> bool {
        if self.management {
            return true;
        }
        op != caps::DENY
            && self.operator != Some(Level::Deny)
            && allows(Some(&self.operator_caps), op)
    }

    /// Read quotas (`quota` read or write).
    pub fn allow_quota_read(&self) -> bool {
        self.management || can_read(self.quota)
    }

    /// Modify quotas (`quota` write).
    pub fn allow_quota_write(&self) -> bool {
        self.management || self.quota == Some(Level::Write)
    }

    /// Read CSI plugins (`plugin` read or write).
    pub fn allow_plugin_read(&self) -> bool {
        self.management || can_read(self.plugin)
    }

    /// List CSI plugins (`plugin` list, read or write).
    pub fn allow_plugin_list(&self) -> bool {
        self.management || can_read(self.plugin) || self.plugin == Some(Level::List)
    }

    /// A node pool operation: `op` is `caps::NODE_POOL_READ`, `_WRITE` or `_DELETE`. Matching
    /// follows the namespace rules (exact, closest glob, deny wins).
    pub fn allow_node_pool_op(&self, pool: &str, op: &str) -> bool {
        if self.management {
            return true;
        }
        op != caps::DENY && allows(self.node_pools.lookup(pool), op)
    }

    /// A host volume operation: `op` is `caps::HOST_VOLUME_MOUNT_READONLY` or
    /// `_READWRITE`. Matching follows the namespace rules (exact, closest glob, deny wins).
    pub fn allow_host_volume_op(&self, vol: &str, op: &str) -> bool {
        if self.management {
            return true;
        }
        op != caps::DENY && allows(self.host_volumes.lookup(vol), op)
    }
}

/// Whether a governing set (if any) grants `cap`.
fn allows(set: Option<&CapSet>, cap: &str) -> bool {
    set.is_some_and(|set| !set.contains(caps::DENY) && set.contains(cap))
}

fn can_read(level: Option<Level>) -> bool {
    matches!(level, Some(Level::Read | Level::Write))
}

/// Merges a singleton rule's level the way Nomad does: deny > write > read > list; `scale`
/// means nothing outside namespace rules and is ignored.
fn merge_level(current: &mut Option<Level>, new: Option<Level>) {
    fn rank(level: Option<Level>) -> u8 {
        match level {
            Some(Level::Deny) => 4,
            Some(Level::Write) => 3,
            Some(Level::Read) => 2,
            Some(Level::List) => 1,
            Some(Level::Scale) | None => 0,
        }
    }
    if rank(new) > rank(*current) {
        *current = new;
    }
}

#[cfg(test)]
#[path = "compiled_tests.rs"]
mod tests;
