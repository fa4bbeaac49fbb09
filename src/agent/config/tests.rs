//! Agent configuration: parsing good and bad files, merging, resolving.

use std::net::IpAddr;
use std::time::Duration;

use super::parse::parse_go_duration;
use super::*;

const FULL: &str = r#"
# A full Nomad-style agent configuration.
name       = "node-a"
region     = "europe"
datacenter = "par1"
data_dir   = "/var/lib/nomadish"
bind_addr  = "10.0.0.5"
log_level  = "debug"
log_json   = true

ports {
  http = 5646
  rpc  = 5647
  serf = 5648
}

advertise {
  http = "203.0.113.5"
  rpc  = "203.0.113.5:6647"
}

server {
  enabled                   = true
  bootstrap_expect          = 3
  raft_multiplier           = 2
  num_schedulers            = 4
  heartbeat_grace           = "15s"
  min_heartbeat_ttl         = "5s"
  max_heartbeats_per_second = 25.5
  failover_heartbeat_ttl    = "1m30s"
  server_join {
    retry_join = ["10.0.0.6:5647", "10.0.0.7:5647"]
  }
}

client {
  enabled          = true
  servers          = ["10.0.0.6:5647"]
  node_class       = "compute"
  node_pool        = "batch"
  max_kill_timeout = "45s"
  meta {
    rack = "r1"
    gpu  = 2
  }
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}
"#;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn full_file_parses() {
    let cfg = parse_str("agent.hcl", FULL).unwrap();
    assert_eq!(cfg.name.as_deref(), Some("node-a"));
    assert_eq!(cfg.region.as_deref(), Some("europe"));
    assert_eq!(cfg.data_dir, Some(PathBuf::from("/var/lib/nomadish")));
    assert_eq!(cfg.log_json, Some(true));
    assert_eq!(cfg.ports.http, Some(5646));
    assert_eq!(cfg.advertise.rpc.as_deref(), Some("203.0.113.5:6647"));
    assert_eq!(cfg.server.bootstrap_expect, Some(3));
    assert_eq!(cfg.server.heartbeat_grace, Some(Duration::from_secs(15)));
    assert_eq!(
        cfg.server.failover_heartbeat_ttl,
        Some(Duration::from_secs(90))
    );
    assert_eq!(cfg.server.max_heartbeats_per_second, Some(25.5));
    assert_eq!(cfg.server.retry_join, ["10.0.0.6:5647", "10.0.0.7:5647"]);
    assert_eq!(cfg.client.meta.get("gpu").map(String::as_str), Some("2"));
    assert_eq!(cfg.client.max_kill_timeout, Some(Duration::from_secs(45)));
    assert_eq!(cfg.raw_exec_enabled, Some(true));
}

#[test]
fn full_file_resolves_to_server_and_client_configs() {
    let cfg = parse_str("agent.hcl", FULL).unwrap();
    let plan = resolve(&cfg, false, None, ip("192.168.1.1")).unwrap();
    let server = plan.server.expect("server enabled");
    assert_eq!(server.node_name, "node-a");
    assert_eq!(server.region, "europe");
    assert_eq!(server.http_bind.to_string(), "10.0.0.5:5646");
    assert_eq!(server.rpc_bind.to_string(), "10.0.0.5:5647");
    assert_eq!(server.advertise_http.as_deref(), Some("203.0.113.5:5646"));
    assert_eq!(server.advertise_rpc.as_deref(), Some("203.0.113.5:6647"));
    assert_eq!(server.bootstrap_expect, 3);
    assert_eq!(server.raft_multiplier, 2);
    assert_eq!(server.num_schedulers, 4);
    assert_eq!(server.heartbeat.min_ttl, Duration::from_secs(5));
    assert_eq!(server.heartbeat.max_per_second, 25.5);
    assert!(!server.dev_mode);
    let client = plan.client.expect("client enabled");
    assert_eq!(client.servers, ["10.0.0.6:5647"]);
    assert_eq!(client.node_name, "node-a");
    assert_eq!(client.datacenter, "par1");
    assert_eq!(client.node_class, "compute");
    assert_eq!(client.node_pool, "batch");
    assert!(client.raw_exec_enabled);
    assert_eq!(client.http_addr, "203.0.113.5:5646");
    assert_eq!(
        plan.log,
        LogSettings {
            level: "DEBUG".into(),
            json: true
        }
    );
    assert_eq!(plan.http_url, "http://10.0.0.5:5646");
}

#[test]
fn unknown_top_level_key_names_key_file_and_position() {
    let src = "data_dir = \"/tmp\"\n\nbogus_key = 1\n";
    let err = parse_str("/etc/nomadish/agent.hcl", src).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/nomadish/agent.hcl:3:1: unknown key \"bogus_key\" in the top level"
    );
}

#[test]
fn unknown_nested_key_points_at_it() {
    let src = "server {\n  enabled = true\n  bootstrap_expet = 3\n}\n";
    let err = parse_str("a.hcl", src).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a.hcl:3:3: unknown key \"bootstrap_expet\" in server"
    );
    let src = "client {\n  meta {\n    ok = \"1\"\n  }\n  reserved {\n  }\n}\n";
    let err = parse_str("b.hcl", src).unwrap_err();
    assert_eq!(
        err.to_string(),
        "b.hcl:5:3: unknown key \"reserved\" in client"
    );
}

#[test]
fn unknown_block_and_plugin_are_errors() {
    let err = parse_str("c.hcl", "consul {\n  address = \"x\"\n}\n").unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "consul"));
    let err = parse_str("c.hcl", "plugin \"rkt\" {\n}\n").unwrap_err();
    assert!(
        err.to_string().contains("unsupported plugin \"rkt\""),
        "{err}"
    );
    let err = parse_str(
        "c.hcl",
        "plugin \"raw_exec\" {\n  config {\n    no_cgroups = true\n  }\n}\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"no_cgroups\""), "{err}");
}

#[test]
fn wrong_types_are_reported_with_position() {
    let err = parse_str("d.hcl", "ports {\n  http = \"4646\"\n}\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "d.hcl:2:10: invalid value for \"http\": expected a whole number"
    );
    let err = parse_str("d.hcl", "server {\n  heartbeat_grace = \"ten\"\n}\n").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("d.hcl:2:21: invalid value for \"heartbeat_grace\""),
        "{err}"
    );
    let err = parse_str("d.hcl", "ports {\n  rpc = 70000\n}\n").unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
    let err = parse_str("d.hcl", "client {\n  servers = \"a:1\"\n}\n").unwrap_err();
    assert!(
        err.to_string().contains("expected a list of strings"),
        "{err}"
    );
}

#[test]
fn syntax_errors_have_positions() {
    let err = parse_str("e.hcl", "server {\n  enabled = \n").unwrap_err();
    let ConfigError::Syntax { at, .. } = &err else {
        panic!("expected a syntax error, got {err}");
    };
    assert_eq!(at.file, "e.hcl");
    assert!(at.line >= 2, "{err}");
}

#[test]
fn files_merge_in_order_and_directories_expand() {
    let dir = tempfile::tempdir().unwrap();
    let conf_d = dir.path().join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    std::fs::write(
        conf_d.join("10-base.hcl"),
        "region = \"a\"\nclient {\n  meta {\n    x = \"1\"\n  }\n  servers = [\"s1:4647\"]\n}\n",
    )
    .unwrap();
    std::fs::write(
        conf_d.join("20-over.hcl"),
        "region = \"b\"\nclient {\n  meta {\n    y = \"2\"\n  }\n  servers = [\"s2:4647\"]\n}\n",
    )
    .unwrap();
    std::fs::write(conf_d.join("ignored.txt"), "not hcl at all {{{").unwrap();
    let last = dir.path().join("last.hcl");
    std::fs::write(&last, "datacenter = \"dc9\"\n").unwrap();
    let cfg = load_files(&[conf_d, last]).unwrap();
    assert_eq!(cfg.region.as_deref(), Some("b"));
    assert_eq!(cfg.datacenter.as_deref(), Some("dc9"));
    assert_eq!(cfg.client.meta.len(), 2);
    assert_eq!(cfg.client.servers, ["s1:4647", "s2:4647"]);
}

#[test]
fn missing_file_is_a_read_error() {
    let err = load_files(&[PathBuf::from("/nonexistent/agent.hcl")]).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/agent.hcl"));
}

#[test]
fn errors_in_a_later_file_name_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.hcl");
    let bad = dir.path().join("bad.hcl");
    std::fs::write(&good, "region = \"a\"\n").unwrap();
    std::fs::write(&bad, "\n\n  typo = true\n").unwrap();
    let err = load_files(&[good, bad.clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:3: unknown key \"typo\" in the top level",
            bad.display()
        )
    );
}

#[test]
fn later_sources_override_earlier_ones() {
    let a = parse_str("a", "log_level = \"warn\"\nserver {\n  enabled = true\n}\n").unwrap();
    let b = parse_str("b", "server {\n  bootstrap_expect = 3\n}\n").unwrap();
    let merged = a.merge(&b);
    assert_eq!(merged.log_level.as_deref(), Some("warn"));
    assert_eq!(merged.server.enabled, Some(true));
    assert_eq!(merged.server.bootstrap_expect, Some(3));
    let c = parse_str("c", "server {\n  enabled = false\n}\n").unwrap();
    assert_eq!(merged.merge(&c).server.enabled, Some(false));
}

#[test]
fn resolve_requires_a_role_and_a_data_dir() {
    let none = AgentConfig::default();
    let err = resolve(&none, false, None, ip("127.0.0.1")).unwrap_err();
    assert!(
        err.to_string()
            .contains("Must specify either server, client or dev mode")
    );
    let server_only = parse_str("s", "server {\n  enabled = true\n}\n").unwrap();
    let err = resolve(&server_only, false, None, ip("127.0.0.1")).unwrap_err();
    assert_eq!(err.to_string(), "Must specify data directory");
}

#[test]
fn client_without_servers_is_refused() {
    let cfg = parse_str("c", "data_dir = \"/d\"\nclient {\n  enabled = true\n}\n").unwrap();
    let err = resolve(&cfg, false, None, ip("127.0.0.1")).unwrap_err();
    assert!(err.to_string().contains("-servers"), "{err}");
}

#[test]
fn unspecified_bind_advertises_the_default_ip() {
    let cfg = parse_str(
        "c",
        "data_dir = \"/d\"\nserver {\n  enabled = true\n}\nclient {\n  enabled = true\n}\n",
    )
    .unwrap();
    let plan = resolve(&cfg, false, None, ip("192.168.7.7")).unwrap();
    let server = plan.server.unwrap();
    assert_eq!(server.http_bind.to_string(), "0.0.0.0:4646");
    assert_eq!(server.rpc_advertise(), "192.168.7.7:4647");
    assert_eq!(plan.client.unwrap().servers, ["192.168.7.7:4647"]);
    assert_eq!(plan.http_url, "http://127.0.0.1:4646");
    assert_eq!(
        plan.banner.bind_addrs,
        "HTTP: 0.0.0.0:4646; RPC: 0.0.0.0:4647"
    );
}

#[test]
fn bad_values_are_refused_at_resolve() {
    let base = "data_dir = \"/d\"\nserver {\n  enabled = true\n";
    let cfg = parse_str("x", &format!("{base}  bootstrap_expect = 0\n}}\n")).unwrap();
    let err = resolve(&cfg, false, None, ip("127.0.0.1")).unwrap_err();
    assert!(err.to_string().contains("bootstrap_expect"), "{err}");
    // Files cannot say 11 (see tls_tests.rs); a configuration built in code is checked too.
    let mut cfg = parse_str("x", &format!("{base}}}\n")).unwrap();
    cfg.server.raft_multiplier = Some(11);
    let err = resolve(&cfg, false, None, ip("127.0.0.1")).unwrap_err();
    assert!(err.to_string().contains("raft_multiplier"), "{err}");
    let cfg = parse_str("x", &format!("{base}}}\nbind_addr = \"localhost\"\n")).unwrap();
    assert!(resolve(&cfg, false, None, ip("127.0.0.1")).is_err());
    let cfg = parse_str("x", &format!("{base}}}\nlog_level = \"loud\"\n")).unwrap();
    assert!(resolve(&cfg, false, None, ip("127.0.0.1")).is_err());
}

#[test]
fn go_durations() {
    assert_eq!(parse_go_duration("10s"), Some(Duration::from_secs(10)));
    assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_go_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
    assert_eq!(parse_go_duration("10"), None);
    assert_eq!(parse_go_duration("1 m"), None);
    assert_eq!(parse_go_duration("-1s"), None);
    assert_eq!(parse_go_duration(""), None);
}

#[test]
fn location_display() {
    let at = Location {
        file: "f.hcl".into(),
        line: 2,
        column: 7,
    };
    assert_eq!(at.to_string(), "f.hcl:2:7");
}

#[test]
fn driver_plugin_config_bodies_become_json() {
    let cfg = parse_str(
        "c.hcl",
        "plugin \"docker\" {\n  config {\n    allow_privileged = false\n    volumes {\n      enabled = true\n    }\n  }\n}\n",
    )
    .unwrap();
    assert_eq!(
        cfg.plugins["docker"],
        serde_json::json!({"allow_privileged": false, "volumes": {"enabled": true}})
    );
}

#[test]
fn ssh_plugin_config_is_checked_when_read() {
    let cfg = parse_str(
        "c.hcl",
        "plugin \"ssh\" {\n  config {\n    private_key_file = \"/k\"\n    connect_timeout = \"3s\"\n    circuit_breaker_failures = 2\n  }\n}\n",
    )
    .unwrap();
    assert_eq!(cfg.plugins["ssh"]["circuit_breaker_failures"], 2);
    for (body, option) in [
        (
            "private_key_file = \"/k\"\n    known_host_file = \"/x\"",
            "known_host_file",
        ),
        ("connect_timeout = \"3s\"", "private_key_file"),
        (
            "private_key_file = \"/k\"\n    connect_timeout = \"soon\"",
            "connect_timeout",
        ),
    ] {
        let text = format!("plugin \"ssh\" {{\n  config {{\n    {body}\n  }}\n}}\n");
        let err = parse_str("c.hcl", &text).unwrap_err().to_string();
        assert!(err.contains(option) && err.contains("c.hcl"), "{err}");
    }
}

#[test]
fn docker_plugin_config_errors_name_the_option() {
    let err = parse_str(
        "c.hcl",
        "plugin \"docker\" {\n  config {\n    allow_privilegd = true\n  }\n}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("allow_privilegd") && err.contains("c.hcl:2"),
        "{err}"
    );
    let err = parse_str(
        "c.hcl",
        "plugin \"docker\" {\n  config {\n    gc {\n      image_delay = \"soon\"\n    }\n  }\n}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("soon"), "{err}");
}

#[test]
fn host_volumes_are_parsed_and_their_paths_checked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let text = |path: &std::path::Path| {
        format!(
            "data_dir = \"/d\"\nclient {{\n  enabled = true\n  servers = [\"127.0.0.1:4647\"]\n  host_volume \"data\" {{\n    path      = \"{}\"\n    read_only = true\n  }}\n}}\n",
            path.display()
        )
    };
    let cfg = parse_str("c", &text(&data)).unwrap();
    let plan = resolve(&cfg, false, None, ip("127.0.0.1")).unwrap();
    let volumes = plan.client.unwrap().host_volumes;
    let v = &volumes["data"];
    assert_eq!((v.name.as_str(), v.read_only), ("data", true));
    assert_eq!(v.path, data.display().to_string());
    let cfg = parse_str("c", &text(&file)).unwrap();
    let err = resolve(&cfg, false, None, ip("127.0.0.1")).unwrap_err();
    assert!(err.to_string().contains("is not a directory"), "{err}");
    let cfg = parse_str("c", &text(&dir.path().join("missing"))).unwrap();
    let err = resolve(&cfg, false, None, ip("127.0.0.1")).unwrap_err();
    assert!(
        err.to_string().contains("client.host_volume \"data\""),
        "{err}"
    );
    let err = parse_str("c", &text(std::path::Path::new("rel/dir"))).unwrap_err();
    assert!(err.to_string().contains("absolute"), "{err}");
}
