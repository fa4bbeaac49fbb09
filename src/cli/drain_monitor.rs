//! `node drain -monitor`: what to print as a drain progresses, computed from successive
//! observations of the node and its allocations (no I/O here; [`super::node_ops`] polls).
//!
//! ```text
//!   observe(node, allocs) ──> lines:  Alloc "x" marked for migration
//!                                     Alloc "x" draining              (server stopped it)
//!                                     Alloc "x" status running -> complete
//!                                     Node "n" has marked all allocations for migration
//!                                     All allocations on node "n" have stopped
//!                                     Node "n" drain complete        (done = true)
//! ```

use std::collections::BTreeMap;

use nomadish_proto::model::{
    ALLOC_DESIRED_STOP, Allocation, JOB_TYPE_SYSBATCH, JOB_TYPE_SYSTEM, Node,
};

/// What the monitor has seen so far.
#[derive(Debug, Default)]
pub struct DrainMonitor {
    seen: BTreeMap<String, Seen>,
    all_marked: bool,
    all_stopped: bool,
    started: bool,
}

#[derive(Debug, Clone, Default)]
struct Seen {
    marked: bool,
    draining: bool,
    client_status: String,
}

/// One observation's output.
#[derive(Debug, Default, PartialEq)]
pub struct Progress {
    /// Lines to print, in order.
    pub lines: Vec<String>,
    /// The drain is over (complete or disabled).
    pub done: bool,
}

impl DrainMonitor {
    /// Takes one observation of the node and its allocations.
    pub fn observe(&mut self, node: &Node, allocs: &[Allocation]) -> Progress {
        let migrating: Vec<String> = allocs
            .iter()
            .filter(|a| a.desired_transition.migrate == Some(true))
            .map(|a| a.id.clone())
            .collect();
        let mut out = Progress::default();
        let ignore_system = node
            .drain_strategy
            .as_ref()
            .is_some_and(|s| s.ignore_system_jobs);
        for a in allocs {
            let short = nomadish_proto::model::short_id(&a.id).to_string();
            let prev = self.seen.get(&a.id).cloned();
            let mut now = prev.clone().unwrap_or_else(|| Seen {
                client_status: a.client_status.clone(),
                ..Seen::default()
            });
            if migrating.contains(&a.id) && !now.marked {
                now.marked = true;
                out.lines
                    .push(format!("Alloc {short:?} marked for migration"));
            }
            if a.desired_status == ALLOC_DESIRED_STOP && !now.draining && now.marked {
                now.draining = true;
                out.lines.push(format!("Alloc {short:?} draining"));
            }
            if prev.is_some() && now.client_status != a.client_status {
                out.lines.push(format!(
                    "Alloc {short:?} status {} -> {}",
                    now.client_status, a.client_status
                ));
                now.client_status = a.client_status.clone();
            }
            self.seen.insert(a.id.clone(), now);
        }
        let counted = |a: &&Allocation| {
            !(ignore_system && matches!(a.job_type(), JOB_TYPE_SYSTEM | JOB_TYPE_SYSBATCH))
        };
        let live: Vec<&Allocation> = allocs
            .iter()
            .filter(counted)
            .filter(|a| a.desired_status != ALLOC_DESIRED_STOP && !a.client_terminal())
            .collect();
        let running = allocs
            .iter()
            .filter(counted)
            .any(|a| !matches!(a.client_status.as_str(), "complete" | "failed" | "lost"));
        if self.started && !self.all_marked && live.iter().all(|a| migrating.contains(&a.id)) {
            self.all_marked = true;
            out.lines.push(format!(
                "Node {:?} has marked all allocations for migration",
                node.id
            ));
        }
        if self.started && !self.all_stopped && !running {
            self.all_stopped = true;
            out.lines.push(format!(
                "All allocations on node {:?} have stopped",
                node.id
            ));
        }
        self.started = true;
        if node.drain_strategy.is_none() {
            out.lines.push(format!("Node {:?} drain complete", node.id));
            out.done = true;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use nomadish_proto::model::DrainStrategy;

    use super::*;

    fn alloc(id: &str, desired: &str, client: &str, marked: bool) -> Allocation {
        let mut a = Allocation {
            id: id.into(),
            desired_status: desired.into(),
            client_status: client.into(),
            ..Allocation::default()
        };
        a.desired_transition.migrate = marked.then_some(true);
        a
    }

    #[test]
    fn reports_each_step_of_a_drain_once() {
        let mut node = Node {
            id: "n1".into(),
            drain_strategy: Some(DrainStrategy::default()),
            ..Node::default()
        };
        let mut m = DrainMonitor::default();
        let first = m.observe(&node, &[alloc("aaaaaaaa-1", "run", "running", false)]);
        assert!(first.lines.is_empty());
        let step = m.observe(&node, &[alloc("aaaaaaaa-1", "run", "running", true)]);
        assert_eq!(
            step.lines,
            [
                "Alloc \"aaaaaaaa\" marked for migration",
                "Node \"n1\" has marked all allocations for migration"
            ]
        );
        let step = m.observe(&node, &[alloc("aaaaaaaa-1", "stop", "complete", true)]);
        assert_eq!(
            step.lines,
            [
                "Alloc \"aaaaaaaa\" draining",
                "Alloc \"aaaaaaaa\" status running -> complete",
                "All allocations on node \"n1\" have stopped"
            ]
        );
        node.drain_strategy = None;
        let end = m.observe(&node, &[alloc("aaaaaaaa-1", "stop", "complete", true)]);
        assert_eq!(end.lines, ["Node \"n1\" drain complete"]);
        assert!(end.done);
    }
}
