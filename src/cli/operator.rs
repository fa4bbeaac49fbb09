//! `operator`: cluster maintenance, Nomad's `nomad operator raft ...` and
//! `nomad operator snapshot ...` verbs.
//!
//! ```text
//! operator raft list-peers           GET    /v1/operator/raft/configuration  -> table
//! operator raft remove-peer          DELETE /v1/operator/raft/peer?id=|address=
//! operator raft transfer-leadership  PUT    /v1/operator/raft/transfer-leadership[?id=|address=]
//! operator snapshot save [FILE]      GET    /v1/operator/snapshot -> FILE.tmp, header checked
//!                                                                 -> rename to FILE
//! operator snapshot restore FILE     header checked -> PUT /v1/operator/snapshot (file as body)
//! operator snapshot inspect FILE     local only: header -> key = value
//! operator scheduler get-config      GET    /v1/operator/scheduler/configuration -> key = value
//! operator scheduler set-config      GET, change the given fields, PUT [?cas=ModifyIndex]
//! ```
//!
//! A snapshot file is one JSON line ([`SnapshotHeader`](nomadish_proto::model::SnapshotHeader)),
//! a newline, then the encoded state; anything else is refused before it is sent anywhere.

pub mod audit;
pub mod raft;
pub mod scheduler;
pub mod snapshot;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::api::ApiClient;
use super::args::ApiOpts;
use super::client_or_exit;

/// `operator` subcommands.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Inspect and change the servers' raft configuration.
    #[command(subcommand)]
    Raft(RaftCommand),
    /// Save, restore and inspect snapshots of the servers' state.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Display and change the scheduler configuration.
    #[command(subcommand)]
    Scheduler(SchedulerCommand),
    /// Verify the servers' hash-chained audit logs.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

/// `operator scheduler` subcommands.
#[derive(Debug, Subcommand)]
pub enum SchedulerCommand {
    /// Displays the scheduler configuration.
    GetConfig(SchedulerGetArgs),
    /// Changes the scheduler configuration (only the flags given).
    SetConfig(SchedulerSetArgs),
}

/// `operator scheduler get-config`.
#[derive(Debug, Args)]
pub struct SchedulerGetArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Let any server answer from its own state.
    #[arg(long)]
    pub stale: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `operator scheduler set-config`.
#[derive(Debug, Args)]
pub struct SchedulerSetArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// `binpack` or `spread`.
    #[arg(long, value_name = "ALGORITHM")]
    pub scheduler_algorithm: Option<String>,
    /// Whether tasks may use memory above their reservation (`memory_max`).
    #[arg(long, value_name = "BOOL")]
    pub memory_oversubscription: Option<bool>,
    /// Whether system jobs may preempt lower-priority allocations.
    #[arg(long, value_name = "BOOL")]
    pub preempt_system_scheduler: Option<bool>,
    /// Whether sysbatch jobs may preempt.
    #[arg(long, value_name = "BOOL")]
    pub preempt_sysbatch_scheduler: Option<bool>,
    /// Whether batch jobs may preempt.
    #[arg(long, value_name = "BOOL")]
    pub preempt_batch_scheduler: Option<bool>,
    /// Whether service jobs may preempt.
    #[arg(long, value_name = "BOOL")]
    pub preempt_service_scheduler: Option<bool>,
    /// Update only if the configuration did not change since it was read.
    #[arg(long)]
    pub check_index: bool,
}

/// `operator raft` subcommands.
#[derive(Debug, Subcommand)]
pub enum RaftCommand {
    /// Displays the current raft peer configuration.
    ListPeers(RaftListPeersArgs),
    /// Removes a server from the raft configuration.
    RemovePeer(RaftPeerArgs),
    /// Transfers leadership to another server (a given one, or any other voter).
    TransferLeadership(RaftPeerArgs),
}

/// `operator snapshot` subcommands.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Saves a point-in-time snapshot of the servers' state to a file.
    Save(SnapshotSaveArgs),
    /// Replaces the servers' whole state with a snapshot file.
    Restore(SnapshotRestoreArgs),
    /// Displays what a snapshot file holds (reads only the local file).
    Inspect(SnapshotInspectArgs),
}

/// `operator raft list-peers`.
#[derive(Debug, Args)]
pub struct RaftListPeersArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Let any server answer from its own state (useful without a leader).
    #[arg(long)]
    pub stale: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `operator raft remove-peer` and `operator raft transfer-leadership`.
#[derive(Debug, Args)]
pub struct RaftPeerArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// The raft ID of the server.
    #[arg(long, value_name = "ID")]
    pub peer_id: Option<String>,
    /// The raft (RPC) address of the server, IP:port.
    #[arg(long, value_name = "IP:PORT")]
    pub peer_address: Option<String>,
}

/// `operator snapshot save`.
#[derive(Debug, Args)]
pub struct SnapshotSaveArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Let any server answer from its own state (useful without a leader).
    #[arg(long)]
    pub stale: bool,
    /// Where to write the snapshot (default `nomadish-state-YYYYMMDD-UNIX.snap`); must not
    /// exist yet.
    pub file: Option<PathBuf>,
}

/// `operator snapshot restore`.
#[derive(Debug, Args)]
pub struct SnapshotRestoreArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// The snapshot file.
    pub file: PathBuf,
}

/// `operator snapshot inspect`.
#[derive(Debug, Args)]
pub struct SnapshotInspectArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The snapshot file.
    pub file: PathBuf,
}

/// Runs one `operator` command; returns the exit code.
pub async fn run(cmd: OperatorCommand) -> i32 {
    match cmd {
        OperatorCommand::Raft(RaftCommand::ListPeers(args)) => raft::list_peers(args).await,
        OperatorCommand::Raft(RaftCommand::RemovePeer(args)) => raft::remove_peer(args).await,
        OperatorCommand::Raft(RaftCommand::TransferLeadership(args)) => {
            raft::transfer_leadership(args).await
        }
        OperatorCommand::Snapshot(SnapshotCommand::Save(args)) => snapshot::save(args).await,
        OperatorCommand::Snapshot(SnapshotCommand::Restore(args)) => snapshot::restore(args).await,
        OperatorCommand::Snapshot(SnapshotCommand::Inspect(args)) => snapshot::inspect(&args),
        OperatorCommand::Scheduler(SchedulerCommand::GetConfig(args)) => {
            scheduler::get_config(args).await
        }
        OperatorCommand::Scheduler(SchedulerCommand::SetConfig(args)) => {
            scheduler::set_config(args).await
        }
        OperatorCommand::Audit(audit::AuditCommand::Verify(args)) => audit::verify(&args),
    }
}

/// The API client for operator endpoints, which are cluster-wide: no namespace is sent.
fn operator_client(opts: &ApiOpts) -> Option<ApiClient> {
    let mut opts = opts.clone();
    opts.namespace = None;
    client_or_exit(&opts)
}

/// `?stale=true` when asked for.
fn stale_query(stale: bool) -> Vec<(&'static str, String)> {
    if stale {
        vec![("stale", "true".to_string())]
    } else {
        Vec::new()
    }
}
