//! The Docker driver's two configurations: the client's `plugin "docker" { config { ... } }`
//! block ([`DockerPluginConfig`], what the operator allows) and a task's `config { ... }`
//! block ([`DockerTaskConfig`], what the job asks for). Both are read with serde and refuse
//! unknown options, naming them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::DriverError;

/// The driver's name in jobs and node attributes.
pub const DOCKER: &str = "docker";
/// The engine's socket when the plugin config names none.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";
/// Process limit applied to every container unless the client config says otherwise.
pub const DEFAULT_PIDS_LIMIT: i64 = 1024;
/// How long a pull may take (Nomad's default `pull_timeout`).
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long an unused image is kept before garbage collection (Nomad's `image_delay`).
pub const DEFAULT_IMAGE_DELAY: Duration = Duration::from_secs(3 * 60);

/// `plugin "docker" { config { ... } }`: where the engine is and what tasks may do.
/// Everything that weakens the hardened defaults is off unless set here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DockerPluginConfig {
    /// The engine's address (`unix:///var/run/docker.sock`).
    pub endpoint: String,
    /// Capabilities a task may add with `cap_add` (every container drops `ALL`).
    #[serde(deserialize_with = "capabilities")]
    pub allow_caps: Vec<String>,
    /// Whether tasks may set `privileged = true`.
    pub allow_privileged: bool,
    /// Container runtimes tasks may choose with `runtime`.
    pub allow_runtimes: Vec<String>,
    /// Whether tasks may use `network_mode = "host"`.
    pub allow_host_network: bool,
    /// Whether tasks may use `pid_mode = "host"`.
    pub allow_host_pid: bool,
    /// Whether tasks may use `ipc_mode = "host"`.
    pub allow_host_ipc: bool,
    /// Whether tasks may use `uts_mode = "host"`.
    pub allow_host_uts: bool,
    /// Whether tasks may use `userns_mode = "host"`.
    pub allow_host_userns: bool,
    /// Whether tasks may map host `devices`.
    pub allow_devices: bool,
    /// Whether a task's `user` may be someone other than `nobody`.
    pub allow_user: bool,
    /// Process limit of every container (a task may only lower it).
    pub pids_limit: i64,
    /// `volumes { enabled }`: host paths outside the alloc dir may be mounted.
    pub volumes: VolumesConfig,
    /// `gc { image image_delay container }`.
    pub gc: GcConfig,
    /// How long an image pull may take (`"5m"`).
    #[serde(deserialize_with = "duration")]
    pub pull_timeout: Duration,
}

impl Default for DockerPluginConfig {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.to_string(),
            allow_caps: Vec::new(),
            allow_privileged: false,
            allow_runtimes: vec!["runc".to_string()],
            allow_host_network: false,
            allow_host_pid: false,
            allow_host_ipc: false,
            allow_host_uts: false,
            allow_host_userns: false,
            allow_devices: false,
            allow_user: false,
            pids_limit: DEFAULT_PIDS_LIMIT,
            volumes: VolumesConfig::default(),
            gc: GcConfig::default(),
            pull_timeout: DEFAULT_PULL_TIMEOUT,
        }
    }
}

impl DockerPluginConfig {
    /// Reads and checks the plugin's `config` body; the message names the bad option.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, String> {
        let config: Self = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        if config.pids_limit <= 0 {
            return Err(format!(
                "pids_limit must be positive, got {}",
                config.pids_limit
            ));
        }
        if !config.endpoint.starts_with("unix://")
            && !config.endpoint.starts_with("tcp://")
            && !config.endpoint.starts_with("http://")
        {
            return Err(format!(
                "endpoint {:?} must start with unix://, tcp:// or http://",
                config.endpoint
            ));
        }
        Ok(config)
    }
}

/// `volumes { enabled }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VolumesConfig {
    /// Whether tasks may bind-mount host paths outside their alloc dir.
    pub enabled: bool,
}

/// `gc { image image_delay container }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GcConfig {
    /// Remove an image once no container uses it (after `image_delay`).
    pub image: bool,
    /// How long an unused image is kept (`"3m"`).
    #[serde(deserialize_with = "duration")]
    pub image_delay: Duration,
    /// Remove a task's container when the task stops, and orphaned containers.
    pub container: bool,
}

impl Default for GcConfig {
    fn default() -> Self {
        Self {
            image: true,
            image_delay: DEFAULT_IMAGE_DELAY,
            container: true,
        }
    }
}

/// A task's `config { ... }` block for the Docker driver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DockerTaskConfig {
    pub image: String,
    pub command: String,
    #[serde(deserialize_with = "strings")]
    pub args: Vec<String>,
    #[serde(deserialize_with = "strings")]
    pub entrypoint: Vec<String>,
    pub work_dir: String,
    /// Labels of the group's network ports to publish.
    pub ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// `"host_path:container_path[:ro]"`; relative host paths start at the task dir.
    pub volumes: Vec<String>,
    pub network_mode: String,
    pub force_pull: bool,
    #[serde(deserialize_with = "one_block")]
    pub auth: Option<AuthConfig>,
    pub privileged: bool,
    pub pid_mode: String,
    pub ipc_mode: String,
    pub uts_mode: String,
    pub userns_mode: String,
    #[serde(deserialize_with = "devices")]
    pub devices: Vec<DeviceConfig>,
    #[serde(deserialize_with = "capabilities")]
    pub cap_add: Vec<String>,
    pub runtime: String,
    pub pids_limit: i64,
}

impl DockerTaskConfig {
    /// Reads a task's driver config; the message names the bad option.
    pub fn parse(config: &BTreeMap<String, serde_json::Value>) -> Result<Self, DriverError> {
        let value = serde_json::Value::Object(config.clone().into_iter().collect());
        let parsed: Self = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        if parsed.image.trim().is_empty() {
            return Err(invalid("\"image\" must be a non-empty string".into()));
        }
        Ok(parsed)
    }
}

/// `auth { username password server_address }` for pulling from a private registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub username: String,
    pub password: String,
    pub email: String,
    pub server_address: String,
}

/// `devices { host_path container_path cgroup_permissions }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    pub host_path: String,
    pub container_path: String,
    pub cgroup_permissions: String,
}

fn invalid(reason: String) -> DriverError {
    DriverError::InvalidConfig {
        driver: DOCKER,
        reason,
    }
}

/// Scalars or a list of scalars, as strings (`args = ["-n", 3]`).
fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::de::Error;
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        other => Err(D::Error::custom(format!("expected a string, got {other}"))),
    };
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(&other)?]),
    }
}

/// Capability names, upper case without the `CAP_` prefix (`net_bind_service` and
/// `CAP_NET_BIND_SERVICE` are the same).
fn capabilities<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let raw = Vec::<String>::deserialize(d)?;
    Ok(raw.iter().map(|c| normalize_cap(c)).collect())
}

/// `net_raw` -> `NET_RAW`, `CAP_CHOWN` -> `CHOWN`.
pub fn normalize_cap(cap: &str) -> String {
    let upper = cap.trim().to_uppercase();
    upper
        .strip_prefix("CAP_")
        .map_or(upper.clone(), str::to_string)
}

/// A block written once (an object) or as a list of one object.
fn one_block<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error;
    let value = match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::Array(mut items) if items.len() == 1 => items.remove(0),
        serde_json::Value::Array(items) if items.is_empty() => return Ok(None),
        serde_json::Value::Array(_) => return Err(D::Error::custom("expected a single block")),
        other => other,
    };
    serde_json::from_value(value)
        .map(Some)
        .map_err(D::Error::custom)
}

/// `devices` written as one block, several blocks or a list of objects.
fn devices<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DeviceConfig>, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(D::Error::custom))
            .collect(),
        other => serde_json::from_value(other)
            .map(|d| vec![d])
            .map_err(D::Error::custom),
    }
}

/// A Go-style duration string (`"30s"`, `"5m"`, `"1h30m"`) or a number of seconds.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| D::Error::custom(format!("invalid duration {n}"))),
        serde_json::Value::String(s) => parse_go_duration(&s)
            .ok_or_else(|| D::Error::custom(format!("invalid duration {s:?} (use e.g. \"5m\")"))),
        other => Err(D::Error::custom(format!("invalid duration {other}"))),
    }
}

/// Parses `1h30m`, `90s`, `500ms`, `2m0.5s`.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    Some(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plugin_defaults_are_hardened() {
        let c = DockerPluginConfig::from_json(&json!({})).unwrap();
        assert_eq!(c.endpoint, DEFAULT_ENDPOINT);
        assert!(!c.allow_privileged && !c.allow_host_network && !c.allow_user);
        assert!(c.allow_caps.is_empty());
        assert_eq!(c.pids_limit, 1024);
        assert_eq!(c.pull_timeout, Duration::from_secs(300));
        assert!(c.gc.image && c.gc.container);
        assert_eq!(c.gc.image_delay, Duration::from_secs(180));
        assert!(!c.volumes.enabled);
    }

    #[test]
    fn plugin_options_parse_and_unknown_ones_are_named() {
        let c = DockerPluginConfig::from_json(&json!({
            "allow_caps": ["net_bind_service", "CAP_CHOWN"],
            "allow_privileged": true,
            "volumes": {"enabled": true},
            "gc": {"image": false, "image_delay": "1h30m"},
            "pull_timeout": "30s",
        }))
        .unwrap();
        assert_eq!(c.allow_caps, ["NET_BIND_SERVICE", "CHOWN"]);
        assert!(c.allow_privileged && c.volumes.enabled && !c.gc.image);
        assert_eq!(c.gc.image_delay, Duration::from_secs(5400));
        assert_eq!(c.pull_timeout, Duration::from_secs(30));
        let err = DockerPluginConfig::from_json(&json!({"allow_privilegd": true})).unwrap_err();
        assert!(err.contains("allow_privilegd"), "{err}");
        let err = DockerPluginConfig::from_json(&json!({"gc": {"images": true}})).unwrap_err();
        assert!(err.contains("images"), "{err}");
        let err = DockerPluginConfig::from_json(&json!({"pull_timeout": "soon"})).unwrap_err();
        assert!(err.contains("soon"), "{err}");
    }

    #[test]
    fn task_config_parses_and_names_unknown_options() {
        let config: BTreeMap<String, serde_json::Value> = serde_json::from_value(json!({
            "image": "busybox:1",
            "command": "sh",
            "args": ["-c", "echo", 3],
            "auth": [{"username": "u", "password": "p"}],
            "ports": ["http"],
        }))
        .unwrap();
        let c = DockerTaskConfig::parse(&config).unwrap();
        assert_eq!(c.args, ["-c", "echo", "3"]);
        assert_eq!(c.auth.unwrap().username, "u");
        let bad: BTreeMap<String, serde_json::Value> =
            serde_json::from_value(json!({"image": "x", "imagee": "y"})).unwrap();
        let err = DockerTaskConfig::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("imagee"), "{err}");
        let err = DockerTaskConfig::parse(&BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("image"), "{err}");
    }
}
