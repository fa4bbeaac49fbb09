//! The command-line interface: Nomad's verbs and flags over the HTTP API.
//!
//! ```text
//! argv -> argv::translate_args (-flag -> --flag) -> clap (args::Cli) -> run() -> exit code
//!                                                                      |
//!                                  job / alloc / eval / node / server / status commands
//!                                  each: ApiClient -> GET/PUT/DELETE -> format -> stdout
//!                                  tls commands: local files only (no API)
//! ```
//!
//! Exit codes: 0 ok, 1 error, 2 for `job run` when some placements failed.

pub mod acl;
pub mod alloc;
pub mod alloc_exec;
pub mod alloc_fs;
pub mod alloc_ops;
pub mod api;
#[cfg(test)]
mod api_tests;
pub mod api_tls;
pub mod args;
pub mod argv;
#[cfg(test)]
mod command_tests;
pub mod deployment;
pub mod drain_monitor;
pub mod eval;
pub mod fmt;
#[cfg(test)]
mod fmt_tests;
pub mod format;
pub mod history;
pub mod job;
pub mod job_children;
pub mod job_eval;
pub mod job_init;
pub mod job_plan;
pub mod job_status;
pub mod jobspec;
pub mod lifecycle;
pub mod logs;
pub mod monitor;
pub mod namespace;
pub mod namespace_spec;
pub mod node;
pub mod node_ops;
pub mod operator;
#[cfg(test)]
mod operator_tests;
pub mod prefix;
pub mod server;
pub mod service;
pub mod status;
pub mod system;
#[cfg(test)]
pub mod test_server;
pub mod tls;
#[cfg(test)]
mod tls_tests;
pub mod var;

use api::ApiClient;
use args::{
    AllocCommand, ApiOpts, Cli, Command, EvalCommand, JobCommand, NodeCommand, ServerCommand,
};

/// Success.
pub const EXIT_OK: i32 = 0;
/// Any error.
pub const EXIT_ERROR: i32 = 1;

/// Runs a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Agent(args) => crate::agent::run(args).await,
        Command::Job(cmd) => run_job(cmd).await,
        Command::Alloc(AllocCommand::Status(args)) => alloc::status(args).await,
        Command::Alloc(AllocCommand::Logs(args)) => logs::run(args).await,
        Command::Alloc(AllocCommand::Fs(args)) => alloc_fs::run(args).await,
        Command::Alloc(AllocCommand::Exec(args)) => alloc_exec::run(args).await,
        Command::Alloc(AllocCommand::Restart(args)) => alloc_ops::restart(args).await,
        Command::Alloc(AllocCommand::Signal(args)) => alloc_ops::signal(args).await,
        Command::Alloc(AllocCommand::Stop(args)) => alloc_ops::stop(args).await,
        Command::Eval(EvalCommand::Status(args)) => eval::status(args).await,
        Command::Deployment(cmd) => deployment::run(cmd).await,
        Command::Node(NodeCommand::Status(args)) => node::status(args).await,
        Command::Node(NodeCommand::Eligibility(args)) => node_ops::eligibility(args).await,
        Command::Node(NodeCommand::Drain(args)) => node_ops::drain(args).await,
        Command::Server(ServerCommand::Members(args)) => server::members(args).await,
        Command::Operator(cmd) => operator::run(cmd).await,
        Command::Status(args) => status::run(args).await,
        Command::System(cmd) => system::run(cmd).await,
        Command::Tls(cmd) => tls::run(cmd),
        Command::Fmt(args) => fmt::run(args),
        Command::Service(cmd) => service::run(cmd).await,
        Command::Var(cmd) => var::run(cmd).await,
        Command::Acl(cmd) => acl::run(cmd).await,
        Command::Namespace(cmd) => namespace::run(cmd).await,
        Command::Version => {
            println!("Nomadish v{}", env!("CARGO_PKG_VERSION"));
            EXIT_OK
        }
    }
}

async fn run_job(cmd: JobCommand) -> i32 {
    match cmd {
        JobCommand::Run(args) => job::run(args).await,
        JobCommand::Status(args) => job_status::run(args).await,
        JobCommand::Inspect(args) => job::inspect(args).await,
        JobCommand::Validate(args) => job::validate(args),
        JobCommand::Stop(args) => job::stop(args).await,
        JobCommand::History(args) => history::run(args).await,
        JobCommand::Revert(args) => lifecycle::revert(args).await,
        JobCommand::Eval(args) => job_eval::job_eval(args).await,
        JobCommand::Scale(args) => lifecycle::scale(args).await,
        JobCommand::Dispatch(args) => lifecycle::dispatch(args).await,
        JobCommand::Periodic(lifecycle::PeriodicCommand::Force(args)) => {
            lifecycle::periodic_force(args).await
        }
        JobCommand::Plan(args) => job_plan::run(args).await,
        JobCommand::Init(args) => job_init::run(args).await,
    }
}

/// The API client the flags describe, or `None` after printing why it cannot be built.
pub fn client_or_exit(opts: &ApiOpts) -> Option<ApiClient> {
    match ApiClient::new(opts.config()) {
        Ok(client) => Some(client),
        Err(e) => {
            eprintln!("Error initializing client: {e}");
            None
        }
    }
}
