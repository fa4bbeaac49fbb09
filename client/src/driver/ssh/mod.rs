//! The `ssh` driver: runs a task's command on a remote host over SSH.
//!
//! - Task config: `host`, `port` (22), `user`, `command`, `args`, `host_key`, `pty`; the
//!   task's `env` is exported for the command.
//! - The client authenticates with the private key of its `plugin "ssh"` config.
//! - Host keys are pinned ([`hostkey`]): the task's `host_key` or the client's
//!   `known_hosts_file`; new keys only with `insecure_accept_new_host_keys`.
//! - Connections are pooled per (host, port, user) with keepalives ([`pool`]); a circuit
//!   breaker per endpoint fails tasks fast after repeated connection failures ([`breaker`]).
//! - Stopping signals the channel and the remote process group, SIGKILLs it after the kill
//!   timeout and closes the channel; a lost connection fails the task.
//!
//! ```text
//!  start(spec) ─> SshTaskConfig ─> SshDriver::connect ──(pooled, key re-checked)──┐
//!                                   │ breaker.check ─> dial: TCP, kex + hostkey::verify,
//!                                   │                  publickey auth ──> pool   │
//!                                   v                                            v
//!                     channel: exec wrapper (remote.rs) ──> pump: marker ─> PGID
//!                                                              stdout/stderr ─> RotatingWriter
//!                                                              exit-status/signal ─> wait()
//!  stop / alloc signal ─> channel signal + `kill -SIG -PGID` on a second channel
//!  alloc exec          ─> a further channel on the same connection
//! ```

pub mod breaker;
pub mod config;
mod control;
mod error;
pub mod hostkey;
mod pool;
pub mod remote;
mod task;

pub use config::{SSH, SshPluginConfig, SshTaskConfig};
pub use control::SshControl;
pub use error::SshError;
pub use pool::{Connection, SshDriver};
pub use task::{RemoteExit, SshHandle, start};

#[cfg(test)]
#[path = "../../../../tests/src/sshd.rs"]
#[allow(dead_code)]
pub(crate) mod test_sshd;
#[cfg(test)]
mod tests;
