//! The agent's `tls { ... }` block, Nomad's shape:
//!
//! ```hcl
//! tls {
//!   http = true                      # HTTPS on the HTTP API
//!   rpc  = true                      # TLS on the RPC port (node, raft, cluster services)
//!   ca_file   = "nomadish-agent-ca.pem"
//!   cert_file = "global-server-nomadish.pem"
//!   key_file  = "global-server-nomadish-key.pem"
//!   verify_server_hostname = true    # outgoing RPC checks for server.<region>.nomadish
//!   verify_https_client    = true    # HTTPS callers need a certificate from the CA
//! }
//! ```
//!
//! Relative paths are taken from the directory of the file that names them ([`TlsBlock::rebase`],
//! before files are merged); the merged block resolves into a [`TlsConfig`], or `None` when
//! neither `http` nor `rpc` is on. Every named file must be readable when TLS is on.

use std::path::{Path, PathBuf};

use nomadish_proto::tls::TlsConfig;

use super::{ConfigError, pick};

/// `tls { ... }` as one source wrote it; every field optional so later sources override.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsBlock {
    /// HTTPS on the HTTP API.
    pub http: Option<bool>,
    /// TLS on the RPC port.
    pub rpc: Option<bool>,
    /// The CA certificate (PEM).
    pub ca_file: Option<PathBuf>,
    /// This agent's certificate (PEM).
    pub cert_file: Option<PathBuf>,
    /// This agent's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// Outgoing RPC checks the server certificate's name.
    pub verify_server_hostname: Option<bool>,
    /// HTTPS callers must present a certificate from the CA.
    pub verify_https_client: Option<bool>,
}

impl TlsBlock {
    /// `self` overridden field by field by whatever `later` sets.
    pub fn merge(&self, later: &TlsBlock) -> TlsBlock {
        TlsBlock {
            http: pick(&self.http, &later.http),
            rpc: pick(&self.rpc, &later.rpc),
            ca_file: pick(&self.ca_file, &later.ca_file),
            cert_file: pick(&self.cert_file, &later.cert_file),
            key_file: pick(&self.key_file, &later.key_file),
            verify_server_hostname: pick(
                &self.verify_server_hostname,
                &later.verify_server_hostname,
            ),
            verify_https_client: pick(&self.verify_https_client, &later.verify_https_client),
        }
    }

    /// Makes relative file paths relative to `dir`, the directory of the file naming them.
    pub fn rebase(&mut self, dir: &Path) {
        for path in [&mut self.ca_file, &mut self.cert_file, &mut self.key_file]
            .into_iter()
            .flatten()
        {
            if path.is_relative() {
                let joined = dir.join(&*path);
                *path = std::path::absolute(&joined).unwrap_or(joined);
            }
        }
    }

    /// Whether TLS is on for HTTP or RPC.
    pub fn enabled(&self) -> bool {
        self.http.unwrap_or(false) || self.rpc.unwrap_or(false)
    }

    /// The settings servers and clients take, `None` when TLS is off; with TLS on, the three
    /// files are required and must be readable.
    pub fn resolve(&self, region: &str) -> Result<Option<TlsConfig>, ConfigError> {
        if !self.enabled() {
            return Ok(None);
        }
        Ok(Some(TlsConfig {
            http: self.http.unwrap_or(false),
            rpc: self.rpc.unwrap_or(false),
            ca_file: required_file("tls.ca_file", &self.ca_file)?,
            cert_file: required_file("tls.cert_file", &self.cert_file)?,
            key_file: required_file("tls.key_file", &self.key_file)?,
            verify_server_hostname: self.verify_server_hostname.unwrap_or(false),
            verify_https_client: self.verify_https_client.unwrap_or(false),
            region: region.to_string(),
        }))
    }
}

/// The path under `key`, which must be set and name a readable regular file.
fn required_file(key: &str, path: &Option<PathBuf>) -> Result<PathBuf, ConfigError> {
    let Some(path) = path.clone().filter(|p| !p.as_os_str().is_empty()) else {
        return Err(ConfigError::Invalid(format!(
            "{key} is required when tls.http or tls.rpc is true"
        )));
    };
    let file_err = |source| ConfigError::File {
        key: key.to_string(),
        path: path.clone(),
        source,
    };
    let file = std::fs::File::open(&path).map_err(file_err)?;
    let meta = file.metadata().map_err(file_err)?;
    if !meta.is_file() {
        return Err(file_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    Ok(path)
}
