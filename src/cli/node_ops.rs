//! `node eligibility` and `node drain` (with its monitor), as Nomad's CLI does them.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use nomadish_proto::model::{
    Allocation, DrainSpec, NODE_ELIGIBLE, NODE_INELIGIBLE, Node, NodeUpdateDrainRequest,
    NodeUpdateEligibilityRequest, NodeUpdateResponse, duration_ns,
};

use super::api::{ApiClient, escape_segment};
use super::args::ApiOpts;
use super::drain_monitor::DrainMonitor;
use super::format::now_stamp;
use super::node::NODE_LOOKUP;
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// `node drain`'s default deadline (Nomad's).
pub const DEFAULT_DRAIN_DEADLINE: Duration = Duration::from_secs(3600);
/// How often the drain monitor looks at the node.
const MONITOR_POLL: Duration = Duration::from_millis(500);

/// `node eligibility`.
#[derive(Debug, Args)]
pub struct NodeEligibilityArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Mark the node eligible for scheduling.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Mark the node ineligible for scheduling (running allocations stay).
    #[arg(long)]
    pub disable: bool,
    /// The node ID or prefix.
    pub node: String,
}

/// `node drain`.
#[derive(Debug, Args)]
pub struct NodeDrainArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Start draining the node.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Stop draining the node.
    #[arg(long)]
    pub disable: bool,
    /// How long the drain may take before remaining allocations are stopped (default 1h).
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with_all = ["force", "no_deadline"])]
    pub deadline: Option<Duration>,
    /// Drain without a deadline.
    #[arg(long, conflicts_with = "force")]
    pub no_deadline: bool,
    /// Stop every allocation at once, ignoring migrate blocks.
    #[arg(long)]
    pub force: bool,
    /// Leave system allocations running.
    #[arg(long)]
    pub ignore_system: bool,
    /// With -disable: keep the node ineligible.
    #[arg(long)]
    pub keep_ineligible: bool,
    /// Only watch an existing drain.
    #[arg(long)]
    pub monitor: bool,
    /// Return right after changing the drain.
    #[arg(long)]
    pub detach: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The node ID or prefix.
    pub node: String,
}

async fn node_id(api: &ApiClient, prefix: &str) -> Option<String> {
    match NODE_LOOKUP.find(api, prefix.trim()).await {
        Ok(stub) => Some(stub.id),
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

/// `node eligibility -enable|-disable NODE`.
pub async fn eligibility(args: NodeEligibilityArgs) -> i32 {
    if args.enable == args.disable {
        eprintln!("Either the '-enable' or '-disable' flag must be set");
        return EXIT_ERROR;
    }
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let Some(id) = node_id(&api, &args.node).await else {
        return EXIT_ERROR;
    };
    let eligibility = if args.enable {
        NODE_ELIGIBLE
    } else {
        NODE_INELIGIBLE
    };
    let body = NodeUpdateEligibilityRequest {
        node_id: id.clone(),
        eligibility: eligibility.to_string(),
    };
    let path = format!("/v1/node/{}/eligibility", escape_segment(&id));
    match api.put::<_, NodeUpdateResponse>(&path, &body, &[]).await {
        Ok(_) => {
            println!("Node {id:?} scheduling eligibility set: {eligibility} for scheduling");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("Error updating scheduling eligibility: {e}");
            EXIT_ERROR
        }
    }
}

/// The drain spec the flags ask for.
pub fn drain_spec(args: &NodeDrainArgs) -> DrainSpec {
    let deadline = if args.force {
        -1
    } else if args.no_deadline {
        0
    } else {
        duration_ns(args.deadline.unwrap_or(DEFAULT_DRAIN_DEADLINE))
    };
    DrainSpec {
        deadline,
        ignore_system_jobs: args.ignore_system,
    }
}

/// `node drain -enable|-disable|-monitor NODE`.
pub async fn drain(args: NodeDrainArgs) -> i32 {
    if u8::from(args.enable) + u8::from(args.disable) + u8::from(args.monitor) != 1 {
        eprintln!("Exactly one of -enable, -disable or -monitor must be set");
        return EXIT_ERROR;
    }
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let Some(id) = node_id(&api, &args.node).await else {
        return EXIT_ERROR;
    };
    if args.monitor {
        return monitor(&api, &id).await;
    }
    if !args.yes && !confirm(&id, args.enable).await {
        println!("Canceling drain");
        return EXIT_OK;
    }
    let body = NodeUpdateDrainRequest {
        node_id: id.clone(),
        drain_spec: args.enable.then(|| drain_spec(&args)),
        mark_eligible: args.disable && !args.keep_ineligible,
        ..NodeUpdateDrainRequest::default()
    };
    let path = format!("/v1/node/{}/drain", escape_segment(&id));
    if let Err(e) = api.put::<_, NodeUpdateResponse>(&path, &body, &[]).await {
        eprintln!("Error updating drain specification: {e}");
        return EXIT_ERROR;
    }
    if args.disable {
        println!("Node {id:?} drain strategy unset");
        return EXIT_OK;
    }
    if args.detach {
        println!("Node {id:?} drain strategy set");
        return EXIT_OK;
    }
    println!(
        "{}: Ctrl-C to stop monitoring: will not cancel the node drain",
        now_stamp()
    );
    println!("{}: Node {id:?} drain strategy set", now_stamp());
    monitor(&api, &id).await
}

/// Asks before changing the drain, as Nomad does; anything but `y` (or no terminal) says no.
async fn confirm(id: &str, enable: bool) -> bool {
    let verb = if enable { "enable" } else { "disable" };
    println!("Are you sure you want to {verb} drain mode for node {id:?}? [y/N]");
    if !std::io::stdin().is_terminal() {
        return false;
    }
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if line.trim().eq_ignore_ascii_case("y"))
}

/// Prints the drain's progress until it completes.
async fn monitor(api: &ApiClient, id: &str) -> i32 {
    let mut state = DrainMonitor::default();
    let node_path = format!("/v1/node/{}", escape_segment(id));
    let allocs_path = format!("/v1/node/{}/allocations", escape_segment(id));
    loop {
        let node: Node = match api.get(&node_path, &[]).await {
            Ok(r) => r.body,
            Err(e) => {
                eprintln!("Error monitoring node: {e}");
                return EXIT_ERROR;
            }
        };
        let allocs: Vec<Allocation> = match api.get(&allocs_path, &[]).await {
            Ok(r) => r.body,
            Err(e) => {
                eprintln!("Error monitoring allocations: {e}");
                return EXIT_ERROR;
            }
        };
        let progress = state.observe(&node, &allocs);
        for line in &progress.lines {
            println!("{}: {line}", now_stamp());
        }
        if progress.done {
            return EXIT_OK;
        }
        tokio::time::sleep(MONITOR_POLL).await;
    }
}
