//! `system gc` and `system reconcile summaries`.

use clap::{Args, Subcommand};

use super::args::ApiOpts;
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// `system` subcommands.
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Garbage collects finished evaluations, allocations, dead jobs and down nodes now.
    Gc(SystemArgs),
    /// Reconciles job summaries.
    #[command(subcommand)]
    Reconcile(ReconcileCommand),
}

/// `system reconcile` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReconcileCommand {
    /// Reconciles the summaries of every job.
    Summaries(SystemArgs),
}

/// Flags of the `system` commands.
#[derive(Debug, Args)]
pub struct SystemArgs {
    #[command(flatten)]
    pub api: ApiOpts,
}

/// Runs a `system` command.
pub async fn run(cmd: SystemCommand) -> i32 {
    let (opts, path, what) = match &cmd {
        SystemCommand::Gc(a) => (&a.api, "/v1/system/gc", "running system GC"),
        SystemCommand::Reconcile(ReconcileCommand::Summaries(a)) => (
            &a.api,
            "/v1/system/reconcile/summaries",
            "running system summary reconcile",
        ),
    };
    let Some(api) = client_or_exit(opts) else {
        return EXIT_ERROR;
    };
    match api
        .put::<_, serde_json::Value>(path, &serde_json::Value::Null, &[])
        .await
    {
        Ok(_) => EXIT_OK,
        Err(e) => {
            eprintln!("Error {what}: {e}");
            EXIT_ERROR
        }
    }
}
