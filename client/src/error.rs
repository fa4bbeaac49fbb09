//! Errors of the client agent, one `thiserror` enum per area: the agent as a whole
//! ([`ClientError`]), task drivers ([`DriverError`]) and log files ([`LogError`]).

use std::path::PathBuf;

/// Why the client agent could not run (or had to stop).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A file or directory of the client's state could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A state file exists but does not hold what the client wrote there.
    #[error("corrupt state file {path}: {source}")]
    CorruptState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A model value could not be encoded as JSON for the wire.
    #[error("encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The configuration names no server to dial.
    #[error("no servers configured")]
    NoServers,
    /// A configured server address is not a valid `host:port`.
    #[error("invalid server address {addr:?}: {source}")]
    InvalidServerAddress {
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// The TLS settings or certificates are unusable.
    #[error("tls: {source}")]
    Tls {
        #[source]
        source: nomadish_proto::tls::TlsError,
    },
    /// The client's certificate has the wrong role or region.
    #[error("tls: {0}")]
    WrongCertificate(String),
    /// A driver plugin's `config` block is invalid.
    #[error("plugin config: {0}")]
    PluginConfig(String),
    /// A call to a server failed.
    #[error("{op} on server {server}: {status}")]
    Rpc {
        op: &'static str,
        server: String,
        #[source]
        status: tonic::Status,
    },
    /// A server sent something the client cannot decode.
    #[error("decode {what} from server {server}: {source}")]
    Decode {
        what: &'static str,
        server: String,
        #[source]
        source: serde_json::Error,
    },
}

impl ClientError {
    /// Shorthand for [`ClientError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The gRPC status code, for RPC failures.
    pub fn rpc_code(&self) -> Option<tonic::Code> {
        match self {
            Self::Rpc { status, .. } => Some(status.code()),
            _ => None,
        }
    }
}

/// Why a driver could not start (or stop) a task.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The task names a driver this client does not have.
    #[error("driver {driver:?} is not supported by this client")]
    UnknownDriver { driver: String },
    /// The driver exists but the client configuration turns it off.
    #[error("driver {driver:?} is disabled on this client")]
    Disabled { driver: &'static str },
    /// The task's `config` block is invalid for the driver.
    #[error("invalid {driver} config: {reason}")]
    InvalidConfig {
        driver: &'static str,
        reason: String,
    },
    /// The process could not be started.
    #[error("failed to start command {command:?}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The task's log files could not be opened.
    #[error("failed to open log files: {source}")]
    Logs {
        #[source]
        source: LogError,
    },
    /// The Docker engine failed a request (or could not be reached).
    #[error("docker {op}: {reason}")]
    Engine { op: &'static str, reason: String },
    /// The task's image is not on the engine and pulling it failed.
    #[error("image {image:?} not found and cannot be pulled: {reason}")]
    ImageUnavailable { image: String, reason: String },
    /// The driver cannot do what was asked of a running task.
    #[error("{driver} does not support {what}")]
    Unsupported {
        driver: &'static str,
        what: &'static str,
    },
    /// The SSH driver could not connect, authenticate or run the remote command.
    #[error(transparent)]
    Ssh(#[from] crate::driver::ssh::SshError),
    /// A `volume_mount` cannot be made on this node.
    #[error("host volume: {reason}")]
    HostVolume { reason: String },
}

impl DriverError {
    /// Whether trying again could help (Nomad restarts tasks on recoverable start errors
    /// according to the restart policy and fails them at once otherwise).
    pub fn is_recoverable(&self) -> bool {
        match self {
            Self::Ssh(e) => e.is_recoverable(),
            other => matches!(
                other,
                Self::Spawn { .. }
                    | Self::Logs { .. }
                    | Self::Engine { .. }
                    | Self::ImageUnavailable { .. }
            ),
        }
    }
}

/// Why a log file could not be written or streamed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A log file or directory could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The request names an unknown stream type or origin.
    #[error("invalid log request: {reason}")]
    InvalidRequest { reason: String },
}

impl LogError {
    /// Shorthand for [`LogError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
