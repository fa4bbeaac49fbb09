//! `nomadish tls ...`: Nomad's `tls ca create|info` and `tls cert create|info`, with
//! Nomad's file names (`nomad` becomes `nomadish`):
//!
//! ```text
//! tls ca create                    -> nomadish-agent-ca.pem, nomadish-agent-ca-key.pem (0600)
//! tls cert create -server          -> global-server-nomadish.pem, global-server-nomadish-key.pem
//!                 -client | -cli      (signed by nomadish-agent-ca.pem / -key.pem unless -ca/-key)
//! tls ca info FILE, tls cert info FILE
//! ```
//!
//! Existing files are never overwritten. The commands write into the current directory;
//! the functions take the directory so tests can use a temporary one.

use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand};
use nomadish_proto::tls::{
    CA_DAYS, CERT_DAYS, CERT_DOMAIN, CertInfo, CertPair, Role, TlsError, certificate_info,
    generate_ca, generate_cert,
};

use super::format::{format_list_with_spaces, format_time};
use super::{EXIT_ERROR, EXIT_OK};

/// Mode of certificate files.
const CERT_MODE: u32 = 0o644;
/// Mode of private key files.
const KEY_MODE: u32 = 0o600;
/// Nomad's warning when a server certificate is made.
const SERVER_WARNING: &str = "==> WARNING: Server Certificates grants authority to become a
    server and access all state in the cluster including root keys
    and all ACL tokens. Do not distribute them to production hosts
    that are not server nodes. Store them as securely as CA keys.";

/// `tls` subcommands.
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Creates or shows the certificate authority.
    #[command(subcommand)]
    Ca(TlsCaCommand),
    /// Creates or shows certificates.
    #[command(subcommand)]
    Cert(TlsCertCommand),
}

/// `tls ca` subcommands.
#[derive(Debug, Subcommand)]
pub enum TlsCaCommand {
    /// Creates a certificate authority.
    Create(CaCreateArgs),
    /// Shows a CA certificate.
    Info(InfoArgs),
}

/// `tls cert` subcommands.
#[derive(Debug, Subcommand)]
pub enum TlsCertCommand {
    /// Creates a server, client or CLI certificate signed by the CA.
    Create(CertCreateArgs),
    /// Shows a certificate.
    Info(InfoArgs),
}

/// `tls ca create`.
#[derive(Debug, Clone, Args)]
pub struct CaCreateArgs {
    /// Days the CA is valid for.
    #[arg(long, default_value_t = CA_DAYS)]
    pub days: u32,
    /// Prefix of the file names (`<domain>-agent-ca.pem`). Certificate names always end in
    /// `.nomadish`.
    #[arg(long, default_value = CERT_DOMAIN)]
    pub domain: String,
    /// Common name of the CA (default: "Nomadish Agent CA <serial>").
    #[arg(long)]
    pub common_name: Option<String>,
}

/// `tls cert create`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("role").required(true).args(["server", "client", "cli"])))]
pub struct CertCreateArgs {
    /// Create a server certificate (server.<region>.nomadish).
    #[arg(long)]
    pub server: bool,
    /// Create a client certificate (client.<region>.nomadish).
    #[arg(long)]
    pub client: bool,
    /// Create a certificate for the CLI (cli.<region>.nomadish).
    #[arg(long)]
    pub cli: bool,
    /// The region the certificate is for.
    #[arg(long, env = "NOMAD_REGION", default_value = "global")]
    pub region: String,
    /// Days the certificate is valid for.
    #[arg(long, default_value_t = CERT_DAYS)]
    pub days: u32,
    /// The CA certificate (default: nomadish-agent-ca.pem).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The CA key (default: nomadish-agent-ca-key.pem).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// An additional DNS name for the SANs ("localhost" is always included); repeatable.
    #[arg(long, value_name = "NAME")]
    pub additional_dnsname: Vec<String>,
    /// An additional IP address for the SANs (server and client certificates always include
    /// 127.0.0.1); repeatable.
    #[arg(long, value_name = "IP")]
    pub additional_ipaddress: Vec<IpAddr>,
}

impl CertCreateArgs {
    /// The role the flags select.
    pub fn role(&self) -> Role {
        if self.server {
            Role::Server
        } else if self.client {
            Role::Client
        } else {
            Role::Cli
        }
    }
}

/// `tls ca info` and `tls cert info`.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    /// The certificate file (PEM).
    pub file: PathBuf,
}

/// Errors of the `tls` commands.
#[derive(Debug, thiserror::Error)]
pub enum TlsCmdError {
    /// A file to be written exists already.
    #[error("{what} file '{}' already exists", path.display())]
    Exists {
        /// "CA certificate", "Key", ...
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("Error reading {what} '{}': {source}", path.display())]
    Read {
        /// What it holds.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("Error writing '{}': {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Generating or reading a certificate failed.
    #[error("{0}")]
    Tls(#[from] TlsError),
}

/// Runs a `tls` command in the current directory; returns the exit code.
pub fn run(cmd: TlsCommand) -> i32 {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let dir = Path::new(".");
    let result = match &cmd {
        TlsCommand::Ca(TlsCaCommand::Create(args)) => ca_create(args, dir, &mut out),
        TlsCommand::Ca(TlsCaCommand::Info(args)) => info(args, true, &mut out),
        TlsCommand::Cert(TlsCertCommand::Create(args)) => {
            cert_create(args, dir, &mut out, &mut err)
        }
        TlsCommand::Cert(TlsCertCommand::Info(args)) => info(args, false, &mut out),
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("{e}");
            EXIT_ERROR
        }
    }
}

/// `tls ca create` into `dir`.
pub fn ca_create(args: &CaCreateArgs, dir: &Path, out: &mut dyn Write) -> Result<(), TlsCmdError> {
    let cert_name = format!("{}-agent-ca.pem", args.domain);
    let key_name = format!("{}-agent-ca-key.pem", args.domain);
    refuse_existing(
        dir,
        &[("CA certificate", &cert_name), ("CA key", &key_name)],
    )?;
    let ca = generate_ca(args.common_name.as_deref().unwrap_or(""), args.days)?;
    write_pair(dir, &ca, &cert_name, &key_name)?;
    let _ = writeln!(out, "==> CA certificate saved to: {cert_name}");
    let _ = writeln!(out, "==> CA certificate key saved to: {key_name}");
    Ok(())
}

/// `tls cert create` into `dir`; the CA files default to `dir/nomadish-agent-ca*.pem`.
pub fn cert_create(
    args: &CertCreateArgs,
    dir: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), TlsCmdError> {
    let role = args.role();
    let prefix = format!("{}-{role}-{CERT_DOMAIN}", args.region);
    let (cert_name, key_name) = (format!("{prefix}.pem"), format!("{prefix}-key.pem"));
    refuse_existing(dir, &[("Certificate", &cert_name), ("Key", &key_name)])?;
    let default = |suffix: &str| in_dir(dir, &format!("{CERT_DOMAIN}-agent-ca{suffix}.pem"));
    let ca_file = args.ca.clone().unwrap_or_else(|| default(""));
    let key_file = args.key.clone().unwrap_or_else(|| default("-key"));
    let ca = CertPair {
        cert_pem: read_text(&ca_file, "CA")?,
        key_pem: read_text(&key_file, "CA key")?,
    };
    if role == Role::Server {
        let _ = writeln!(err, "{SERVER_WARNING}");
    }
    let _ = writeln!(
        out,
        "==> Using CA file {} and CA key {}",
        ca_file.display(),
        key_file.display()
    );
    let pair = generate_cert(
        &ca,
        role,
        &args.region,
        args.days,
        &args.additional_dnsname,
        &args.additional_ipaddress,
    )?;
    write_pair(dir, &pair, &cert_name, &key_name)?;
    let title = match role {
        Role::Server => "Server",
        Role::Client => "Client",
        Role::Cli => "Cli",
    };
    let _ = writeln!(out, "==> {title} Certificate saved to {cert_name}");
    let _ = writeln!(out, "==> {title} Certificate key saved to {key_name}");
    Ok(())
}

/// `tls ca info` (`ca == true`) or `tls cert info`.
pub fn info(args: &InfoArgs, ca: bool, out: &mut dyn Write) -> Result<(), TlsCmdError> {
    let what = if ca { "CA file" } else { "certificate file" };
    let pem = std::fs::read(&args.file).map_err(|source| TlsCmdError::Read {
        what,
        path: args.file.clone(),
        source,
    })?;
    let cert = certificate_info(&pem, &args.file)?;
    let rows: Vec<Vec<String>> = info_rows(&cert, ca)
        .into_iter()
        .map(|(k, v)| vec![k.to_string(), v])
        .collect();
    let _ = writeln!(out, "{}", format_list_with_spaces(&rows));
    Ok(())
}

/// The rows `info` prints, in Nomad's order (plus `Not Before`), as two aligned columns
/// like Nomad's `columnize.SimpleFormat`.
pub fn info_rows(cert: &CertInfo, ca: bool) -> Vec<(&'static str, String)> {
    let list = |items: Vec<String>| format!("[{}]", items.join(" "));
    let mut rows = vec![
        ("Serial Number", cert.serial.clone()),
        ("Issuer CN", cert.issuer_common_name.clone()),
        ("Common Name", cert.subject.clone()),
        ("Not Before", format_time(cert.not_before)),
        ("Expiry Date", format_time(cert.not_after)),
    ];
    if ca {
        rows.push((
            "Permitted DNS Domains",
            list(cert.permitted_dns_domains.clone()),
        ));
    } else {
        rows.push(("DNS Names", list(cert.dns_names.clone())));
        let ips = cert.ip_addresses.iter().map(IpAddr::to_string).collect();
        rows.push(("IP Addresses", list(ips)));
    }
    rows
}

/// `name` in `dir`, without a `./` prefix for the current directory (it shows in messages).
fn in_dir(dir: &Path, name: &str) -> PathBuf {
    if dir == Path::new(".") {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

/// Fails when any of the files exists in `dir`.
fn refuse_existing(dir: &Path, files: &[(&'static str, &str)]) -> Result<(), TlsCmdError> {
    for (what, name) in files {
        let path = dir.join(name);
        if path.exists() {
            return Err(TlsCmdError::Exists {
                what,
                path: PathBuf::from(name),
            });
        }
    }
    Ok(())
}

/// Writes the certificate (0644) and then the key (0600), neither over an existing file;
/// when the key cannot be written, the certificate just written is removed again.
fn write_pair(dir: &Path, pair: &CertPair, cert: &str, key: &str) -> Result<(), TlsCmdError> {
    let cert_path = dir.join(cert);
    write_new(&cert_path, &pair.cert_pem, CERT_MODE)?;
    if let Err(e) = write_new(&dir.join(key), &pair.key_pem, KEY_MODE) {
        let _ = std::fs::remove_file(&cert_path);
        return Err(e);
    }
    Ok(())
}

/// Creates `path` with `mode` and writes `text`; fails if it exists.
fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), TlsCmdError> {
    let write_err = |source| TlsCmdError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(write_err)?;
    file.write_all(text.as_bytes()).map_err(write_err)?;
    file.sync_all().map_err(write_err)
}

/// Reads a PEM file as text.
fn read_text(path: &Path, what: &'static str) -> Result<String, TlsCmdError> {
    std::fs::read_to_string(path).map_err(|source| TlsCmdError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}
