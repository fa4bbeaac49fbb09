//! Why the SSH driver could not run a task.

use std::time::Duration;

use super::breaker::CircuitOpen;
use super::hostkey::HostKeyError;

/// An SSH driver failure; the message is what the task event shows.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The endpoint's circuit breaker refuses new connections for now.
    #[error(transparent)]
    CircuitOpen(#[from] CircuitOpen),
    /// The server's host key is not the pinned or known one.
    #[error(transparent)]
    HostKey(#[from] HostKeyError),
    /// The client's private key cannot be used.
    #[error("ssh plugin private_key_file {path}: {reason}")]
    PrivateKey { path: String, reason: String },
    /// TCP connect or the SSH handshake failed.
    #[error("ssh connection to {endpoint} failed: {reason}")]
    Connect { endpoint: String, reason: String },
    /// Connecting took longer than the plugin's `connect_timeout`.
    #[error("ssh connection to {endpoint} timed out after {timeout:?} (connect_timeout)")]
    Timeout { endpoint: String, timeout: Duration },
    /// The server refused the client's key for this user.
    #[error("ssh authentication as {user:?} on {endpoint} failed: public key refused")]
    Auth { endpoint: String, user: String },
    /// A channel could not be opened or set up on an established connection.
    #[error("ssh session on {endpoint} failed: {reason}")]
    Channel { endpoint: String, reason: String },
}

impl SshError {
    /// Whether trying again later could help (the restart policy then applies).
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            Self::CircuitOpen(_)
                | Self::Connect { .. }
                | Self::Timeout { .. }
                | Self::Channel { .. }
        )
    }
}
