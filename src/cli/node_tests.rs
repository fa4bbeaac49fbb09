//! Layout tests of `node status`.

use super::*;
use nomadish_proto::model::{AllocatedTaskResources, DriverInfo, NodeEvent};

const S: i64 = 1_000_000_000;
const NOW: i64 = 1_709_210_096 * S;

fn stub(id: &str, name: &str) -> NodeListStub {
    NodeListStub {
        id: id.into(),
        name: name.into(),
        datacenter: "dc1".into(),
        node_pool: "default".into(),
        scheduling_eligibility: "eligible".into(),
        status: "ready".into(),
        address: "10.0.0.5".into(),
        version: "0.1.0".into(),
        ..Default::default()
    }
}

#[test]
fn node_list_layout() {
    let nodes = vec![
        stub("f7476465-1111-2222-3333-444455556666", "node-1"),
        stub("aa001122-1111-2222-3333-444455556666", "a-much-longer-name"),
    ];
    let expected = "\
ID        Node Pool  DC   Name                Class   Drain  Eligibility  Status
f7476465  default    dc1  node-1              <none>  false  eligible     ready
aa001122  default    dc1  a-much-longer-name  <none>  false  eligible     ready";
    assert_eq!(node_list_table(&nodes, false), expected);
    let verbose = node_list_table(&nodes, true);
    assert!(verbose.starts_with("ID                                    Node Pool  DC   Name"));
    assert!(verbose.contains("Address   Version  Drain"));
}

#[test]
fn node_status_layout() {
    let mut node = Node {
        id: "f7476465-1111-2222-3333-444455556666".into(),
        name: "node-1".into(),
        node_pool: "default".into(),
        datacenter: "dc1".into(),
        scheduling_eligibility: "eligible".into(),
        status: "ready".into(),
        ..Default::default()
    };
    node.node_resources.cpu.cpu_shares = 4000;
    node.node_resources.memory.memory_mb = 8192;
    node.node_resources.disk.disk_mb = 10240;
    node.drivers.insert(
        "raw_exec".into(),
        DriverInfo {
            detected: true,
            healthy: true,
            ..Default::default()
        },
    );
    node.drivers.insert(
        "docker".into(),
        DriverInfo {
            detected: true,
            healthy: false,
            ..Default::default()
        },
    );
    node.events.push(NodeEvent {
        message: "Node registered".into(),
        subsystem: "Cluster".into(),
        timestamp: NOW - 60 * S,
        ..Default::default()
    });
    let mut alloc = Allocation {
        id: "8ba85cef-1111-2222-3333-444455556666".into(),
        node_id: node.id.clone(),
        task_group: "cache".into(),
        desired_status: "run".into(),
        client_status: "running".into(),
        create_time: NOW - 30 * S,
        modify_time: NOW - 30 * S,
        ..Default::default()
    };
    let mut res = AllocatedTaskResources::default();
    res.cpu.cpu_shares = 500;
    res.memory.memory_mb = 256;
    alloc.allocated_resources.tasks.insert("redis".into(), res);
    alloc.allocated_resources.shared.disk_mb = 300;
    let text = render_node(&node, &[alloc], 8, NOW);
    let expected = "\
ID          = f7476465-1111-2222-3333-444455556666
Name        = node-1
Node Pool   = default
Class       = <none>
DC          = dc1
Drain       = false
Eligibility = eligible
Status      = ready
Drivers     = docker (unhealthy),raw_exec

Node Events
Time                  Subsystem  Message
2024-02-29T12:33:56Z  Cluster    Node registered

Allocated Resources
CPU           Memory           Disk            Alloc Count
500/4000 MHz  256 MiB/8.0 GiB  300 MiB/10 GiB  1

Allocations
ID        Node ID   Task Group  Version  Desired  Status   Created  Modified
8ba85cef  f7476465  cache       0        run      running  30s ago  30s ago";
    assert_eq!(text, expected);
}
