use super::*;

/// The example from Nomad's "ACL policy specification" page.
const NOMAD_DOC_EXAMPLE: &str = r#"
# this is a namespace rule for the "foo" namespace
namespace "foo" {
  policy = "write" # this is a policy field
  capabilities = ["alloc-exec"] # this is a capabilities list

  # this block controls access to variables in this namespace
  variables {
    path "project/*" {
      capabilities = ["read", "write"]
    }
  }
}

# this is a namespace rule, with a wildcard label
namespace "*" {
  policy = "read"
}

node {
  policy = "read"
}

agent {
  policy = "read"
}

operator {
  policy = "read"
}

quota {
  policy = "read"
}

# this is a host_volume rule, with a wildcard label
host_volume "*" {
  policy = "read"
}

plugin {
  policy = "read"
}
"#;

/// A policy source and a check of what it parses to.
type GoodCase = (&'static str, fn(&Policy) -> bool);

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn parses_nomads_documented_example() {
    let policy = parse_policy(NOMAD_DOC_EXAMPLE).unwrap();
    assert_eq!(
        policy.namespaces,
        vec![
            NamespaceRule {
                name: "foo".into(),
                policy: Some(Level::Write),
                capabilities: strings(&["alloc-exec"]),
                variables: vec![VariablesPathRule {
                    path: "project/*".into(),
                    capabilities: strings(&["read", "write"]),
                }],
            },
            NamespaceRule {
                name: "*".into(),
                policy: Some(Level::Read),
                capabilities: vec![],
                variables: vec![],
            },
        ]
    );
    assert_eq!(policy.node, Some(Level::Read));
    assert_eq!(policy.agent, Some(Level::Read));
    assert_eq!(policy.operator, Some(Level::Read));
    assert_eq!(policy.quota, Some(Level::Read));
    assert_eq!(policy.plugin, Some(Level::Read));
    assert_eq!(
        policy.host_volumes,
        vec![HostVolumeRule {
            name: "*".into(),
            policy: Some(Level::Read),
            capabilities: vec![],
        }]
    );
}

#[test]
fn parses_good_policies() {
    let cases: &[GoodCase] = &[
        // Capabilities without a policy.
        (
            r#"namespace "dev" { capabilities = ["list-jobs", "read-job", "scale-job"] }"#,
            |p| p.namespaces[0].capabilities.len() == 3 && p.namespaces[0].policy.is_none(),
        ),
        // Nomad's scale level and the deny level.
        (
            "namespace \"a\" { policy = \"scale\" }\nnamespace \"b\" { policy = \"deny\" }",
            |p| {
                p.namespaces[0].policy == Some(Level::Scale)
                    && p.namespaces[1].policy == Some(Level::Deny)
            },
        ),
        // The same namespace twice is kept as written (compile merges).
        (
            "namespace \"a\" { policy = \"read\" }\nnamespace \"a\" { policy = \"write\" }",
            |p| p.namespaces.len() == 2,
        ),
        // Node pools (underscores allowed), plugin list, operator capabilities.
        (
            r#"
            node_pool "gpu_*" {
              policy = "write"
              capabilities = ["delete"]
            }
            plugin { policy = "list" }
            operator { capabilities = ["snapshot-save"] }
            "#,
            |p| {
                p.node_pools[0].name == "gpu_*"
                    && p.node_pools[0].policy == Some(Level::Write)
                    && p.plugin == Some(Level::List)
                    && p.operator.is_none()
                    && p.operator_capabilities == strings(&["snapshot-save"])
            },
        ),
        // Host volumes with capabilities.
        (
            r#"host_volume "ca-certs" { capabilities = ["mount-readonly"] }"#,
            |p| p.host_volumes[0].capabilities == strings(&["mount-readonly"]),
        ),
        // Several variables paths; a namespace with only variables.
        (
            r#"
            namespace "prod" {
              variables {
                path "nomad/jobs/*" { capabilities = ["read", "list"] }
                path "secret" { capabilities = ["deny"] }
              }
            }
            "#,
            |p| p.namespaces[0].variables.len() == 2 && p.namespaces[0].policy.is_none(),
        ),
        // Comments of every style, and an empty rule.
        ("// c\n/* c */ namespace \"x\" {}\n# c", |p| {
            p.namespaces[0].name == "x"
        }),
        // Nomad parses the empty string to an empty policy.
        ("", Policy::is_empty),
    ];
    for (src, check) in cases {
        let policy = parse_policy(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(check(&policy), "{src}: {policy:?}");
    }
}

#[test]
fn rejects_bad_policies_with_positions() {
    let cases: &[(&str, usize, usize, &str)] = &[
        // Unknown block.
        (
            "namespace \"a\" { policy = \"read\" }\nnodes {\n  policy = \"read\"\n}",
            2,
            1,
            "unknown block \"nodes\"",
        ),
        // Blocks without their label.
        (
            "namespace {\n  policy = \"read\"\n}",
            1,
            1,
            "namespace block needs a label",
        ),
        (
            "\n  node_pool { policy = \"read\" }",
            2,
            3,
            "node_pool block needs a label",
        ),
        ("host_volume {}", 1, 1, "host_volume block needs a label"),
        ("namespace \"a\" \"b\" {}", 1, 1, "exactly one label"),
        (
            "node \"x\" { policy = \"read\" }",
            1,
            1,
            "node block takes no label",
        ),
        // Unknown capability.
        (
            "namespace \"a\" {\n  capabilities = [\"read-job\", \"fly\"]\n}",
            2,
            3,
            "unknown capability \"fly\" in namespace rule",
        ),
        (
            "host_volume \"v\" {\n\tcapabilities = [\"mount\"]\n}",
            2,
            2,
            "expected one of \"deny\", \"mount-readonly\"",
        ),
        (
            "namespace \"a\" {\n  variables {\n    path \"*\" { capabilities = [\"admin\"] }\n  }\n}",
            3,
            16,
            "unknown capability \"admin\" in variables path rule",
        ),
        (
            "operator {\n  capabilities = [\"read-job\"]\n}",
            2,
            3,
            "unknown capability \"read-job\" in operator rule",
        ),
        // Unknown policy level, and a level the block does not accept.
        (
            "namespace \"a\" {\n  policy = \"admin\"\n}",
            2,
            3,
            "unknown policy level \"admin\" in namespace rule",
        ),
        (
            "namespace \"a\" { policy = \"list\" }",
            1,
            17,
            "policy \"list\" is not valid in a namespace rule",
        ),
        (
            "agent {\n   policy = \"Read\"\n}",
            2,
            4,
            "unknown policy level \"Read\"",
        ),
        (
            "plugin { policy = \"scale\" }",
            1,
            10,
            "not valid in a plugin rule",
        ),
        // Unknown attribute, at the top level and in rules.
        (
            "namespace \"a\" {\n  policy = \"read\"\n  polcy = \"write\"\n}",
            3,
            3,
            "unknown attribute \"polcy\" in namespace rule",
        ),
        (
            "node {\n  policy = \"read\"\n  capabilities = [\"read\"]\n}",
            3,
            3,
            "unknown attribute \"capabilities\" in node rule",
        ),
        ("rules = \"x\"", 1, 1, "unknown attribute \"rules\""),
        (
            "namespace \"a\" {\n  variables {\n    path \"x\" { policy = \"read\" }\n  }\n}",
            3,
            16,
            "unknown attribute \"policy\" in variables path rule",
        ),
        // Bad syntax.
        (
            "namespace \"a\" {\n  policy = \"read\"\n",
            2,
            19,
            "syntax error",
        ),
        (
            "namespace \"a\" {\n  policy = = \"read\"\n}",
            2,
            12,
            "syntax error",
        ),
        // Wrong value types.
        (
            "namespace \"a\" {\n  policy = read\n}",
            2,
            3,
            "policy must be a plain string",
        ),
        (
            "namespace \"a\" { capabilities = \"read-job\" }",
            1,
            17,
            "capabilities must be a list of strings",
        ),
        (
            "namespace \"a\" { policy = \"${x}\" }",
            1,
            17,
            "policy must be a plain string",
        ),
        // Duplicates.
        (
            "agent { policy = \"read\" }\nagent { policy = \"write\" }",
            2,
            1,
            "duplicate agent block",
        ),
        (
            "namespace \"a\" {\n  policy = \"read\"\n  policy = \"write\"\n}",
            3,
            3,
            "redefined attribute",
        ),
        (
            "namespace \"a\" {\n  variables {\n    path \"a\" {}\n  }\n  variables {\n    path \"b\" {}\n  }\n}",
            5,
            3,
            "duplicate variables block",
        ),
        // Names Nomad rejects.
        (
            "namespace \"a b\" {}",
            1,
            1,
            "invalid namespace name \"a b\"",
        ),
        ("node_pool \"\" {}", 1, 1, "invalid node pool name \"\""),
        ("host_volume \"v_1\" {}", 1, 1, "invalid host volume name"),
        // Variables blocks.
        (
            "namespace \"a\" {\n  variables {}\n}",
            2,
            3,
            "needs at least one path rule",
        ),
        (
            "namespace \"a\" {\n  variables {\n    path {}\n  }\n}",
            3,
            5,
            "path block needs a label",
        ),
        (
            "namespace \"a\" {\n  variables {\n    path \"/x\" {}\n  }\n}",
            3,
            5,
            "cannot start with \"/\"",
        ),
        (
            "namespace \"a\" {\n  variables {\n    path \"\" {}\n  }\n}",
            3,
            5,
            "must not be empty",
        ),
        (
            "namespace \"a\" {\n  variables { key = 1 }\n}",
            2,
            15,
            "unknown attribute \"key\" in variables block",
        ),
        (
            "namespace \"a\" {\n  rules {}\n}",
            2,
            3,
            "unknown block \"rules\" in namespace rule",
        ),
        // A level-only rule needs its level.
        ("quota {}", 1, 1, "quota rule needs a policy"),
        // Something to parse, but no rule; Enterprise-only blocks.
        ("# only a comment\n", 1, 1, "the policy has no rules"),
        (
            "sentinel { policy = \"read\" }",
            1,
            1,
            "Nomad Enterprise only",
        ),
    ];
    let mut failures = Vec::new();
    for (src, line, col, needle) in cases {
        match parse_policy(src) {
            Err(err) if (err.line, err.col) == (*line, *col) && err.message.contains(needle) => {}
            got => failures.push(format!(
                "{src:?}: got {got:?}, want {line}:{col}: ..{needle}.."
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_display_is_line_col_message() {
    let err = parse_policy("namespace \"a\" {\n  policy = \"admin\"\n}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "2:3: unknown policy level \"admin\" in namespace rule (expected one of \"deny\", \"read\", \"write\", \"scale\")"
    );
}

#[test]
fn columns_count_characters() {
    let err = parse_policy("# é\nnamespace \"é\" {}").unwrap_err();
    assert_eq!((err.line, err.col), (2, 1));
    let err = parse_policy("namespace \"a\" { /* ééé */ bad = 1 }").unwrap_err();
    assert_eq!((err.line, err.col), (1, 27));
}

#[test]
fn levels_round_trip_by_name() {
    for level in Level::ALL {
        assert_eq!(Level::from_name(level.as_str()), Some(level));
        assert_eq!(level.to_string(), level.as_str());
    }
    assert_eq!(Level::from_name("READ"), None);
}

#[test]
fn json_form_parses_like_hcl() {
    let json = r#"{
      "namespace": {
        "foo": {
          "policy": "write",
          "capabilities": ["alloc-exec"],
          "variables": { "path": { "project/*": { "capabilities": ["read", "write"] } } }
        },
        "*": { "policy": "read" }
      },
      "node": { "policy": "read" },
      "agent": { "policy": "read" },
      "operator": { "policy": "read" },
      "quota": { "policy": "read" },
      "host_volume": { "*": { "policy": "read" } },
      "plugin": { "policy": "read" }
    }"#;
    let mut from_json = parse_policy(json).unwrap();
    let mut from_hcl = parse_policy(NOMAD_DOC_EXAMPLE).unwrap();
    // JSON objects have no key order; compare namespaces as sets.
    from_json.namespaces.sort_by(|a, b| a.name.cmp(&b.name));
    from_hcl.namespaces.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(from_json, from_hcl);

    // HCL 1's array-of-objects form.
    let arrays = r#"{"namespace": [{"a": {"policy": "read"}}, {"b": {"policy": "deny"}}]}"#;
    assert_eq!(parse_policy(arrays).unwrap().namespaces.len(), 2);
}

#[test]
fn json_form_errors() {
    let err = parse_policy("{\n  \"namespace\": {\n    \"a\": {\"policy\": \"read\",}\n  }\n}")
        .unwrap_err();
    assert_eq!((err.line, err.col), (3, 28), "{err}");
    assert!(err.message.starts_with("JSON syntax error"), "{err}");
    let err = parse_policy(r#"{"namespace": {"a": {"policy": "admin"}}}"#).unwrap_err();
    assert_eq!((err.line, err.col), (1, 1));
    assert!(
        err.message.contains("unknown policy level \"admin\""),
        "{err}"
    );
    let err =
        parse_policy(r#"{"namespace": {"a": {"capabilities": ["read-job", 3]}}}"#).unwrap_err();
    assert!(err.message.contains("must be a plain string"), "{err}");
    let err = parse_policy(r#"{"namespace": {"a": "read"}}"#).unwrap_err();
    assert!(err.message.contains("must be an object"), "{err}");
    let err = parse_policy(r#"{"bogus key": 1}"#).unwrap_err();
    assert!(err.message.contains("invalid key"), "{err}");
    let err = parse_policy(r#"{"nodes": {"policy": "read"}}"#).unwrap_err();
    assert!(err.message.contains("unknown block \"nodes\""), "{err}");
    let err = parse_policy("{}").unwrap_err();
    assert!(err.message.contains("no rules"), "{err}");
}

#[test]
fn crate_doc_example_parses() {
    let src = r#"
namespace "default" {            # a namespace name, or a glob: "prod-*", "*"
  policy       = "write"         # deny | read | write | scale
  capabilities = ["alloc-node-exec"]
  variables {
    path "app/*" {               # a variables path glob (no leading "/")
      capabilities = ["read", "write"]   # read | write | list | destroy | deny
    }
  }
}
node_pool "gpu-*" { policy = "read" }          # capabilities: read, write, delete, deny
host_volume "certs" { policy = "read" }        # capabilities: mount-readonly, mount-readwrite, deny
node     { policy = "read" }                   # deny | read | write
agent    { policy = "read" }
operator { policy = "read" }                   # also capabilities: snapshot-save, keyring-read, ...
quota    { policy = "read" }
plugin   { policy = "list" }                   # deny | read | list | write
"#;
    let policy = parse_policy(src).unwrap();
    assert_eq!(policy.namespaces[0].variables[0].path, "app/*");
    assert_eq!(policy.plugin, Some(Level::List));
}

#[test]
fn mangled_input_never_panics() {
    // The parser is meant to be fuzzable: every prefix and every one-character deletion of a
    // real policy yields a policy or an error, never a panic, and errors are positioned.
    let src = NOMAD_DOC_EXAMPLE;
    let lines = src.lines().count() + 1;
    let mut inputs: Vec<String> = Vec::new();
    for (i, c) in src.char_indices() {
        inputs.push(src[..i].to_string());
        inputs.push(format!("{}{}", &src[..i], &src[i + c.len_utf8()..]));
    }
    for input in &inputs {
        if let Err(err) = parse_policy(input) {
            assert!(
                err.line >= 1 && err.line <= lines && err.col >= 1,
                "{input:?}: {err}"
            );
        }
    }
}
