use super::*;
use crate::caps::*;
use crate::parse_policy;

fn acl(sources: &[&str]) -> Acl {
    let policies: Vec<Policy> = sources
        .iter()
        .map(|src| parse_policy(src).unwrap_or_else(|e| panic!("{src}: {e}")))
        .collect();
    Acl::compile(&policies.iter().collect::<Vec<_>>())
}

#[test]
fn management_allows_everything_and_deny_all_nothing() {
    let all = Acl::management();
    let none = Acl::deny_all();
    assert!(all.is_management() && !none.is_management());
    assert!(
        all.allow_namespace_op("any", SUBMIT_JOB) && !none.allow_namespace_op("any", LIST_JOBS)
    );
    assert!(all.allow_namespace("any") && !none.allow_namespace("any"));
    assert!(all.allow_variable_op("any", "a/b", VAR_WRITE));
    assert!(!none.allow_variable_op("any", "a/b", VAR_READ));
    assert!(all.allow_node_write() && !none.allow_node_read());
    assert!(all.allow_agent_write() && !none.allow_agent_read());
    assert!(all.allow_operator_write() && !none.allow_operator_read());
    assert!(all.allow_quota_write() && !none.allow_quota_read());
    assert!(all.allow_node_pool_op("default", NODE_POOL_DELETE));
    assert!(!none.allow_node_pool_op("default", NODE_POOL_READ));
    assert!(all.allow_host_volume_op("v", HOST_VOLUME_MOUNT_READWRITE));
    assert!(!none.allow_host_volume_op("v", HOST_VOLUME_MOUNT_READONLY));
    // A compiled empty policy list is deny-all too.
    assert!(!Acl::compile(&[]).allow_namespace("default"));
}

#[test]
fn namespace_levels_expand_as_in_nomad() {
    let read = acl(&[r#"namespace "default" { policy = "read" }"#]);
    for cap in [
        LIST_JOBS,
        PARSE_JOB,
        READ_JOB,
        CSI_LIST_VOLUME,
        CSI_READ_VOLUME,
        READ_JOB_SCALING,
        LIST_SCALING_POLICIES,
        READ_SCALING_POLICY,
        HOST_VOLUME_READ,
    ] {
        assert!(read.allow_namespace_op("default", cap), "read grants {cap}");
    }
    for cap in [
        SUBMIT_JOB,
        DISPATCH_JOB,
        READ_LOGS,
        READ_FS,
        ALLOC_EXEC,
        SCALE_JOB,
    ] {
        assert!(
            !read.allow_namespace_op("default", cap),
            "read does not grant {cap}"
        );
    }

    let write = acl(&[r#"namespace "default" { policy = "write" }"#]);
    for cap in [
        LIST_JOBS,
        READ_JOB,
        SCALE_JOB,
        SUBMIT_JOB,
        DISPATCH_JOB,
        READ_LOGS,
        READ_FS,
        ALLOC_EXEC,
        ALLOC_LIFECYCLE,
        CSI_MOUNT_VOLUME,
        CSI_WRITE_VOLUME,
        SUBMIT_RECOMMENDATION,
        HOST_VOLUME_CREATE,
        HOST_VOLUME_READ,
    ] {
        assert!(
            write.allow_namespace_op("default", cap),
            "write grants {cap}"
        );
    }
    // Nomad keeps these out of "write": they must be granted by name.
    for cap in [
        ALLOC_NODE_EXEC,
        CSI_REGISTER_PLUGIN,
        HOST_VOLUME_REGISTER,
        HOST_VOLUME_DELETE,
        HOST_VOLUME_WRITE,
        PURGE_JOB,
    ] {
        assert!(
            !write.allow_namespace_op("default", cap),
            "write does not grant {cap}"
        );
    }

    let scale = acl(&[r#"namespace "default" { policy = "scale" }"#]);
    for cap in [
        SCALE_JOB,
        READ_JOB_SCALING,
        LIST_SCALING_POLICIES,
        READ_SCALING_POLICY,
        READ_JOB,
        SUBMIT_RECOMMENDATION,
    ] {
        assert!(
            scale.allow_namespace_op("default", cap),
            "scale grants {cap}"
        );
    }
    assert!(!scale.allow_namespace_op("default", SUBMIT_JOB));
    assert!(!scale.allow_namespace_op("default", LIST_JOBS));

    let deny = acl(&[r#"namespace "default" { policy = "deny" }"#]);
    assert!(!deny.allow_namespace("default"));
    assert!(!deny.allow_namespace_op("default", DENY));
}

#[test]
fn capabilities_add_to_the_level_and_imply_host_volume_ones() {
    let acl = acl(&[r#"
        namespace "default" {
          policy = "read"
          capabilities = ["alloc-node-exec", "host-volume-write"]
        }
    "#]);
    assert!(acl.allow_namespace_op("default", READ_JOB));
    assert!(acl.allow_namespace_op("default", ALLOC_NODE_EXEC));
    for cap in [
        HOST_VOLUME_REGISTER,
        HOST_VOLUME_CREATE,
        HOST_VOLUME_DELETE,
        HOST_VOLUME_READ,
    ] {
        assert!(
            acl.allow_namespace_op("default", cap),
            "host-volume-write implies {cap}"
        );
    }
    assert!(!acl.allow_namespace_op("default", SUBMIT_JOB));
}

#[test]
fn exact_rule_beats_globs_and_closest_glob_wins() {
    let acl = acl(&[r#"
        namespace "*" { policy = "read" }
        namespace "prod-*" { capabilities = ["list-jobs"] }
        namespace "prod-api" { policy = "write" }
    "#]);
    assert!(acl.allow_namespace_op("prod-api", SUBMIT_JOB));
    // "prod-*" is closer than "*" for prod-web, and grants only list-jobs.
    assert!(acl.allow_namespace_op("prod-web", LIST_JOBS));
    assert!(!acl.allow_namespace_op("prod-web", READ_JOB));
    assert!(acl.allow_namespace_op("dev", READ_JOB));
    assert!(!acl.allow_namespace_op("dev", SUBMIT_JOB));
}

#[test]
fn deny_wins_over_any_grant_on_overlapping_globs() {
    // A closer grant does not undo a wider deny ...
    let wide_deny = acl(&[r#"
        namespace "*" { policy = "deny" }
        namespace "prod" { policy = "write" }
    "#]);
    assert!(!wide_deny.allow_namespace_op("prod", READ_JOB));
    assert!(!wide_deny.allow_namespace("prod"));
    // ... a deny capability on a closer glob beats a grant on the exact name ...
    let glob_deny = acl(&[r#"
        namespace "shared-*" { capabilities = ["deny"] }
        namespace "shared-ci" { policy = "write" }
        namespace "*" { policy = "read" }
    "#]);
    assert!(!glob_deny.allow_namespace_op("shared-ci", SUBMIT_JOB));
    assert!(!glob_deny.allow_namespace_op("shared-x", LIST_JOBS));
    assert!(glob_deny.allow_namespace_op("other", LIST_JOBS));
    // ... and across policies of one token.
    let two = acl(&[
        r#"namespace "web" { policy = "write" }"#,
        r#"namespace "w*" { policy = "deny" }"#,
    ]);
    assert!(!two.allow_namespace_op("web", READ_JOB));
}

#[test]
fn merging_policies_unites_capabilities() {
    let acl = acl(&[
        r#"namespace "default" { capabilities = ["read-logs"] }"#,
        r#"namespace "default" { policy = "read" }"#,
    ]);
    assert!(acl.allow_namespace_op("default", READ_LOGS));
    assert!(acl.allow_namespace_op("default", READ_JOB));
    // A rule with no capabilities still matches (and so shadows globs), as in Nomad.
    let empty = self::acl(&[r#"
        namespace "quiet" {}
        namespace "*" { policy = "read" }
    "#]);
    assert!(!empty.allow_namespace("quiet"));
    assert!(empty.allow_namespace("loud"));
}

#[test]
fn namespace_write_grants_no_variables_as_in_nomad() {
    // Nomad's documented behaviour: variables are governed only by `variables` blocks; a
    // namespace `policy = "write"` alone gives no access to variables.
    let acl = acl(&[r#"namespace "default" { policy = "write" }"#]);
    for op in [VAR_READ, VAR_WRITE, VAR_LIST, VAR_DESTROY] {
        assert!(!acl.allow_variable_op("default", "app/config", op), "{op}");
    }
}

#[test]
fn variables_paths_globs_and_implications() {
    let acl = acl(&[r#"
        namespace "prod" {
          variables {
            path "*" { capabilities = ["list"] }
            path "app/*" { capabilities = ["read"] }
            path "app/db" { capabilities = ["write", "destroy"] }
            path "app/secret/*" { capabilities = ["deny"] }
          }
        }
        namespace "*" {
          variables {
            path "shared/*" { capabilities = ["read", "write"] }
          }
        }
    "#]);
    // read implies list (Nomad).
    assert!(acl.allow_variable_op("prod", "app/web", VAR_READ));
    assert!(acl.allow_variable_op("prod", "app/web", VAR_LIST));
    assert!(!acl.allow_variable_op("prod", "app/web", VAR_WRITE));
    // The exact path wins over the closer glob: write and destroy, but not read.
    assert!(acl.allow_variable_op("prod", "app/db", VAR_WRITE));
    assert!(acl.allow_variable_op("prod", "app/db", VAR_DESTROY));
    assert!(!acl.allow_variable_op("prod", "app/db", VAR_READ));
    // "*" matches across slashes.
    assert!(acl.allow_variable_op("prod", "misc/a/b", VAR_LIST));
    assert!(!acl.allow_variable_op("prod", "misc/a/b", VAR_READ));
    // A deny path rule wins.
    assert!(!acl.allow_variable_op("prod", "app/secret/key", VAR_READ));
    assert!(!acl.allow_variable_op("prod", "app/secret/key", VAR_LIST));
    // Namespace globs apply to variables too.
    assert!(acl.allow_variable_op("dev", "shared/x", VAR_WRITE));
    assert!(!acl.allow_variable_op("dev", "app/web", VAR_READ));
    // Asking for "deny" is never allowed.
    assert!(!acl.allow_variable_op("prod", "app/web", VAR_DENY));
}

#[test]
fn a_namespace_deny_also_denies_its_variables() {
    let acl = acl(&[
        r#"namespace "*" { policy = "deny" }"#,
        r#"
        namespace "dev" {
          variables {
            path "*" { capabilities = ["read"] }
          }
        }
        "#,
    ]);
    assert!(!acl.allow_variable_op("dev", "x", VAR_READ));
}

#[test]
fn singleton_levels_merge_with_deny_winning() {
    let acl = acl(&[
        "node {\n policy = \"read\"\n}\nagent {\n policy = \"write\"\n}\nquota {\n policy = \"read\"\n}",
        "node {\n policy = \"write\"\n}\nagent {\n policy = \"deny\"\n}\noperator {\n policy = \"read\"\n}",
    ]);
    assert!(acl.allow_node_read() && acl.allow_node_write());
    assert!(!acl.allow_agent_read() && !acl.allow_agent_write());
    assert!(acl.allow_operator_read() && !acl.allow_operator_write());
    assert!(acl.allow_quota_read() && !acl.allow_quota_write());
    assert!(acl.allow_operator_op(OPERATOR_KEYRING_READ));
    assert!(!acl.allow_operator_op(OPERATOR_SNAPSHOT_SAVE));
}

#[test]
fn operator_capabilities_and_plugin_levels() {
    let ops = acl(&["operator {\n capabilities = [\"snapshot-save\"]\n}"]);
    assert!(ops.allow_operator_op(OPERATOR_SNAPSHOT_SAVE));
    assert!(!ops.allow_operator_read());
    let denied = acl(&["operator {\n policy = \"write\"\n capabilities = [\"deny\"]\n}"]);
    assert!(!denied.allow_operator_write() && !denied.allow_operator_op(OPERATOR_SNAPSHOT_SAVE));

    let list = acl(&["plugin {\n policy = \"list\"\n}"]);
    assert!(list.allow_plugin_list() && !list.allow_plugin_read());
    let read = acl(&["plugin {\n policy = \"read\"\n}"]);
    assert!(read.allow_plugin_list() && read.allow_plugin_read());
}

#[test]
fn node_pools_and_host_volumes() {
    let acl = acl(&[r#"
        node_pool "*" { policy = "read" }
        node_pool "gpu" { policy = "write" }
        node_pool "secret-*" { policy = "deny" }
        host_volume "*" { policy = "read" }
        host_volume "scratch" { policy = "write" }
        host_volume "certs-*" { capabilities = ["deny"] }
    "#]);
    assert!(acl.allow_node_pool_op("gpu", NODE_POOL_DELETE));
    assert!(acl.allow_node_pool_op("default", NODE_POOL_READ));
    assert!(!acl.allow_node_pool_op("default", NODE_POOL_WRITE));
    assert!(!acl.allow_node_pool_op("secret-a", NODE_POOL_READ));
    assert!(acl.allow_host_volume_op("scratch", HOST_VOLUME_MOUNT_READWRITE));
    assert!(acl.allow_host_volume_op("data", HOST_VOLUME_MOUNT_READONLY));
    assert!(!acl.allow_host_volume_op("data", HOST_VOLUME_MOUNT_READWRITE));
    assert!(!acl.allow_host_volume_op("certs-ca", HOST_VOLUME_MOUNT_READONLY));
}
