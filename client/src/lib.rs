//! nomadish-client: the node agent. It fingerprints the machine, registers with the servers
//! and heartbeats, watches the allocations placed on it, runs their tasks through drivers
//! (`raw_exec` for now), streams their logs back through a tunnel, and reports task states.
//!
//! ```text
//!                 servers (gRPC NodeService; the client always dials)
//!      Register/Heartbeat   WatchAllocations   UpdateAllocations   Tunnel (logs)
//!             ^                   |                   ^                 ^ |
//!         heartbeat            watcher             updater            tunnel
//!                                 v                   ^                 |
//!                           alloc manager ──> alloc runners ──> task runners ──> drivers
//!                                                                   |
//!                                             data_dir/alloc/<id>/alloc/logs/<task>.stdout.N
//! ```
//!
//! The agent binary calls [`run`] with a [`ClientConfig`] and a shutdown future.
//!
//! # Shutdown
//!
//! When the shutdown future resolves (Ctrl-C of the agent), the client stops heartbeating
//! and **kills every task it runs**: the task's `kill_signal` (default `SIGINT`) to its
//! process group, then `SIGKILL` after its `kill_timeout` (capped by `max_kill_timeout`).
//! The tasks' final states (`Killing`, `Terminated`, `Killed`) are reported if a server is
//! reachable within a few seconds. Tasks never outlive a cleanly stopped agent.
//!
//! # Client restarts
//!
//! The client records, in `data_dir/client/state.json`, which allocations it runs and the
//! process group of each running task. If it is killed without a clean shutdown
//! (`kill -9`) and started again, it kills the task process groups the previous run left
//! behind (after checking they still carry the task's `NOMAD_ALLOC_ID`), then starts again
//! the tasks of allocations the server still wants running, with a `Restarting` event
//! saying the client restarted. Allocations that are client-terminal on the server are not
//! run again. Re-attaching to surviving task processes instead of restarting them is
//! future work.
//!
//! # Not done yet
//!
//! Task lifecycle hooks (`prestart`/`poststart`/`poststop` ordering) are not applied: all
//! tasks of a group start together. Only the `raw_exec` driver exists; Docker and SSH come
//! next. The server connection is plaintext; mTLS is added in [`servers::endpoint`].
#![forbid(unsafe_code)]

mod agent;
pub mod alloc_query;
pub mod allocrunner;
pub mod artifact;
pub mod backoff;
pub mod checks;
pub mod config;
pub mod controls;
pub mod driver;
pub mod error;
pub mod exec;
pub mod fingerprint;
pub mod fs;
mod fsutil;
mod gofmt;
pub mod heartbeat;
pub mod identity;
pub mod logs;
pub mod manager;
pub mod procfs;
pub mod registry;
pub mod servers;
pub mod shutdown;
pub mod state;
pub mod status;
pub mod taskenv;
pub mod taskrunner;
pub mod template;
pub mod tunnel;
pub mod updates;
pub mod watcher;

pub use agent::{run, run_with_status};
pub use config::ClientConfig;
pub use error::ClientError;
pub use status::{ClientStatus, StatusReport};
