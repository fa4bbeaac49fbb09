//! The port variables of an allocation's host ports, as Nomad sets them:
//!
//! ```text
//!   NOMAD_PORT_<label>       the port the task binds: `to` when mapped, else the host port
//!   NOMAD_HOST_PORT_<label>  the host port
//!   NOMAD_IP_<label>, NOMAD_HOST_IP_<label>      the host IP
//!   NOMAD_ADDR_<label>, NOMAD_HOST_ADDR_<label>  host IP:host port
//! ```
//!
//! Labels are taken as written (Nomad does not rewrite them); the ports come from
//! `AllocatedResources.Shared.Ports`, or from the shared networks of allocations that carry
//! no `Ports` list.

use std::collections::BTreeMap;

use nomadish_proto::model::{AllocatedPort, Allocation};

/// Adds the port variables of the allocation to `v`.
pub(super) fn port_vars(alloc: &Allocation, v: &mut BTreeMap<String, String>) {
    for p in allocated_ports(alloc) {
        let label = &p.label;
        let bind = if p.to > 0 {
            p.to.to_string()
        } else {
            p.value.to_string()
        };
        let addr = format!("{}:{}", p.host_ip, p.value);
        v.insert(format!("NOMAD_PORT_{label}"), bind);
        v.insert(format!("NOMAD_HOST_PORT_{label}"), p.value.to_string());
        v.insert(format!("NOMAD_IP_{label}"), p.host_ip.clone());
        v.insert(format!("NOMAD_HOST_IP_{label}"), p.host_ip.clone());
        v.insert(format!("NOMAD_ADDR_{label}"), addr.clone());
        v.insert(format!("NOMAD_HOST_ADDR_{label}"), addr);
    }
}

fn allocated_ports(alloc: &Allocation) -> Vec<AllocatedPort> {
    let shared = &alloc.allocated_resources.shared;
    if !shared.ports.is_empty() {
        return shared.ports.clone();
    }
    let mut out = Vec::new();
    for n in &shared.networks {
        for p in n.reserved_ports.iter().chain(n.dynamic_ports.iter()) {
            if p.value != 0 {
                out.push(AllocatedPort {
                    label: p.label.clone(),
                    value: p.value,
                    to: p.to,
                    host_ip: n.ip.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_become_nomad_variables() {
        let mut alloc = Allocation::default();
        alloc.allocated_resources.shared.ports = vec![
            AllocatedPort {
                label: "http".into(),
                value: 8080,
                to: 0,
                host_ip: "10.0.0.1".into(),
            },
            AllocatedPort {
                label: "db".into(),
                value: 23456,
                to: 5432,
                host_ip: "10.0.0.1".into(),
            },
        ];
        let mut v = BTreeMap::new();
        port_vars(&alloc, &mut v);
        assert_eq!(v["NOMAD_PORT_http"], "8080");
        assert_eq!(v["NOMAD_HOST_PORT_http"], "8080");
        assert_eq!(v["NOMAD_ADDR_http"], "10.0.0.1:8080");
        assert_eq!(v["NOMAD_PORT_db"], "5432");
        assert_eq!(v["NOMAD_HOST_PORT_db"], "23456");
        assert_eq!(v["NOMAD_IP_db"], "10.0.0.1");
        assert_eq!(v["NOMAD_HOST_ADDR_db"], "10.0.0.1:23456");
    }
}
