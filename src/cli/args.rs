//! The command line, as clap derive structs. Flags are written here as clap sees them
//! (`--detach`); users type them Nomad-style (`-detach`) and [`super::argv`] translates.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};
use nomadish_proto::tls::CliTlsConfig;

use super::api::{ApiConfig, DEFAULT_ADDRESS};
use super::tls::TlsCommand;
use crate::agent::args::AgentArgs;

/// nomadish: a Nomad-style cluster scheduler.
#[derive(Debug, Parser)]
#[command(name = "nomadish", version, disable_help_subcommand = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs a nomadish agent (server, client, or both with -dev).
    Agent(AgentArgs),
    /// Interact with jobs.
    #[command(subcommand)]
    Job(JobCommand),
    /// Interact with allocations.
    #[command(subcommand)]
    Alloc(AllocCommand),
    /// Interact with evaluations.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Interact with deployments (rolling updates and canaries).
    #[command(subcommand)]
    Deployment(DeploymentCommand),
    /// Interact with nodes.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Interact with servers.
    #[command(subcommand)]
    Server(ServerCommand),
    /// Cluster maintenance: raft peers and state snapshots.
    #[command(subcommand)]
    Operator(super::operator::OperatorCommand),
    /// Lists jobs, or shows the status of the job, allocation, node or evaluation given.
    Status(StatusArgs),
    /// System maintenance: garbage collection, summary reconciliation.
    #[command(subcommand)]
    System(super::system::SystemCommand),
    /// Creates and shows the cluster's TLS certificates.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Rewrites HCL jobspecs in the canonical format (comments kept).
    Fmt(super::fmt::FmtArgs),
    /// Prints the version.
    Version,
    /// Interact with the built-in service catalog (provider = "nomad").
    #[command(subcommand)]
    Service(super::service::ServiceCommand),
    /// Interact with Nomad Variables (encrypted key/value documents).
    #[command(subcommand)]
    Var(super::var::VarCommand),
    /// ACL bootstrap, policies and tokens.
    #[command(subcommand)]
    Acl(super::acl::AclCommand),
    /// Interact with namespaces and their quotas.
    #[command(subcommand)]
    Namespace(super::namespace::NamespaceCommand),
}

/// Connection flags every API command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct ApiOpts {
    /// The address of the nomadish agent's HTTP API.
    #[arg(long, env = "NOMAD_ADDR", default_value = DEFAULT_ADDRESS)]
    pub address: String,
    /// The ACL token (SecretID), sent as X-Nomad-Token.
    #[arg(long, env = "NOMAD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The namespace of the objects acted on.
    #[arg(long, env = "NOMAD_NAMESPACE")]
    pub namespace: Option<String>,
    /// The region to forward the request to.
    #[arg(long, env = "NOMAD_REGION")]
    pub region: Option<String>,
    /// CA certificate (PEM) that verifies the agent's HTTPS certificate.
    #[arg(long, env = "NOMAD_CACERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Client certificate (PEM) to present to the agent.
    #[arg(long, env = "NOMAD_CLIENT_CERT", value_name = "FILE")]
    pub client_cert: Option<PathBuf>,
    /// Key (PEM) of the client certificate.
    #[arg(long, env = "NOMAD_CLIENT_KEY", value_name = "FILE")]
    pub client_key: Option<PathBuf>,
    /// Verify the agent's certificate against this name instead of the address's host.
    #[arg(long, env = "NOMAD_TLS_SERVER_NAME", value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Do not verify the agent's certificate (insecure).
    #[arg(long, env = "NOMAD_SKIP_VERIFY", value_parser = BoolishValueParser::new())]
    pub tls_skip_verify: bool,
}

impl ApiOpts {
    /// The client settings these flags describe.
    pub fn config(&self) -> ApiConfig {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let path = |v: &Option<PathBuf>| v.clone().filter(|p| !p.as_os_str().is_empty());
        ApiConfig {
            address: self.address.clone(),
            token: non_empty(&self.token),
            namespace: non_empty(&self.namespace),
            region: non_empty(&self.region),
            tls: CliTlsConfig {
                ca_cert: path(&self.ca_cert),
                client_cert: path(&self.client_cert),
                client_key: path(&self.client_key),
                server_name: non_empty(&self.tls_server_name),
                skip_verify: self.tls_skip_verify,
            },
        }
    }
}

/// `job` subcommands.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Submits a job file and monitors its evaluation.
    Run(JobRunArgs),
    /// Lists jobs, or shows one job's status.
    Status(JobStatusArgs),
    /// Prints a registered job as JSON.
    Inspect(JobInspectArgs),
    /// Checks a job file without submitting it.
    Validate(JobValidateArgs),
    /// Stops (deregisters) a job.
    Stop(JobStopArgs),
    /// Shows a job's tracked versions.
    History(super::history::HistoryArgs),
    /// Reverts a job to an earlier version.
    Revert(super::lifecycle::RevertArgs),
    /// Creates a new evaluation of a job.
    Eval(super::job_eval::JobEvalArgs),
    /// Changes a task group's count.
    Scale(super::lifecycle::ScaleArgs),
    /// Dispatches an instance of a parameterized job.
    Dispatch(super::lifecycle::DispatchArgs),
    /// Interacts with periodic jobs.
    #[command(subcommand)]
    Periodic(super::lifecycle::PeriodicCommand),
    /// Shows what submitting a job file would change, without changing anything.
    Plan(super::job_plan::JobPlanArgs),
    /// Writes an example job file to start from.
    Init(super::job_init::JobInitArgs),
}

/// `job run`.
#[derive(Debug, Args)]
pub struct JobRunArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Return right after submitting, printing the evaluation ID.
    #[arg(long)]
    pub detach: bool,
    /// Print the JSON the job would be submitted as, and submit nothing.
    #[arg(long)]
    pub output: bool,
    /// Submit only if the job's modify index equals this (0: only if the job is new).
    #[arg(long, value_name = "INDEX")]
    pub check_index: Option<u64>,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// The file holds the job as JSON instead of HCL.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub vars: VarOpts,
    /// The job file.
    pub file: PathBuf,
}

/// `job status` (and `status`).
#[derive(Debug, Args)]
pub struct JobStatusArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// A job ID or prefix; without it, every job is listed.
    pub job: Option<String>,
}

/// `job inspect`.
#[derive(Debug, Args)]
pub struct JobInspectArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print the job itself rather than `{"Job": ...}`.
    #[arg(long)]
    pub json: bool,
    /// A job ID or prefix.
    pub job: String,
}

/// `job validate`.
#[derive(Debug, Args)]
pub struct JobValidateArgs {
    /// The file holds the job as JSON instead of HCL.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub vars: VarOpts,
    /// The job file.
    pub file: PathBuf,
}

/// `job stop`.
#[derive(Debug, Args)]
pub struct JobStopArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Remove the job from the servers' state entirely.
    #[arg(long)]
    pub purge: bool,
    /// Return right after submitting, printing the evaluation ID.
    #[arg(long)]
    pub detach: bool,
    /// Do not ask for confirmation when the job was given as a prefix.
    #[arg(long)]
    pub yes: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// A job ID or prefix.
    pub job: String,
}

/// `alloc` subcommands.
#[derive(Debug, Subcommand)]
pub enum AllocCommand {
    /// Shows an allocation and its tasks.
    Status(AllocStatusArgs),
    /// Prints (or follows) a task's stdout or stderr.
    Logs(AllocLogsArgs),
    /// Lists, stats, prints or follows files in an allocation's directory.
    Fs(AllocFsArgs),
    /// Runs a command inside a running task.
    Exec(AllocExecArgs),
    /// Restarts a running allocation's tasks in place.
    Restart(AllocRestartArgs),
    /// Sends a signal to an allocation's tasks.
    Signal(AllocSignalArgs),
    /// Stops an allocation; the scheduler places a replacement.
    Stop(AllocStopArgs),
}

/// `alloc exec`.
#[derive(Debug, Args)]
pub struct AllocExecArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// The task to run the command in (defaults to the allocation's only task).
    #[arg(long = "task", value_name = "TASK")]
    pub task: Option<String>,
    /// Treat the first argument as a job ID and pick one of its running allocations.
    #[arg(long)]
    pub job: bool,
    /// Pass stdin to the command (default true; `-i=false` closes it at once).
    #[arg(short = 'i', num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub stdin: Option<bool>,
    /// Allocate a TTY (default: when stdin is a terminal).
    #[arg(short = 't', num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tty: Option<bool>,
    /// An allocation ID or prefix (a job ID with -job).
    pub alloc: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `alloc restart`.
#[derive(Debug, Args)]
pub struct AllocRestartArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// The task to restart (default: every running task).
    #[arg(long = "task", value_name = "TASK")]
    pub task_flag: Option<String>,
    /// Restart every task of the allocation.
    #[arg(long)]
    pub all_tasks: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// An allocation ID or prefix.
    pub alloc: String,
    /// The task (same as -task).
    pub task: Option<String>,
}

/// `alloc signal`.
#[derive(Debug, Args)]
pub struct AllocSignalArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// The signal to send (default SIGKILL).
    #[arg(short = 's', value_name = "SIGNAL")]
    pub signal: Option<String>,
    /// The task to signal (default: every running task).
    #[arg(long = "task", value_name = "TASK")]
    pub task_flag: Option<String>,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// An allocation ID or prefix.
    pub alloc: String,
    /// The task (same as -task).
    pub task: Option<String>,
}

/// `alloc stop`.
#[derive(Debug, Args)]
pub struct AllocStopArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print the evaluation ID and return instead of monitoring it.
    #[arg(long)]
    pub detach: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// An allocation ID or prefix.
    pub alloc: String,
}

/// `alloc fs`.
#[derive(Debug, Args)]
pub struct AllocFsArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Show the file's information instead of its content.
    #[arg(long)]
    pub stat: bool,
    /// Keep printing the file as it grows, until interrupted.
    #[arg(short = 'f')]
    pub follow: bool,
    /// Print the end of the file (10 lines unless -n or -c says otherwise).
    #[arg(long)]
    pub tail: bool,
    /// With -tail: how many lines.
    #[arg(short = 'n', value_name = "LINES")]
    pub lines: Option<u64>,
    /// With -tail: how many bytes.
    #[arg(short = 'c', value_name = "BYTES")]
    pub bytes: Option<u64>,
    /// Machine-friendly sizes (bytes).
    #[arg(short = 'H')]
    pub machine: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// An allocation ID or prefix.
    pub alloc: String,
    /// A path relative to the allocation directory (default: its root).
    pub path: Option<String>,
}

/// `alloc status`.
#[derive(Debug, Args)]
pub struct AllocStatusArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print full IDs and times.
    #[arg(long)]
    pub verbose: bool,
    /// An allocation ID or prefix.
    pub alloc: String,
}

/// `alloc logs`.
#[derive(Debug, Args)]
pub struct AllocLogsArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Keep following the log as it grows, until interrupted.
    #[arg(short = 'f')]
    pub follow: bool,
    /// Print stderr instead of stdout.
    #[arg(long)]
    pub stderr: bool,
    /// Print stdout (the default); with -f, follow only stdout.
    #[arg(long)]
    pub stdout: bool,
    /// Print the end of the log (10 lines unless -n or -c says otherwise).
    #[arg(long)]
    pub tail: bool,
    /// With -tail: how many lines.
    #[arg(short = 'n', value_name = "LINES")]
    pub lines: Option<u64>,
    /// With -tail: how many bytes.
    #[arg(short = 'c', value_name = "BYTES")]
    pub bytes: Option<u64>,
    /// The task (defaults to the allocation's only task).
    #[arg(long = "task", value_name = "TASK")]
    pub task_flag: Option<String>,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// An allocation ID or prefix.
    pub alloc: String,
    /// The task (same as -task).
    pub task: Option<String>,
}

/// `eval` subcommands.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Shows an evaluation.
    Status(EvalStatusArgs),
}

/// `eval status`.
#[derive(Debug, Args)]
pub struct EvalStatusArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print full IDs and times.
    #[arg(long)]
    pub verbose: bool,
    /// An evaluation ID or prefix.
    pub eval: String,
}

/// `node` subcommands.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Lists nodes, or shows one node.
    Status(NodeStatusArgs),
    /// Marks a node eligible or ineligible for new allocations.
    Eligibility(super::node_ops::NodeEligibilityArgs),
    /// Drains a node of its allocations (or stops draining it).
    Drain(super::node_ops::NodeDrainArgs),
}

/// `node status`.
#[derive(Debug, Args)]
pub struct NodeStatusArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// A node ID or prefix; without it, every node is listed.
    pub node: Option<String>,
}

/// `server` subcommands.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Lists the servers of the cluster.
    Members(ServerMembersArgs),
}

/// `server members`.
#[derive(Debug, Args)]
pub struct ServerMembersArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also print protocol versions and every tag.
    #[arg(long)]
    pub verbose: bool,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// A job, allocation, node or evaluation ID (or prefix).
    pub id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::argv::translate_args;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(translate_args(args.iter().copied())).unwrap()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn job_run_flags_parse_nomad_style() {
        let cli = parse(&[
            "nomadish",
            "job",
            "run",
            "-detach",
            "-check-index",
            "7",
            "-address=http://10.1.2.3:4646",
            "-token",
            "s3cret",
            "web.hcl",
        ]);
        let Command::Job(JobCommand::Run(args)) = cli.command else {
            panic!("not job run");
        };
        assert!(args.detach);
        assert_eq!(args.check_index, Some(7));
        assert_eq!(args.file, PathBuf::from("web.hcl"));
        let cfg = args.api.config();
        assert_eq!(cfg.address, "http://10.1.2.3:4646");
        assert_eq!(cfg.token.as_deref(), Some("s3cret"));
    }

    #[test]
    fn alloc_logs_short_flags() {
        let cli = parse(&[
            "nomadish", "alloc", "logs", "-f", "-stderr", "-tail", "-n", "5", "abcd", "web",
        ]);
        let Command::Alloc(AllocCommand::Logs(args)) = cli.command else {
            panic!("not alloc logs");
        };
        assert!(args.follow && args.stderr && args.tail);
        assert_eq!(args.lines, Some(5));
        assert_eq!(args.alloc, "abcd");
        assert_eq!(args.task.as_deref(), Some("web"));
    }

    #[test]
    fn tls_flags_parse_nomad_style() {
        let cli = parse(&[
            "nomadish",
            "node",
            "status",
            "-address=https://127.0.0.1:4646",
            "-ca-cert",
            "ca.pem",
            "-client-cert=cli.pem",
            "-client-key",
            "cli-key.pem",
            "-tls-server-name",
            "server.global.nomadish",
            "-tls-skip-verify",
        ]);
        let Command::Node(NodeCommand::Status(args)) = cli.command else {
            panic!("not node status");
        };
        let tls = args.api.config().tls;
        assert_eq!(tls.ca_cert, Some(PathBuf::from("ca.pem")));
        assert_eq!(tls.client_cert, Some(PathBuf::from("cli.pem")));
        assert_eq!(tls.client_key, Some(PathBuf::from("cli-key.pem")));
        assert_eq!(tls.server_name.as_deref(), Some("server.global.nomadish"));
        assert!(tls.skip_verify);
    }

    #[test]
    fn tls_commands_parse() {
        use crate::cli::tls::{TlsCaCommand, TlsCertCommand};
        let cli = parse(&[
            "nomadish",
            "tls",
            "cert",
            "create",
            "-server",
            "-region",
            "eu",
            "-additional-dnsname",
            "a.example",
            "-additional-dnsname=b.example",
            "-additional-ipaddress",
            "10.0.0.1",
        ]);
        let Command::Tls(TlsCommand::Cert(TlsCertCommand::Create(args))) = cli.command else {
            panic!("not tls cert create");
        };
        assert!(args.server && !args.client && !args.cli);
        assert_eq!(args.region, "eu");
        assert_eq!(args.additional_dnsname, ["a.example", "b.example"]);
        assert_eq!(args.days, 365);
        let cli = parse(&["nomadish", "tls", "ca", "create", "-days", "10"]);
        let Command::Tls(TlsCommand::Ca(TlsCaCommand::Create(args))) = cli.command else {
            panic!("not tls ca create");
        };
        assert_eq!((args.days, args.domain.as_str()), (10, "nomadish"));
        for bad in [
            &["nomadish", "tls", "cert", "create"][..],
            &["nomadish", "tls", "cert", "create", "-server", "-client"],
        ] {
            let argv = translate_args(bad.iter().copied());
            assert!(Cli::try_parse_from(argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn read_commands_take_json() {
        for argv in [
            &["nomadish", "job", "status", "-json"][..],
            &["nomadish", "node", "status", "-json"],
            &["nomadish", "eval", "status", "-json", "abcd"],
            &["nomadish", "alloc", "status", "-json", "abcd"],
            &["nomadish", "server", "members", "-json"],
        ] {
            parse(argv);
        }
    }
}

/// `deployment` subcommands.
#[derive(Debug, Subcommand)]
pub enum DeploymentCommand {
    /// Lists deployments.
    List(DeploymentListArgs),
    /// Shows a deployment.
    Status(DeploymentArgs),
    /// Promotes a deployment's canaries.
    Promote(DeploymentPromoteArgs),
    /// Marks a deployment failed.
    Fail(DeploymentArgs),
    /// Pauses a deployment.
    Pause(DeploymentArgs),
    /// Resumes a paused deployment.
    Resume(DeploymentArgs),
}

/// `deployment list`.
#[derive(Debug, Args)]
pub struct DeploymentListArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
}

/// `deployment status|fail|pause|resume ID`.
#[derive(Debug, Args)]
pub struct DeploymentArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print full IDs and the deployment's allocations.
    #[arg(long)]
    pub verbose: bool,
    /// Do not monitor the evaluation the action creates.
    #[arg(long)]
    pub detach: bool,
    /// A deployment ID or prefix.
    pub deployment: String,
}

/// `deployment promote [-group G]... ID`.
#[derive(Debug, Args)]
pub struct DeploymentPromoteArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Promote only this group's canaries (repeatable); all groups when absent.
    #[arg(long)]
    pub group: Vec<String>,
    /// Do not monitor the evaluation the promotion creates.
    #[arg(long)]
    pub detach: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// A deployment ID or prefix.
    pub deployment: String,
}

/// Jobspec variable values for `job run`, `job plan` and `job validate` (`NOMAD_VAR_<name>`
/// environment variables are read too; `-var` beats `-var-file` beats the environment).
#[derive(Debug, Args, Default, Clone)]
pub struct VarOpts {
    /// Sets a jobspec variable: `-var name=value` (repeatable; the last one wins).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub var: Vec<(String, String)>,
    /// Reads variable values from an HCL (`name = value`) or `.json` file (repeatable; later
    /// files win).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_file: Vec<PathBuf>,
}

/// `name=value` of `-var`.
fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("{text:?} is not name=value")),
    }
}

#[cfg(test)]
mod var_opts_tests {
    use clap::Parser;

    use super::*;
    use crate::cli::argv::translate_args;

    #[test]
    fn var_and_var_file_repeat_in_order() {
        let argv = [
            "nomadish",
            "job",
            "validate",
            "-var",
            "a=1",
            "-var=b=x=y",
            "-var-file",
            "one.vars",
            "-var-file=two.json",
            "job.hcl",
        ];
        let cli = Cli::try_parse_from(translate_args(argv)).expect("parses");
        let Command::Job(JobCommand::Validate(args)) = cli.command else {
            panic!("not job validate");
        };
        assert_eq!(
            args.vars.var,
            [
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x=y".to_string())
            ]
        );
        assert_eq!(
            args.vars.var_file,
            [PathBuf::from("one.vars"), PathBuf::from("two.json")]
        );
        let bad = ["nomadish", "job", "run", "-var", "novalue", "job.hcl"];
        assert!(Cli::try_parse_from(translate_args(bad)).is_err());
    }
}
