//! Certificates for tests, made with the real CLI (`nomadish tls ca create`, `tls cert
//! create`), and the TLS configuration blocks, HTTP clients and CLI settings that use them.

use std::path::{Path, PathBuf};
use std::process::Command;

use nomadish_proto::tls::{CliTlsConfig, RpcClientTls, TlsConfig, cli_client_config};

use crate::agent::nomadish_bin;

/// A CA and one certificate per role, in `dir`.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Where the files are.
    pub dir: PathBuf,
}

fn run(dir: &Path, args: &[&str]) {
    let out = Command::new(nomadish_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run nomadish tls");
    assert!(
        out.status.success(),
        "nomadish {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    /// Creates the CA and server, client and cli certificates for `global` under `dir/pki`.
    pub fn create(dir: &Path) -> Pki {
        let dir = dir.join("pki");
        std::fs::create_dir_all(&dir).expect("pki dir");
        run(&dir, &["tls", "ca", "create"]);
        // Servers behind the fault network listen on 127.0.1.K (tests/src/faults.rs).
        let mut server = vec!["tls", "cert", "create", "-server"];
        let ips: Vec<String> = (1..=9).map(|k| format!("127.0.1.{k}")).collect();
        for ip in &ips {
            server.extend(["-additional-ipaddress", ip.as_str()]);
        }
        run(&dir, &server);
        for role in ["-client", "-cli"] {
            run(&dir, &["tls", "cert", "create", role]);
        }
        Pki { dir }
    }

    /// A file of the PKI.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The CA certificate.
    pub fn ca(&self) -> PathBuf {
        self.file("nomadish-agent-ca.pem")
    }

    /// `(cert, key)` of `global-<role>-nomadish`.
    pub fn pair(&self, role: &str) -> (PathBuf, PathBuf) {
        (
            self.file(&format!("global-{role}-nomadish.pem")),
            self.file(&format!("global-{role}-nomadish-key.pem")),
        )
    }

    /// The agent's `tls` block for `role` ("server" or "client"): TLS on RPC and HTTP,
    /// hostname and HTTPS client verification on.
    pub fn agent_block(&self, role: &str) -> String {
        let (cert, key) = self.pair(role);
        format!(
            "tls {{\n  http = true\n  rpc = true\n  ca_file = \"{}\"\n  cert_file = \"{}\"\n  key_file = \"{}\"\n  verify_server_hostname = true\n  verify_https_client = true\n}}\n",
            self.ca().display(),
            cert.display(),
            key.display()
        )
    }

    /// TLS for gRPC calls to this PKI's servers with the `role` certificate (the node
    /// simulator presents "client"), verifying the servers' names as agents do.
    pub fn rpc_client_tls(&self, role: &str) -> RpcClientTls {
        crate::install_crypto();
        let (cert, key) = self.pair(role);
        let config = TlsConfig {
            http: true,
            rpc: true,
            ca_file: self.ca(),
            cert_file: cert,
            key_file: key,
            verify_server_hostname: true,
            verify_https_client: true,
            region: "global".to_string(),
        };
        config.rpc_client_tls().expect("RPC client TLS config")
    }

    /// CLI settings with the cli certificate.
    pub fn cli_tls(&self) -> CliTlsConfig {
        let (cert, key) = self.pair("cli");
        CliTlsConfig {
            ca_cert: Some(self.ca()),
            client_cert: Some(cert),
            client_key: Some(key),
            ..CliTlsConfig::default()
        }
    }

    /// An HTTPS client presenting `tls`'s certificate.
    pub fn http_client(tls: &CliTlsConfig) -> reqwest::Client {
        crate::install_crypto();
        let config = cli_client_config(tls).expect("client TLS config");
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .build()
            .expect("https client")
    }

    /// The `NOMAD_*` variables the CLI needs to talk to agents of this PKI.
    pub fn cli_env(&self) -> Vec<(&'static str, PathBuf)> {
        let (cert, key) = self.pair("cli");
        vec![
            ("NOMAD_CACERT", self.ca()),
            ("NOMAD_CLIENT_CERT", cert),
            ("NOMAD_CLIENT_KEY", key),
        ]
    }
}
