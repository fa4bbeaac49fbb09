//! Capability sets keyed by name globs, and the lookup that picks the set governing a name.
//!
//! Lookup order for a concrete name:
//!
//! ```text
//! all rules whose glob matches the name
//!   ├─ any of them denies?          -> the deny set        (nomadish: deny wins over grants)
//!   ├─ an exact (glob-free) rule?   -> its set             (Nomad: exact beats globs)
//!   └─ otherwise the closest glob   -> its set             (Nomad: fewest wildcard-matched
//!                                                            characters; ties by glob text)
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::caps::DENY;
use crate::glob;

/// A set of capability names. A set holding [`DENY`] holds nothing else.
pub(crate) type CapSet = BTreeSet<String>;

/// Adds `caps` to `set`; a deny replaces the set with `{deny}` and nothing is added after it.
pub(crate) fn merge<'c>(set: &mut CapSet, caps: impl IntoIterator<Item = &'c str>) {
    if set.contains(DENY) {
        return;
    }
    for cap in caps {
        if cap == DENY {
            set.clear();
            set.insert(DENY.to_string());
            return;
        }
        set.insert(cap.to_string());
    }
}

/// Capability sets keyed by a name or glob (namespaces, node pools, host volumes).
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleSet {
    rules: BTreeMap<String, CapSet>,
}

impl RuleSet {
    /// Merges `caps` into the rule for `pattern`, creating it (possibly empty) if needed.
    pub(crate) fn grant<'c>(&mut self, pattern: &str, caps: impl IntoIterator<Item = &'c str>) {
        merge(self.rules.entry(pattern.to_string()).or_default(), caps);
    }

    /// The set governing the concrete `name`, if any rule matches it.
    pub(crate) fn lookup(&self, name: &str) -> Option<&CapSet> {
        pick(self.rules.iter().filter_map(|(pattern, set)| {
            let wild = glob::wildcard_len(pattern, name)?;
            Some(((glob::is_glob(pattern), wild), set))
        }))
    }
}

/// Variables capability sets keyed by (namespace glob, path glob).
#[derive(Debug, Clone, Default)]
pub(crate) struct PathRules {
    rules: BTreeMap<(String, String), CapSet>,
}

impl PathRules {
    /// Merges `caps` into the rule for (`namespace`, `path`).
    pub(crate) fn grant<'c>(
        &mut self,
        namespace: &str,
        path: &str,
        caps: impl IntoIterator<Item = &'c str>,
    ) {
        let key = (namespace.to_string(), path.to_string());
        merge(self.rules.entry(key).or_default(), caps);
    }

    /// The set governing `path` in the concrete namespace `ns`. Closeness adds the characters
    /// matched by wildcards in the namespace and in the path (Nomad globs "ns\0path").
    pub(crate) fn lookup(&self, ns: &str, path: &str) -> Option<&CapSet> {
        pick(self.rules.iter().filter_map(|((ns_glob, path_glob), set)| {
            let wild = glob::wildcard_len(ns_glob, ns)? + glob::wildcard_len(path_glob, path)?;
            let is_glob = glob::is_glob(ns_glob) || glob::is_glob(path_glob);
            Some(((is_glob, wild), set))
        }))
    }
}

/// Among matching rules (in key order, with their rank), the deny set if any rule denies,
/// else the best-ranked set (exact first, then fewest wildcard characters, then key order).
fn pick<'a>(matches: impl Iterator<Item = ((bool, usize), &'a CapSet)>) -> Option<&'a CapSet> {
    let mut best: Option<((bool, usize), &'a CapSet)> = None;
    for (rank, set) in matches {
        if set.contains(DENY) {
            return Some(set);
        }
        if best.is_none_or(|(best_rank, _)| rank < best_rank) {
            best = Some((rank, set));
        }
    }
    best.map(|(_, set)| set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(caps: &[&str]) -> CapSet {
        caps.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn deny_clears_and_sticks() {
        let mut s = set(&["read-job"]);
        merge(&mut s, ["list-jobs", DENY, "submit-job"]);
        assert_eq!(s, set(&[DENY]));
        merge(&mut s, ["read-job"]);
        assert_eq!(s, set(&[DENY]));
    }

    #[test]
    fn exact_beats_globs_and_closest_glob_wins() {
        let mut rules = RuleSet::default();
        rules.grant("*", ["list-jobs"]);
        rules.grant("prod-*", ["read-job"]);
        rules.grant("prod-web-*", ["submit-job"]);
        rules.grant("prod-web-1", ["read-logs"]);
        assert_eq!(rules.lookup("prod-web-1"), Some(&set(&["read-logs"])));
        assert_eq!(rules.lookup("prod-web-2"), Some(&set(&["submit-job"])));
        assert_eq!(rules.lookup("prod-db"), Some(&set(&["read-job"])));
        assert_eq!(rules.lookup("dev"), Some(&set(&["list-jobs"])));
        assert_eq!(RuleSet::default().lookup("dev"), None);
    }

    #[test]
    fn a_deny_on_any_matching_rule_wins() {
        let mut rules = RuleSet::default();
        rules.grant("prod", ["submit-job"]);
        rules.grant("*", [DENY]);
        assert_eq!(rules.lookup("prod"), Some(&set(&[DENY])));
    }
}
