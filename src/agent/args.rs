//! `nomadish agent` flags. Flags override whatever the `-config` files say.

use std::path::PathBuf;

use clap::Args;

/// `agent`.
#[derive(Debug, Clone, Default, Args)]
pub struct AgentArgs {
    /// Development mode: one process runs a server and a client (raw_exec enabled),
    /// on 127.0.0.1, with state in a temporary directory.
    #[arg(long)]
    pub dev: bool,
    /// Run a server.
    #[arg(long)]
    pub server: bool,
    /// Run a client.
    #[arg(long)]
    pub client: bool,
    /// Configuration file or directory (of *.hcl files); repeatable, merged in order.
    #[arg(long = "config", value_name = "PATH")]
    pub configs: Vec<PathBuf>,
    /// Directory for the agent's state.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// IP address the HTTP and RPC listeners bind to.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Servers a client connects to (RPC addresses, HOST:PORT), comma separated.
    #[arg(long, value_name = "HOST:PORT", value_delimiter = ',')]
    pub servers: Vec<String>,
    /// The agent's name (the client's node name).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Datacenter of the agent.
    #[arg(long, value_name = "DC")]
    pub dc: Option<String>,
    /// Region of the agent.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The client's node class.
    #[arg(long, value_name = "CLASS")]
    pub node_class: Option<String>,
    /// The client's node pool.
    #[arg(long, value_name = "POOL")]
    pub node_pool: Option<String>,
    /// Client metadata as key=value; repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Servers expected before the cluster bootstraps.
    #[arg(long, value_name = "N")]
    pub bootstrap_expect: Option<usize>,
    /// RPC address of a server to join; repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    pub retry_join: Vec<String>,
    /// Log level: TRACE, DEBUG, INFO, WARN or ERROR (default INFO).
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log as JSON lines.
    #[arg(long)]
    pub log_json: bool,
    /// Require ACL tokens (as `acl { enabled = true }`).
    #[arg(long)]
    pub acl_enabled: bool,
    /// With -dev: once the agent answers, run this job file and print its tasks' output.
    #[arg(long = "run", value_name = "FILE")]
    pub run: Option<PathBuf>,
    /// With -run: the job file is JSON instead of HCL.
    #[arg(long = "run-json")]
    pub run_json: bool,
}
