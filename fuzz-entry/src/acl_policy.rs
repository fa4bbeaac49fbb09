//! The `acl_policy` target: ACL policy text (HCL or Nomad's JSON form) through the parser, and
//! an accepted policy through compilation and authorization.
//!
//! Input: UTF-8 policy text.

use nomadish_acl::{Acl, Level, Policy, caps, parse_policy};

/// Namespace capabilities asked of every compiled policy.
const NAMESPACE_CAPS: [&str; 6] = [
    caps::READ_JOB,
    caps::SUBMIT_JOB,
    caps::LIST_JOBS,
    caps::ALLOC_EXEC,
    caps::SCALE_JOB,
    caps::DENY,
];

/// Names asked about besides the policy's own rule names.
const NAMES: [&str; 4] = ["default", "prod-web", "", "a/b/c"];

/// The target: parses; errors must carry a 1-based position; an accepted policy compiles,
/// answers every question, a `deny` namespace rule denies its namespace, and merging the
/// policy with itself changes no answer.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_policy(text) {
        Err(err) => assert!(
            err.line > 0 && err.col > 0,
            "policy error without a position: {err}"
        ),
        Ok(policy) => check_compiled(&policy),
    }
}

fn check_compiled(policy: &Policy) {
    let once = Acl::compile(&[policy]);
    let twice = Acl::compile(&[policy, policy]);
    let rule_names = policy.namespaces.iter().map(|r| r.name.as_str());
    for ns in NAMES.into_iter().chain(rule_names) {
        let answers = |acl: &Acl| {
            let ops = NAMESPACE_CAPS.map(|cap| acl.allow_namespace_op(ns, cap));
            let var = acl.allow_variable_op(ns, "app/config", "read");
            (ops, var, acl.allow_namespace(ns))
        };
        assert_eq!(answers(&once), answers(&twice), "merging changed {ns:?}");
    }
    for rule in &policy.namespaces {
        if rule.policy == Some(Level::Deny) && !rule.name.contains('*') {
            for cap in NAMESPACE_CAPS {
                assert!(
                    !once.allow_namespace_op(&rule.name, cap),
                    "namespace {:?} is denied yet allows {cap}",
                    rule.name
                );
            }
        }
    }
    let globals = |acl: &Acl| {
        [
            acl.allow_node_read(),
            acl.allow_node_write(),
            acl.allow_agent_read(),
            acl.allow_operator_write(),
            acl.allow_quota_read(),
            acl.allow_plugin_list(),
            acl.allow_node_pool_op("default", "write"),
            acl.allow_host_volume_op("certs", "mount-readonly"),
        ]
    };
    assert_eq!(globals(&once), globals(&twice), "merging changed a global");
}
