//! The registrations of an allocation's services, as Nomad forms them: ID
//! `_nomad-task-<alloc>-<task | group-<group>>-<service>-<port label>`, address from the
//! service's `address`, else the port's host IP, else the node's advertised address; port the
//! allocated host port of the label (or the number given).

use nomadish_proto::model::{
    Allocation, Node, SERVICE_PROVIDER_NOMAD, Service, ServiceRegistration, TaskGroup,
    service_registration_id,
};

/// Whose services: the group's, or one task's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    Group,
    Task(String),
}

impl Owner {
    /// The owner part of registration IDs (`group-<name>` for group services, as Nomad).
    pub fn id_part(&self, group: &str) -> String {
        match self {
            Owner::Group => format!("group-{group}"),
            Owner::Task(t) => t.clone(),
        }
    }

    /// The owner's `provider = "nomad"` services.
    pub fn services<'g>(&self, group: &'g TaskGroup) -> Vec<&'g Service> {
        let all = match self {
            Owner::Group => group.services.iter().collect::<Vec<_>>(),
            Owner::Task(t) => group
                .task(t)
                .map(|t| t.services.iter().collect())
                .unwrap_or_default(),
        };
        all.into_iter()
            .filter(|s| s.provider == SERVICE_PROVIDER_NOMAD)
            .collect()
    }
}

/// The host IP and port of a port label of the allocation.
pub fn allocated_port(alloc: &Allocation, label: &str) -> Option<(String, u16)> {
    let shared = &alloc.allocated_resources.shared;
    if let Some(p) = shared.ports.iter().find(|p| p.label == label) {
        return Some((p.host_ip.clone(), p.value));
    }
    let task_networks = alloc
        .allocated_resources
        .tasks
        .values()
        .flat_map(|t| &t.networks);
    shared.networks.iter().chain(task_networks).find_map(|n| {
        n.reserved_ports
            .iter()
            .chain(&n.dynamic_ports)
            .find(|p| p.label == label && p.value != 0)
            .map(|p| (n.ip.clone(), p.value))
    })
}

/// The node's advertised address (host part of its HTTP address).
pub fn node_address(node: &Node) -> String {
    if let Some(ip) = node.attributes.get("unique.network.ip-address") {
        return ip.clone();
    }
    node.http_addr
        .rsplit_once(':')
        .map(|(host, _)| host.trim_matches(['[', ']']).to_string())
        .unwrap_or_else(|| "127.0.0.1".to_string())
}

/// The address and port a service (or a check's `port`) resolves to.
pub fn resolve(alloc: &Allocation, node: &Node, address: &str, label: &str) -> (String, u16) {
    let (host_ip, port) = match label.parse::<u16>() {
        Ok(n) => (String::new(), n),
        Err(_) => allocated_port(alloc, label).unwrap_or_default(),
    };
    let address = if !address.is_empty() {
        address.to_string()
    } else if !host_ip.is_empty() {
        host_ip
    } else {
        node_address(node)
    };
    (address, port)
}

/// The registrations of one owner's services in this allocation.
pub fn registrations(
    alloc: &Allocation,
    node: &Node,
    group: &TaskGroup,
    owner: &Owner,
) -> Vec<ServiceRegistration> {
    let canary = alloc.deployment_status.as_ref().is_some_and(|d| d.canary);
    owner
        .services(group)
        .into_iter()
        .map(|s| {
            let (address, port) = resolve(alloc, node, &s.address, &s.port_label);
            let tags = if canary && !s.canary_tags.is_empty() {
                s.canary_tags.clone()
            } else {
                s.tags.clone()
            };
            ServiceRegistration {
                id: service_registration_id(
                    &alloc.id,
                    &owner.id_part(&group.name),
                    &s.name,
                    &s.port_label,
                ),
                service_name: s.name.clone(),
                namespace: alloc.namespace.clone(),
                node_id: node.id.clone(),
                datacenter: node.datacenter.clone(),
                job_id: alloc.job_id.clone(),
                alloc_id: alloc.id.clone(),
                tags,
                address,
                port,
                create_index: 0,
                modify_index: 0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::{AllocatedPort, Task};

    #[test]
    fn ids_addresses_and_ports_follow_nomad() {
        let mut alloc = Allocation {
            id: "a1".into(),
            namespace: "default".into(),
            job_id: "web".into(),
            ..Allocation::default()
        };
        alloc.allocated_resources.shared.ports.push(AllocatedPort {
            label: "http".into(),
            value: 24107,
            to: 0,
            host_ip: "127.0.0.1".into(),
        });
        let node = Node {
            id: "n1".into(),
            datacenter: "dc1".into(),
            http_addr: "10.0.0.5:4646".into(),
            ..Node::default()
        };
        let svc = |name: &str, port: &str| Service {
            name: name.into(),
            port_label: port.into(),
            provider: "nomad".into(),
            tags: vec!["v1".into()],
            ..Service::default()
        };
        let group = TaskGroup {
            name: "fe".into(),
            services: vec![
                svc("web", "http"),
                Service {
                    provider: "consul".into(),
                    ..svc("x", "http")
                },
            ],
            tasks: vec![Task {
                name: "srv".into(),
                services: vec![svc("admin", "9000")],
                ..Task::default()
            }],
            ..TaskGroup::default()
        };
        let regs = registrations(&alloc, &node, &group, &Owner::Group);
        assert_eq!(regs.len(), 1, "only nomad-provider services");
        let r = &regs[0];
        assert_eq!(r.id, "_nomad-task-a1-group-fe-web-http");
        assert_eq!(
            (r.address.as_str(), r.port, r.datacenter.as_str()),
            ("127.0.0.1", 24107, "dc1")
        );
        let regs = registrations(&alloc, &node, &group, &Owner::Task("srv".into()));
        assert_eq!(regs[0].id, "_nomad-task-a1-srv-admin-9000");
        assert_eq!((regs[0].address.as_str(), regs[0].port), ("10.0.0.5", 9000));
    }
}
