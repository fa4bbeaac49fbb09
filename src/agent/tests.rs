//! Agent flag handling: dev defaults, flags over files, the resolved plan.

use super::*;

fn args(argv: &[&str]) -> AgentArgs {
    use crate::cli::args::{Cli, Command};
    use clap::Parser;
    let mut full = vec!["nomadish", "agent"];
    full.extend_from_slice(argv);
    let cli = Cli::try_parse_from(crate::cli::argv::translate_args(full)).unwrap();
    match cli.command {
        Command::Agent(a) => a,
        other => panic!("not agent: {other:?}"),
    }
}

#[test]
fn dev_runs_server_and_client_on_loopback_in_a_temp_dir() {
    let (plan, temp) = plan(&args(&["-dev"])).unwrap();
    let temp = temp.expect("dev without -data-dir makes a temp dir");
    let server = plan.server.expect("server");
    assert!(server.dev_mode);
    assert_eq!(server.bootstrap_expect, 1);
    assert_eq!(server.http_bind.to_string(), "127.0.0.1:4646");
    assert_eq!(server.rpc_bind.to_string(), "127.0.0.1:4647");
    assert_eq!(server.data_dir, temp.path());
    let client = plan.client.expect("client");
    assert!(client.raw_exec_enabled);
    assert_eq!(client.servers, ["127.0.0.1:4647"]);
    assert_eq!(client.data_dir, temp.path());
    assert_eq!(plan.http_url, "http://127.0.0.1:4646");
    assert_eq!(plan.log.level, "INFO");
    let path = temp.path().to_path_buf();
    drop(temp);
    assert!(!path.exists(), "the temp dir is removed when dropped");
}

#[test]
fn dev_with_data_dir_and_bind() {
    let (plan, temp) = plan(&args(&[
        "-dev",
        "-data-dir",
        "/tmp/nd",
        "-bind",
        "127.0.0.2",
    ]))
    .unwrap();
    assert!(temp.is_none());
    let server = plan.server.unwrap();
    assert_eq!(server.data_dir, std::path::PathBuf::from("/tmp/nd"));
    assert_eq!(server.http_bind.to_string(), "127.0.0.2:4646");
    assert_eq!(plan.client.unwrap().servers, ["127.0.0.2:4647"]);
}

#[test]
fn flags_override_config_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent.hcl");
    std::fs::write(
        &file,
        "datacenter = \"file-dc\"\nregion = \"file-region\"\ndata_dir = \"/file\"\nclient {\n  enabled = true\n  node_class = \"file\"\n  servers = [\"10.0.0.1:4647\"]\n  meta {\n    a = \"file\"\n    b = \"file\"\n  }\n}\n",
    )
    .unwrap();
    let a = args(&[
        "-config",
        file.to_str().unwrap(),
        "-dc",
        "flag-dc",
        "-node-class",
        "flag",
        "-meta",
        "b=flag",
        "-meta",
        "c=3",
        "-servers",
        "10.0.0.2:4647,10.0.0.3:4647",
        "-node",
        "worker-1",
        "-log-level",
        "warn",
        "-log-json",
    ]);
    let (plan, _) = plan(&a).unwrap();
    assert!(plan.server.is_none());
    let client = plan.client.unwrap();
    assert_eq!(client.datacenter, "flag-dc");
    assert_eq!(client.region, "file-region");
    assert_eq!(client.node_class, "flag");
    assert_eq!(client.node_name, "worker-1");
    assert_eq!(client.meta.get("a").map(String::as_str), Some("file"));
    assert_eq!(client.meta.get("b").map(String::as_str), Some("flag"));
    assert_eq!(client.meta.get("c").map(String::as_str), Some("3"));
    assert_eq!(
        client.servers,
        ["10.0.0.1:4647", "10.0.0.2:4647", "10.0.0.3:4647"]
    );
    assert_eq!(plan.log.level, "WARN");
    assert!(plan.log.json);
}

#[test]
fn server_flag_needs_a_data_dir() {
    let err = plan(&args(&["-server"])).unwrap_err();
    assert_eq!(err.to_string(), "Must specify data directory");
    let (plan, _) = plan(&args(&[
        "-server",
        "-data-dir",
        "/srv",
        "-bootstrap-expect",
        "3",
    ]))
    .unwrap();
    assert_eq!(plan.server.unwrap().bootstrap_expect, 3);
    assert!(plan.client.is_none());
}

#[test]
fn no_mode_is_an_error() {
    let err = plan(&args(&["-data-dir", "/x"])).unwrap_err();
    assert!(
        err.to_string()
            .contains("Must specify either server, client or dev mode")
    );
}

#[test]
fn bad_meta_flag_is_an_error() {
    let err = plan(&args(&["-dev", "-meta", "novalue"])).unwrap_err();
    assert!(err.to_string().contains("key=value"), "{err}");
}

#[test]
fn config_file_errors_stop_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.hcl");
    std::fs::write(&file, "server {\n  enabeld = true\n}\n").unwrap();
    let err = plan(&args(&["-dev", "-config", file.to_str().unwrap()])).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:2:3: unknown key \"enabeld\" in server", file.display())
    );
}

#[tokio::test]
async fn run_without_a_local_server_is_refused() {
    let code = run(args(&[
        "-client",
        "-servers",
        "10.0.0.1:4647",
        "-data-dir",
        "/tmp/x",
        "-run",
        "job.hcl",
    ]))
    .await;
    assert_eq!(code, 1);
}

#[tokio::test]
async fn invalid_run_file_stops_before_starting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.json");
    std::fs::write(&file, "{\"ID\": 5}").unwrap();
    let code = run(args(&["-dev", "-run", file.to_str().unwrap(), "-run-json"])).await;
    assert_eq!(code, 1);
    let missing = dir.path().join("missing.json");
    let code = run(args(&[
        "-dev",
        "-run",
        missing.to_str().unwrap(),
        "-run-json",
    ]))
    .await;
    assert_eq!(code, 1);
}

#[test]
fn dev_agent_runs_without_tls_and_without_a_warning() {
    let (plan, _temp) = plan(&args(&["-dev"])).unwrap();
    assert_eq!(plan.server.unwrap().tls, None);
    assert_eq!(plan.client.unwrap().tls, None);
    assert!(plan.banner.warnings.is_empty());
    assert!(!banner::format_banner(&plan.banner).contains("WARNING"));
}

#[test]
fn non_dev_agents_without_rpc_tls_get_a_loud_warning() {
    let (server, _) = plan(&args(&["-server", "-data-dir", "/srv"])).unwrap();
    let text = banner::format_banner(&server.banner);
    assert!(
        text.contains(
            "\n==> WARNING: TLS is not enabled on RPC; any host that can reach port 4647 can act as a client or server.\n"
        ),
        "{text}"
    );
    let (client, _) = plan(&args(&[
        "-client",
        "-servers",
        "10.0.0.1:4647",
        "-data-dir",
        "/c",
    ]))
    .unwrap();
    assert_eq!(client.banner.warnings.len(), 1);
    assert!(client.banner.warnings[0].contains("this client"));
}

#[test]
fn a_non_dev_agent_with_rpc_tls_has_no_warning() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["ca.pem", "cert.pem", "key.pem"] {
        std::fs::write(dir.path().join(name), "pem").unwrap();
    }
    let file = dir.path().join("tls.hcl");
    std::fs::write(
        &file,
        "tls {\n  rpc = true\n  ca_file = \"ca.pem\"\n  cert_file = \"cert.pem\"\n  key_file = \"key.pem\"\n}\n",
    )
    .unwrap();
    let (plan, _) = plan(&args(&[
        "-server",
        "-data-dir",
        "/srv",
        "-region",
        "eu",
        "-config",
        file.to_str().unwrap(),
    ]))
    .unwrap();
    assert!(plan.banner.warnings.is_empty());
    let tls = plan.server.unwrap().tls.expect("tls");
    assert_eq!(tls.region, "eu");
    assert_eq!(tls.key_file, dir.path().join("key.pem"));
}

#[test]
fn cluster_flags_bootstrap_expect_and_retry_join() {
    let (plan, _) = plan(&args(&[
        "-server",
        "-data-dir",
        "/srv",
        "-bootstrap-expect",
        "3",
        "-retry-join",
        "10.0.0.2:4647",
        "-retry-join",
        "10.0.0.3:4647",
    ]))
    .unwrap();
    let server = plan.server.unwrap();
    assert_eq!(server.bootstrap_expect, 3);
    assert_eq!(server.retry_join, ["10.0.0.2:4647", "10.0.0.3:4647"]);
}
