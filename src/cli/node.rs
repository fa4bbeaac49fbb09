//! `node status`: the nodes list, or one node's fields, events, allocated resources and
//! allocations, laid out as Nomad does.

use nomadish_proto::model::{ALLOC_CLIENT_RUNNING, Allocation, Node, NodeListStub, now_ns};

use super::api::{ApiClient, escape_segment};
use super::args::NodeStatusArgs;
use super::format::{
    SHORT_ID_LENGTH, format_kv, format_list, format_unix_nanos, id_length, limit, mib, pretty_json,
};
use super::job_status::alloc_table;
use super::prefix::{Lookup, LookupError};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// The node prefix lookup.
pub const NODE_LOOKUP: Lookup<'static, NodeListStub> = Lookup {
    path: "/v1/nodes",
    kind_any: "node(s)",
    kind_many: "nodes",
    context: "Error querying node info",
    id: |n| n.id.as_str(),
    listing: |nodes| {
        let mut rows = vec![
            [
                "ID",
                "DC",
                "Name",
                "Class",
                "Drain",
                "Eligibility",
                "Status",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for n in nodes {
            rows.push(vec![
                limit(&n.id, SHORT_ID_LENGTH).to_string(),
                n.datacenter.clone(),
                n.name.clone(),
                n.node_class.clone(),
                n.drain.to_string(),
                n.scheduling_eligibility.clone(),
                n.status.clone(),
            ]);
        }
        format_list(&rows)
    },
    min_two_chars: true,
};

/// `node status [NODE]`.
pub async fn status(args: NodeStatusArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    match &args.node {
        None => list(&api, args.json, args.verbose).await,
        Some(prefix) => show(&api, prefix.trim(), args.json, args.verbose).await,
    }
}

async fn list(api: &ApiClient, json: bool, verbose: bool) -> i32 {
    let nodes: Vec<NodeListStub> = match api.get("/v1/nodes", &[]).await {
        Ok(resp) => resp.body,
        Err(e) => {
            eprintln!("Error querying node status: {e}");
            return EXIT_ERROR;
        }
    };
    if json {
        println!("{}", pretty_json(&nodes));
    } else if nodes.is_empty() {
        println!("No nodes registered");
    } else {
        println!("{}", node_list_table(&nodes, verbose));
    }
    EXIT_OK
}

/// The nodes table (ID, Node Pool, DC, Name, Class, [Address, Version,] Drain, Eligibility, Status).
pub fn node_list_table(nodes: &[NodeListStub], verbose: bool) -> String {
    let mut header = vec!["ID", "Node Pool", "DC", "Name", "Class"];
    if verbose {
        header.extend(["Address", "Version"]);
    }
    header.extend(["Drain", "Eligibility", "Status"]);
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for n in nodes {
        let mut row = vec![
            limit(&n.id, id_length(verbose)).to_string(),
            n.node_pool.clone(),
            n.datacenter.clone(),
            n.name.clone(),
            n.node_class.clone(),
        ];
        if verbose {
            row.extend([n.address.clone(), n.version.clone()]);
        }
        row.extend([
            n.drain.to_string(),
            n.scheduling_eligibility.clone(),
            n.status.clone(),
        ]);
        rows.push(row);
    }
    format_list(&rows)
}

async fn show(api: &ApiClient, prefix: &str, json: bool, verbose: bool) -> i32 {
    let (node, allocs) = match fetch_node(api, prefix).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    if json {
        println!("{}", pretty_json(&node));
    } else {
        println!(
            "{}",
            render_node(&node, &allocs, id_length(verbose), now_ns())
        );
    }
    EXIT_OK
}

/// Resolves a node prefix; reads the node and its allocations.
pub async fn fetch_node(
    api: &ApiClient,
    prefix: &str,
) -> Result<(Node, Vec<Allocation>), LookupError> {
    let stub = NODE_LOOKUP.find(api, prefix).await?;
    let path = format!("/v1/node/{}", escape_segment(&stub.id));
    let api_err = |context: &str| {
        let context = context.to_string();
        move |source| LookupError::Api { context, source }
    };
    let node = api
        .get(&path, &[])
        .await
        .map_err(api_err("Error querying node info"))?
        .body;
    let allocs = api
        .get(&format!("{path}/allocations"), &[])
        .await
        .map_err(api_err("Error querying node allocations"))?
        .body;
    Ok((node, allocs))
}

/// Healthy detected drivers by name, unhealthy ones marked.
fn drivers(node: &Node) -> String {
    node.drivers
        .iter()
        .filter(|(_, d)| d.detected)
        .map(|(name, d)| {
            if d.healthy {
                name.clone()
            } else {
                format!("{name} (unhealthy)")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The text of `node status NODE`.
pub fn render_node(node: &Node, allocs: &[Allocation], length: usize, now: i64) -> String {
    let mut out = format_kv(&[
        ("ID", node.id.clone()),
        ("Name", node.name.clone()),
        ("Node Pool", node.node_pool.clone()),
        ("Class", node.node_class.clone()),
        ("DC", node.datacenter.clone()),
        ("Drain", node.drain_strategy.is_some().to_string()),
        ("Eligibility", node.scheduling_eligibility.clone()),
        ("Status", node.status.clone()),
        ("Drivers", drivers(node)),
    ]);
    let mut events = vec![["Time", "Subsystem", "Message"].map(String::from).to_vec()];
    for e in node.events.iter().rev() {
        events.push(vec![
            format_unix_nanos(e.timestamp),
            e.subsystem.clone(),
            e.message.clone(),
        ]);
    }
    out.push_str("\n\nNode Events\n");
    out.push_str(&format_list(&events));
    out.push_str("\n\nAllocated Resources\n");
    out.push_str(&allocated_resources(node, allocs));
    let stubs: Vec<_> = allocs.iter().map(Allocation::stub).collect();
    out.push_str("\n\nAllocations\n");
    out.push_str(&alloc_table(&stubs, length, now));
    out
}

/// `CPU | Memory | Disk | Alloc Count` used by running allocations out of what the node offers.
fn allocated_resources(node: &Node, allocs: &[Allocation]) -> String {
    let running: Vec<&Allocation> = allocs
        .iter()
        .filter(|a| a.client_status == ALLOC_CLIENT_RUNNING)
        .collect();
    let cpu: i64 = running.iter().map(|a| a.allocated_resources.cpu()).sum();
    let mem: i64 = running
        .iter()
        .map(|a| a.allocated_resources.memory_mb())
        .sum();
    let disk: i64 = running
        .iter()
        .map(|a| a.allocated_resources.disk_mb())
        .sum();
    let rows = vec![
        ["CPU", "Memory", "Disk", "Alloc Count"]
            .map(String::from)
            .to_vec(),
        vec![
            format!("{cpu}/{} MHz", node.allocatable_cpu()),
            format!("{}/{}", mib(mem), mib(node.allocatable_memory_mb())),
            format!("{}/{}", mib(disk), mib(node.allocatable_disk_mb())),
            running.len().to_string(),
        ],
    ];
    format_list(&rows)
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
