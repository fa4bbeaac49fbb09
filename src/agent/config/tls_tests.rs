//! The `tls` block and the cluster settings of the `server` block: parsing, relative paths,
//! merging, resolving into `TlsConfig`, and the errors.

use std::net::IpAddr;
use std::path::Path;

use super::*;

const TLS_BLOCK: &str = r#"
tls {
  http = true
  rpc  = true
  ca_file   = "nomadish-agent-ca.pem"
  cert_file = "global-server-nomadish.pem"
  key_file  = "global-server-nomadish-key.pem"
  verify_server_hostname = true
  verify_https_client    = true
}
"#;

const ROLES: &str =
    "data_dir = \"/d\"\nserver {\n  enabled = true\n}\nclient {\n  enabled = true\n}\n";

fn ip() -> IpAddr {
    "10.1.1.1".parse().unwrap()
}

/// Writes the three PEM files the TLS block names into `dir`.
fn write_pems(dir: &Path) {
    for name in [
        "nomadish-agent-ca.pem",
        "global-server-nomadish.pem",
        "global-server-nomadish-key.pem",
    ] {
        std::fs::write(dir.join(name), "-----BEGIN TEST-----\n").unwrap();
    }
}

#[test]
fn tls_block_parses_every_key() {
    let cfg = parse_str("agent.hcl", TLS_BLOCK).unwrap();
    let tls = &cfg.tls;
    assert_eq!((tls.http, tls.rpc), (Some(true), Some(true)));
    assert_eq!(tls.ca_file, Some(PathBuf::from("nomadish-agent-ca.pem")));
    assert_eq!(
        tls.key_file,
        Some(PathBuf::from("global-server-nomadish-key.pem"))
    );
    assert_eq!(tls.verify_server_hostname, Some(true));
    assert_eq!(tls.verify_https_client, Some(true));
}

#[test]
fn relative_paths_are_taken_from_the_config_files_directory() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    write_pems(&etc);
    let file = etc.join("agent.hcl");
    std::fs::write(&file, format!("{ROLES}region = \"europe\"\n{TLS_BLOCK}")).unwrap();
    let cfg = load_files(&[file]).unwrap();
    assert_eq!(cfg.tls.ca_file, Some(etc.join("nomadish-agent-ca.pem")));
    let plan = resolve(&cfg, false, None, ip()).unwrap();
    let server_tls = plan.server.unwrap().tls.expect("server TLS");
    assert_eq!(server_tls.cert_file, etc.join("global-server-nomadish.pem"));
    assert_eq!(server_tls.region, "europe");
    assert!(server_tls.http && server_tls.rpc);
    assert!(server_tls.verify_server_hostname && server_tls.verify_https_client);
    assert_eq!(plan.client.unwrap().tls, Some(server_tls));
    assert_eq!(plan.http_url, "https://127.0.0.1:4646");
    assert!(
        plan.banner.warnings.is_empty(),
        "{:?}",
        plan.banner.warnings
    );
}

#[test]
fn a_later_file_overrides_single_tls_keys_relative_to_its_own_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    write_pems(&a);
    std::fs::write(b.join("other-cert.pem"), "x").unwrap();
    std::fs::write(a.join("base.hcl"), format!("{ROLES}{TLS_BLOCK}")).unwrap();
    std::fs::write(
        b.join("over.hcl"),
        "tls {\n  cert_file = \"other-cert.pem\"\n  http = false\n}\n",
    )
    .unwrap();
    let cfg = load_files(&[a.join("base.hcl"), b.join("over.hcl")]).unwrap();
    let tls = cfg.tls.resolve("global").unwrap().expect("rpc still on");
    assert_eq!(tls.cert_file, b.join("other-cert.pem"));
    assert_eq!(tls.ca_file, a.join("nomadish-agent-ca.pem"));
    assert!(tls.rpc && !tls.http);
}

#[test]
fn absolute_paths_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    write_pems(dir.path());
    let ca = dir.path().join("nomadish-agent-ca.pem");
    let file = dir.path().join("sub").join("agent.hcl");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        &file,
        format!("tls {{\n  ca_file = {:?}\n}}\n", ca.display()),
    )
    .unwrap();
    let cfg = load_files(&[file]).unwrap();
    assert_eq!(cfg.tls.ca_file, Some(ca));
}

#[test]
fn no_tls_block_or_tls_off_means_none() {
    let cfg = parse_str("a", ROLES).unwrap();
    let plan = resolve(&cfg, false, None, ip()).unwrap();
    assert_eq!(plan.server.unwrap().tls, None);
    assert_eq!(plan.client.unwrap().tls, None);
    assert_eq!(plan.http_url, "http://127.0.0.1:4646");
    // Files are not looked at while TLS is off.
    let off = "tls {\n  http = false\n  rpc = false\n  ca_file = \"/nonexistent/ca.pem\"\n}\n";
    let cfg = parse_str("a", &format!("{ROLES}{off}")).unwrap();
    let plan = resolve(&cfg, false, None, ip()).unwrap();
    assert_eq!(plan.server.unwrap().tls, None);
}

#[test]
fn a_missing_file_is_an_error_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_pems(dir.path());
    std::fs::remove_file(dir.path().join("global-server-nomadish.pem")).unwrap();
    let file = dir.path().join("agent.hcl");
    std::fs::write(&file, format!("{ROLES}{TLS_BLOCK}")).unwrap();
    let cfg = load_files(&[file]).unwrap();
    let err = resolve(&cfg, false, None, ip()).unwrap_err();
    let missing = dir.path().join("global-server-nomadish.pem");
    let ConfigError::File { key, path, .. } = &err else {
        panic!("expected a file error, got {err}");
    };
    assert_eq!((key.as_str(), path), ("tls.cert_file", &missing));
    assert!(
        err.to_string().starts_with(&format!(
            "tls.cert_file: cannot read {}: ",
            missing.display()
        )),
        "{err}"
    );
}

#[test]
fn tls_on_needs_all_three_files_and_regular_files() {
    let cfg = parse_str("a", &format!("{ROLES}tls {{\n  rpc = true\n}}\n")).unwrap();
    let err = resolve(&cfg, false, None, ip()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tls.ca_file is required when tls.http or tls.rpc is true"
    );
    let dir = tempfile::tempdir().unwrap();
    let block = TlsBlock {
        rpc: Some(true),
        ca_file: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let err = block.resolve("global").unwrap_err();
    assert!(matches!(err, ConfigError::File { ref key, .. } if key == "tls.ca_file"));
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn unknown_and_mistyped_tls_keys_are_errors_with_positions() {
    let err = parse_str(
        "t.hcl",
        "tls {\n  rpc = true\n  tls_min_versoin = \"tls13\"\n}\n",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.hcl:3:3: unknown key \"tls_min_versoin\" in tls"
    );
    let err = parse_str("t.hcl", "tls {\n  http = \"yes\"\n}\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.hcl:2:10: invalid value for \"http\": expected true or false"
    );
    let err = parse_str("t.hcl", "tls {\n  ca_file = \"\"\n}\n").unwrap_err();
    assert!(err.to_string().contains("expected a file path"), "{err}");
    let err = parse_str("t.hcl", "tls \"x\" {\n}\n").unwrap_err();
    assert!(err.to_string().contains("takes no labels"), "{err}");
    let err = parse_str("t.hcl", "tls {\n  inner {\n  }\n}\n").unwrap_err();
    assert!(
        err.to_string().contains("unknown key \"inner\" in tls"),
        "{err}"
    );
}

#[test]
fn raft_multiplier_must_be_between_1_and_10() {
    for bad in [0, 11, 100] {
        let src = format!("server {{\n  raft_multiplier = {bad}\n}}\n");
        let err = parse_str("m.hcl", &src).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.hcl:2:21: invalid value for \"raft_multiplier\": must be between 1 and 10"
        );
    }
    let src = format!("{ROLES}server {{\n  raft_multiplier = 10\n}}\n");
    let plan = resolve(&parse_str("m", &src).unwrap(), false, None, ip()).unwrap();
    assert_eq!(plan.server.unwrap().raft_multiplier, 10);
}

#[test]
fn cluster_settings_reach_the_server_config() {
    let src = "data_dir = \"/d\"\nserver {\n  enabled = true\n  bootstrap_expect = 3\n  \
               raft_snapshot_threshold = 500\n  retry_join = [\"10.0.0.9:4647\"]\n  \
               server_join {\n    retry_join = [\"10.0.0.6:4647\", \"10.0.0.7:4647\"]\n  }\n}\n";
    let cfg = parse_str("s", src).unwrap();
    let server = resolve(&cfg, false, None, ip()).unwrap().server.unwrap();
    assert_eq!(server.bootstrap_expect, 3);
    assert_eq!(server.snapshot_threshold, 500);
    assert_eq!(
        server.retry_join,
        ["10.0.0.9:4647", "10.0.0.6:4647", "10.0.0.7:4647"]
    );
    let later = parse_str("t", "server {\n  snapshot_threshold = 64\n}\n").unwrap();
    let server = resolve(&cfg.merge(&later), false, None, ip())
        .unwrap()
        .server;
    assert_eq!(server.unwrap().snapshot_threshold, 64);
    let err = parse_str("t", "server {\n  snapshot_threshold = 0\n}\n").unwrap_err();
    assert!(err.to_string().contains("must be at least 1"), "{err}");
}

#[test]
fn warnings_follow_the_rpc_tls_setting() {
    let on = nomadish_proto::tls::TlsConfig {
        rpc: true,
        ..Default::default()
    };
    let http_only = nomadish_proto::tls::TlsConfig {
        http: true,
        ..Default::default()
    };
    assert!(tls_warnings(true, None, true, 4647).is_empty(), "dev");
    assert!(tls_warnings(false, Some(&on), true, 4647).is_empty());
    let server = tls_warnings(false, Some(&http_only), true, 5647);
    assert_eq!(
        server,
        [
            "TLS is not enabled on RPC; any host that can reach port 5647 can act as a client or server."
        ]
    );
    let client = tls_warnings(false, None, false, 4647);
    assert!(
        client[0].starts_with("TLS is not enabled on RPC; this client"),
        "{client:?}"
    );
}

#[test]
fn raft_trailing_logs_reaches_the_server_config() {
    let cfg = parse_str(
        "t",
        "server {\n  enabled = true\n  raft_trailing_logs = 16\n}\n",
    )
    .unwrap();
    assert_eq!(cfg.server.trailing_logs, Some(16));
}
