//! Compiled ACLs, cached by the policy texts they were built from.
//!
//! Parsing and compiling policies on every request would cost more than the request; the
//! cache key is the policies' rule texts themselves, so an edited policy compiles afresh and
//! two clusters in one process never share a wrong entry.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use nomadish_acl::{Acl, Policy, parse_policy};
use nomadish_proto::model::AclPolicy;

/// Entries kept before the cache starts over.
const MAX_ENTRIES: usize = 1024;

static CACHE: LazyLock<Mutex<HashMap<String, Arc<Acl>>>> = LazyLock::new(Mutex::default);

/// The ACL the policies grant together. A stored policy that no longer parses (it was
/// validated when applied) grants nothing.
pub(super) fn compile(policies: &[Arc<AclPolicy>]) -> Arc<Acl> {
    let key: String = policies
        .iter()
        .map(|p| format!("{}\u{0}{}\u{0}", p.name, p.rules))
        .collect();
    if let Some(acl) = CACHE.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return acl;
    }
    let parsed: Vec<Policy> = policies
        .iter()
        .filter_map(|p| parse_policy(&p.rules).ok())
        .collect();
    let refs: Vec<&Policy> = parsed.iter().collect();
    let acl = Arc::new(Acl::compile(&refs));
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(key, acl.clone());
    }
    acl
}
