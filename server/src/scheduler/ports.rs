//! Host ports: a group's `network { port "x" { static = N }  port "y" {} }`.
//!
//! ```text
//!   node's reserved host ports ─┐
//!   live allocations' ports ────┼──> PortSet (per node, built on first visit)
//!   this plan's placements ─────┘        │
//!   ask: static ports ──collision?──> "network: reserved port collision <label>=<port>"
//!   ask: N dynamic ports ──fewer than N free in the range?──> "network: dynamic port selection failed"
//!   placed: statics as given; dynamics picked at random in the node's range (seeded), then
//!           by a linear scan once random picks keep colliding (as Nomad)
//! ```
//!
//! Assigned ports are recorded on the allocation in Nomad's shape:
//! `AllocatedResources.Shared.Networks[].{ReservedPorts,DynamicPorts}[].Value` and
//! `AllocatedResources.Shared.Ports[] {Label, Value, To, HostIP}`.

use nomadish_proto::model::{AllocatedPort, Allocation, NetworkResource, Node, TaskGroup};

use super::nodes::NodeTable;
use super::util::Rng;

/// Random picks tried per dynamic port before scanning the range (Nomad's `maxRandPortAttempts`).
const MAX_RANDOM_PORT_ATTEMPTS: usize = 20;

/// The node attribute holding the address allocations' ports are bound on.
const NODE_IP_ATTRIBUTE: &str = "unique.network.ip-address";

/// The host ports one allocation of a group asks for.
#[derive(Debug, Default)]
pub(crate) struct PortAsk {
    /// `(label, port)` of every static port.
    statics: Vec<(String, u16)>,
    /// How many dynamic ports.
    dynamic: usize,
}

impl PortAsk {
    pub(crate) fn new(group: &TaskGroup) -> Self {
        let mut ask = Self::default();
        for n in &group.networks {
            let statics = n.reserved_ports.iter().filter(|p| p.value != 0);
            ask.statics
                .extend(statics.map(|p| (p.label.clone(), p.value)));
            ask.dynamic += n.dynamic_ports.len();
        }
        ask
    }

    /// Whether the group asks for no host port.
    pub(crate) fn is_empty(&self) -> bool {
        self.statics.is_empty() && self.dynamic == 0
    }
}

/// Why a node cannot give the group its ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortFailure {
    /// A static port is already taken on the node.
    Collision { label: String, port: u16 },
    /// Not enough free ports left in the dynamic range.
    Exhausted,
}

impl PortFailure {
    /// The `DimensionExhausted` key, worded as Nomad's.
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::Collision { label, port } => {
                format!("network: reserved port collision {label}={port}")
            }
            Self::Exhausted => "network: dynamic port selection failed".to_string(),
        }
    }
}

/// The host ports in use on one node: a sorted list (nodes hold few ports, and most nodes a
/// scheduling call visits hold none, so this stays small and cheap to build).
#[derive(Clone)]
pub(crate) struct PortSet {
    used: Vec<u16>,
    range: (u16, u16),
    /// Used ports inside the dynamic range.
    dynamic_used: usize,
}

impl PortSet {
    fn new(range: (u16, u16)) -> Self {
        Self {
            used: Vec::new(),
            range,
            dynamic_used: 0,
        }
    }

    pub(crate) fn contains(&self, port: u16) -> bool {
        self.used.binary_search(&port).is_ok()
    }

    /// Marks a port used; returns false when it already was.
    pub(crate) fn insert(&mut self, port: u16) -> bool {
        let Err(at) = self.used.binary_search(&port) else {
            return false;
        };
        self.used.insert(at, port);
        if (self.range.0..=self.range.1).contains(&port) {
            self.dynamic_used += 1;
        }
        true
    }

    fn remove(&mut self, port: u16) {
        if let Ok(at) = self.used.binary_search(&port) {
            self.used.remove(at);
            if (self.range.0..=self.range.1).contains(&port) {
                self.dynamic_used -= 1;
            }
        }
    }

    fn dynamic_free(&self) -> usize {
        usize::from(self.range.1 - self.range.0) + 1 - self.dynamic_used
    }

    /// Whether the ask fits next to what is used.
    fn check(&self, ask: &PortAsk) -> Result<(), PortFailure> {
        let mut statics_in_range = 0;
        for (i, (label, port)) in ask.statics.iter().enumerate() {
            let repeated = ask.statics[..i].iter().any(|(_, p)| p == port);
            if self.contains(*port) || repeated {
                return Err(PortFailure::Collision {
                    label: label.clone(),
                    port: *port,
                });
            }
            statics_in_range += usize::from((self.range.0..=self.range.1).contains(port));
        }
        if ask.dynamic + statics_in_range > self.dynamic_free() {
            return Err(PortFailure::Exhausted);
        }
        Ok(())
    }

    /// A free port of the dynamic range: random picks first, then a scan.
    fn pick_dynamic(&mut self, rng: &mut Rng) -> Option<u16> {
        let (lo, hi) = self.range;
        let span = u64::from(hi - lo) + 1;
        for _ in 0..MAX_RANDOM_PORT_ATTEMPTS {
            let port = lo + u16::try_from(rng.below(span)).unwrap_or(0);
            if self.insert(port) {
                return Some(port);
            }
        }
        let port = (lo..=hi).find(|&p| !self.contains(p))?;
        self.insert(port);
        Some(port)
    }
}

/// Per node, the ports in use (built on first visit).
#[derive(Default)]
pub(crate) struct PortTable {
    sets: Vec<Option<PortSet>>,
}

impl PortTable {
    pub(crate) fn new(nodes: usize) -> Self {
        Self {
            sets: vec![None; nodes],
        }
    }
}

/// The ports held on a node before this plan's placements: node-reserved ports and those
/// of the given live allocations.
pub(crate) fn port_set<'a>(node: &Node, live: impl Iterator<Item = &'a Allocation>) -> PortSet {
    let mut set = PortSet::new(node.node_resources.dynamic_port_range());
    for port in node.reserved_resources.networks.ports() {
        set.insert(port);
    }
    for alloc in live {
        for port in alloc.allocated_resources.host_ports() {
            set.insert(port);
        }
    }
    set
}

impl NodeTable<'_> {
    fn ports_of(&mut self, idx: usize) -> &mut PortSet {
        let set = match self.ports.sets[idx].take() {
            Some(set) => set,
            None => {
                let live = self.live_allocs(idx);
                port_set(&self.nodes[idx], live.iter().map(|a| a.as_ref()))
            }
        };
        self.ports.sets[idx].insert(set)
    }

    /// Whether the node can give one allocation of the group its ports.
    pub(crate) fn check_ports(&mut self, idx: usize, ask: &PortAsk) -> Result<(), PortFailure> {
        if ask.is_empty() {
            return Ok(());
        }
        self.ports_of(idx).check(ask)
    }

    /// Reserves the group's ports on the node and writes them into the allocation's shared
    /// networks and ports. The node must have passed [`NodeTable::check_ports`].
    pub(crate) fn assign_ports(
        &mut self,
        idx: usize,
        group: &TaskGroup,
        ask: &PortAsk,
        alloc: &mut Allocation,
        rng: &mut Rng,
    ) {
        if ask.is_empty() {
            return;
        }
        let ip = self.nodes[idx]
            .attributes
            .get(NODE_IP_ATTRIBUTE)
            .cloned()
            .unwrap_or_default();
        let set = self.ports_of(idx);
        let mut networks: Vec<NetworkResource> = group.networks.clone();
        let mut ports = Vec::new();
        for n in &mut networks {
            n.ip.clone_from(&ip);
            for p in &mut n.reserved_ports {
                set.insert(p.value);
            }
            for p in &mut n.dynamic_ports {
                p.value = set.pick_dynamic(rng).unwrap_or(0);
            }
            let listed = n.reserved_ports.iter().chain(n.dynamic_ports.iter());
            ports.extend(listed.map(|p| AllocatedPort {
                label: p.label.clone(),
                value: p.value,
                to: if p.to == -1 { i32::from(p.value) } else { p.to },
                host_ip: ip.clone(),
            }));
        }
        alloc.allocated_resources.shared.networks = networks;
        alloc.allocated_resources.shared.ports = ports;
    }

    /// Frees an evicted allocation's ports.
    pub(crate) fn release_ports(&mut self, idx: usize, alloc: &Allocation) {
        if let Some(set) = self.ports.sets[idx].as_mut() {
            for p in alloc.allocated_resources.host_ports() {
                set.remove(p);
            }
        }
    }

    /// Marks an allocation's ports used again (its stop was taken back); false when one of
    /// them was given to a placement in the meantime.
    pub(crate) fn reclaim_ports(&mut self, idx: usize, alloc: &Allocation) -> bool {
        let Some(set) = self.ports.sets[idx].as_mut() else {
            return true; // not built yet: it will include the allocation
        };
        let held = alloc.allocated_resources.host_ports();
        if held.iter().any(|&p| set.contains(p)) {
            return false;
        }
        for p in held {
            set.insert(p);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::Port;

    fn group(statics: &[(&str, u16)], dynamic: &[&str]) -> TaskGroup {
        let net = NetworkResource {
            reserved_ports: statics
                .iter()
                .map(|(l, v)| Port {
                    label: (*l).into(),
                    value: *v,
                    ..Default::default()
                })
                .collect(),
            dynamic_ports: dynamic
                .iter()
                .map(|l| Port {
                    label: (*l).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        TaskGroup {
            networks: vec![net],
            ..TaskGroup::default()
        }
    }

    #[test]
    fn static_collision_is_reported_with_label() {
        let mut set = PortSet::new((20000, 32000));
        set.insert(8080);
        let ask = PortAsk::new(&group(&[("http", 8080)], &[]));
        let err = set.check(&ask).unwrap_err();
        assert_eq!(err.reason(), "network: reserved port collision http=8080");
    }

    #[test]
    fn dynamic_exhaustion_counts_free_ports_in_range() {
        let mut set = PortSet::new((20000, 20002));
        set.insert(20001);
        assert!(set.check(&PortAsk::new(&group(&[], &["a", "b"]))).is_ok());
        let three = PortAsk::new(&group(&[], &["a", "b", "c"]));
        assert_eq!(set.check(&three), Err(PortFailure::Exhausted));
        assert_eq!(
            PortFailure::Exhausted.reason(),
            "network: dynamic port selection failed"
        );
    }

    #[test]
    fn dynamic_picks_are_free_distinct_and_seeded() {
        let pick_all = |seed| {
            let mut set = PortSet::new((20000, 20009));
            set.insert(20003);
            let mut rng = Rng::new(seed);
            (0..9)
                .map(|_| set.pick_dynamic(&mut rng).expect("free port"))
                .collect::<Vec<_>>()
        };
        let a = pick_all(1);
        assert_eq!(a, pick_all(1));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 9);
        assert!(!a.contains(&20003));
    }
}
