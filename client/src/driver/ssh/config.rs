//! The SSH driver's two configurations: the client's `plugin "ssh" { config { ... } }` and
//! a task's `config { host port user command args host_key pty }`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::DriverError;

/// The driver's name in jobspecs and node attributes.
pub const SSH: &str = "ssh";

/// The client's `plugin "ssh" { config { ... } }` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPluginConfig {
    /// The private key the client authenticates with (OpenSSH format, unencrypted).
    pub private_key_file: PathBuf,
    /// OpenSSH `known_hosts` file the server keys are checked against.
    pub known_hosts_file: Option<PathBuf>,
    /// Limit on TCP connect, key exchange and authentication together (default 10s).
    pub connect_timeout: Duration,
    /// Trust and record keys of hosts not yet known (trust on first use).
    pub insecure_accept_new_host_keys: bool,
    /// Consecutive connection failures that open a host's circuit (default 5).
    pub circuit_breaker_failures: u32,
    /// How long an open circuit refuses new tasks before one probe (default 30s).
    pub circuit_breaker_cooldown: Duration,
    /// Idle time after which a keepalive is sent on a pooled connection (default 15s).
    pub keepalive_interval: Duration,
    /// Unanswered keepalives after which the connection counts as lost (default 3).
    pub keepalive_max: usize,
}

/// The raw body as written, before defaults and duration parsing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPluginConfig {
    private_key_file: Option<String>,
    known_hosts_file: Option<String>,
    connect_timeout: Option<serde_json::Value>,
    #[serde(default)]
    insecure_accept_new_host_keys: bool,
    circuit_breaker_failures: Option<u32>,
    circuit_breaker_cooldown: Option<serde_json::Value>,
    keepalive_interval: Option<serde_json::Value>,
    keepalive_max: Option<usize>,
}

impl SshPluginConfig {
    /// Parses and checks the plugin's config body; errors name the option at fault.
    pub fn parse(config: &serde_json::Value) -> Result<Self, String> {
        let raw: RawPluginConfig =
            serde_json::from_value(config.clone()).map_err(|e| e.to_string())?;
        let private_key_file = match raw.private_key_file {
            Some(p) if !p.trim().is_empty() => PathBuf::from(p),
            _ => return Err("\"private_key_file\" is required".into()),
        };
        let failures = raw.circuit_breaker_failures.unwrap_or(5);
        if failures == 0 {
            return Err("\"circuit_breaker_failures\" must be at least 1".into());
        }
        let keepalive_max = raw.keepalive_max.unwrap_or(3);
        if keepalive_max == 0 {
            return Err("\"keepalive_max\" must be at least 1".into());
        }
        let connect_timeout = duration("connect_timeout", raw.connect_timeout, 10)?;
        if connect_timeout.is_zero() {
            return Err("\"connect_timeout\" must be positive".into());
        }
        let keepalive_interval = duration("keepalive_interval", raw.keepalive_interval, 15)?;
        if keepalive_interval.is_zero() {
            return Err("\"keepalive_interval\" must be positive".into());
        }
        Ok(Self {
            private_key_file,
            known_hosts_file: raw
                .known_hosts_file
                .filter(|p| !p.trim().is_empty())
                .map(PathBuf::from),
            connect_timeout,
            insecure_accept_new_host_keys: raw.insecure_accept_new_host_keys,
            circuit_breaker_failures: failures,
            circuit_breaker_cooldown: duration(
                "circuit_breaker_cooldown",
                raw.circuit_breaker_cooldown,
                30,
            )?,
            keepalive_interval,
            keepalive_max,
        })
    }
}

/// A duration option: a Go duration string (`"10s"`, `"1m30s"`, `"250ms"`) or seconds.
fn duration(
    name: &str,
    value: Option<serde_json::Value>,
    default_secs: u64,
) -> Result<Duration, String> {
    let bad = || format!("{name:?} must be a duration such as \"10s\"");
    match value {
        None | Some(serde_json::Value::Null) => Ok(Duration::from_secs(default_secs)),
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(bad),
        Some(serde_json::Value::String(s)) => parse_go_duration(&s).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// Parses Go's duration syntax (`10s`, `1m30s`, `250ms`, `0`), which has no spaces between
/// units; humantime does the unit arithmetic.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    if text.is_empty() || text.contains(char::is_whitespace) || text.starts_with('-') {
        return None;
    }
    humantime::parse_duration(text).ok()
}

/// How the task pins the server's host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPin {
    /// `SHA256:<base64>` as `ssh-keygen -lf` prints it.
    Fingerprint(String),
    /// An OpenSSH public key line (`ssh-ed25519 AAAA... [comment]`).
    PublicKey(Box<russh::keys::PublicKey>),
}

/// A task's `config` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTaskConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub command: String,
    pub args: Vec<String>,
    pub host_key: Option<HostKeyPin>,
    pub pty: bool,
}

impl SshTaskConfig {
    /// Reads the task's config; errors name the field at fault.
    pub fn parse(config: &BTreeMap<String, serde_json::Value>) -> Result<Self, DriverError> {
        let invalid = |reason: String| DriverError::InvalidConfig {
            driver: SSH,
            reason,
        };
        const KNOWN: [&str; 7] = ["host", "port", "user", "command", "args", "host_key", "pty"];
        if let Some(unknown) = config.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(invalid(format!("unknown field {unknown:?}")));
        }
        let string = |name: &str, required: bool| -> Result<Option<String>, DriverError> {
            match config.get(name) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                None | Some(serde_json::Value::Null) if !required => Ok(None),
                _ => Err(invalid(format!("{name:?} must be a non-empty string"))),
            }
        };
        let host = string("host", true)?.unwrap_or_default();
        let user = string("user", true)?.unwrap_or_default();
        let command = string("command", true)?.unwrap_or_default();
        let port = parse_port(config.get("port")).map_err(invalid)?;
        let args = parse_args(config.get("args")).map_err(invalid)?;
        let pty = match config.get("pty") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("\"pty\" must be true or false".into())),
        };
        let host_key = string("host_key", false)?
            .map(|k| parse_pin(&k).map_err(|e| invalid(format!("\"host_key\": {e}"))))
            .transpose()?;
        Ok(Self {
            host,
            port,
            user,
            command,
            args,
            host_key,
            pty,
        })
    }
}

/// `port`: 1 to 65535 (a number or a numeric string), 22 when absent.
fn parse_port(value: Option<&serde_json::Value>) -> Result<u16, String> {
    let port = match value {
        None | Some(serde_json::Value::Null) => return Ok(22),
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Some(serde_json::Value::String(s)) => s.parse::<u16>().ok(),
        Some(_) => None,
    };
    port.filter(|p| *p > 0)
        .ok_or_else(|| "\"port\" must be between 1 and 65535".into())
}

/// `args`: a list of strings (numbers and booleans are written out), empty when absent.
fn parse_args(value: Option<&serde_json::Value>) -> Result<Vec<String>, String> {
    let bad = || "\"args\" must be a list of strings".to_string();
    match value {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s.clone()),
                serde_json::Value::Number(n) => Ok(n.to_string()),
                serde_json::Value::Bool(b) => Ok(b.to_string()),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// Parses a `host_key`: a `SHA256:` fingerprint or an OpenSSH public key line.
pub fn parse_pin(text: &str) -> Result<HostKeyPin, String> {
    let text = text.trim();
    if let Some(b64) = text.strip_prefix("SHA256:") {
        let b64 = b64.trim_end_matches('=');
        if b64.is_empty()
            || !b64
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
        {
            return Err("not a valid SHA256 fingerprint".into());
        }
        return Ok(HostKeyPin::Fingerprint(format!("SHA256:{b64}")));
    }
    russh::keys::PublicKey::from_openssh(text)
        .map(|k| HostKeyPin::PublicKey(Box::new(k)))
        .map_err(|e| {
            format!("expected an OpenSSH public key line or a SHA256:... fingerprint ({e})")
        })
}
