//! The replicated state as the FSM keeps it: in-memory tables in persistent maps.
//!
//! ```text
//!   raft entry ──> fsm::apply(&mut StateView) ──> StateStore (RwLock) ──> watch(index)
//!                                                     │
//!                          snapshot(): O(1) clone ────┴──> scheduler, HTTP reads, node streams
//! ```
//!
//! Every table is an `imbl` persistent map of `Arc`s, so a snapshot is a handful of pointer
//! copies: readers and the scheduler work on a consistent, point-in-time view without holding
//! the lock. The view is stamped with the raft index it reflects; each table keeps the index of
//! its last change (for `X-Nomad-Index` and blocking queries).

mod acl;
mod deployments;
mod launch;
mod namespaces;
mod persist;
mod queries;
mod variables;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use imbl::{OrdMap, OrdSet};
use nomadish_proto::model::{
    Allocation, Deployment, Evaluation, Job, Namespace, Node, SchedulerConfiguration,
    ServiceRegistration,
};
use tokio::sync::watch;

use crate::events::{Changes, EventBroker, Payload};

pub use acl::{AclSnapshot, AclTables, StoredAclToken};
pub use launch::PeriodicLaunch;
pub use namespaces::quota_usage;
pub use persist::{
    SnapshotError, decode_snapshot, encode_snapshot, encode_stored_snapshot, state_digest,
};
pub use variables::{RootKey, StoredVariable, open as open_variable, seal as seal_variable};

/// `(namespace, job ID)`.
pub type JobKey = (String, String);

/// The raft index of the last change to each table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableIndexes {
    /// Jobs and job versions.
    pub jobs: u64,
    /// Evaluations.
    pub evals: u64,
    /// Allocations.
    pub allocs: u64,
    /// Nodes.
    pub nodes: u64,
    /// Deployments.
    #[serde(default)]
    pub deployments: u64,
    /// Service registrations (the `provider = "nomad"` catalog).
    #[serde(default)]
    pub services: u64,
    /// Nomad Variables (and the root key).
    #[serde(default)]
    pub variables: u64,
    /// ACL policies and tokens.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub acl: u64,
    /// Namespaces.
    #[serde(default)]
    pub namespaces: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// CPU (MHz), memory (MB) and disk (MB): what allocations hold on a node. The scheduler
/// uses the same type for asks and capacities (`scheduler::nodes::Amount`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeUsage {
    /// CPU in MHz.
    pub cpu: i64,
    /// Memory in MB.
    pub memory: i64,
    /// Disk in MB.
    pub disk: i64,
}

impl NodeUsage {
    /// What the allocation holds while it is not terminal; nothing once it is.
    pub fn of(alloc: &Allocation) -> Self {
        if alloc.terminal() {
            return Self::default();
        }
        let r = &alloc.allocated_resources;
        Self {
            cpu: r.cpu(),
            memory: r.memory_mb(),
            disk: r.disk_mb(),
        }
    }

    /// The sum of two amounts.
    pub fn plus(self, other: Self) -> Self {
        Self {
            cpu: self.cpu + other.cpu,
            memory: self.memory + other.memory,
            disk: self.disk + other.disk,
        }
    }

    /// `self` less `other`.
    pub fn minus(self, other: Self) -> Self {
        Self {
            cpu: self.cpu - other.cpu,
            memory: self.memory - other.memory,
            disk: self.disk - other.disk,
        }
    }

    fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// The whole replicated state at one raft index. Cloning is cheap.
#[derive(Debug, Clone, Default)]
pub struct StateView {
    /// The raft index this view reflects.
    pub index: u64,
    /// Per-table last-change indexes.
    pub tables: TableIndexes,
    /// Current version of every job.
    pub jobs: OrdMap<JobKey, Arc<Job>>,
    /// Tracked versions of every job: `(namespace, id, version)`.
    pub job_versions: OrdMap<(String, String, u64), Arc<Job>>,
    /// Evaluations by ID.
    pub evals: OrdMap<String, Arc<Evaluation>>,
    /// Evaluation IDs by job.
    pub evals_by_job: OrdMap<JobKey, OrdSet<String>>,
    /// Allocations by ID.
    pub allocs: OrdMap<String, Arc<Allocation>>,
    /// Allocation IDs by job.
    pub allocs_by_job: OrdMap<JobKey, OrdSet<String>>,
    /// Allocations by node, then by ID (the same `Arc`s as `allocs`, so a node's allocations
    /// are read without a lookup each in `allocs`).
    pub allocs_by_node: OrdMap<String, OrdMap<String, Arc<Allocation>>>,
    /// Per node, the highest `AllocModifyIndex` among its allocations (wakes node streams).
    pub node_alloc_index: OrdMap<String, u64>,
    /// Per node, what its non-terminal allocations hold, kept in step with `allocs` so the
    /// scheduler reads a node's usage without visiting each of its allocations.
    pub node_usage: OrdMap<String, NodeUsage>,
    /// Nodes by ID.
    pub nodes: OrdMap<String, Arc<Node>>,
    /// Deployments by ID.
    pub deployments: OrdMap<String, Arc<Deployment>>,
    /// Service registrations by ID (the `provider = "nomad"` catalog).
    pub services: OrdMap<String, Arc<ServiceRegistration>>,
    /// The last index at which capacity may have freed up (a node became ready, an
    /// allocation stopped or finished); blocked evaluations are retried when it moves.
    pub capacity_index: u64,
    /// The index of the last `operator snapshot restore` (0 if none): the leader rebuilds its
    /// broker and heartbeat deadlines when it moves.
    pub restore_index: u64,
    /// The last launch of every periodic job.
    pub periodic_launches: OrdMap<JobKey, PeriodicLaunch>,
    /// The scheduler configuration; `None` until an operator sets one (Nomad's defaults).
    pub scheduler_config: Option<Arc<SchedulerConfiguration>>,
    /// Nodes whose allocations changed since [`StateStore::update`] last looked: transient
    /// (not replicated, not in snapshots), it wakes only those nodes' allocation streams.
    pub touched_nodes: Vec<String>,
    /// Nomad Variables by `(namespace, path)`, items sealed (see `variables`).
    pub variables: OrdMap<(String, String), Arc<StoredVariable>>,
    /// The cluster root key sealing variables; created by the first variables write.
    pub root_key: Option<Arc<RootKey>>,
    /// ACL policies and tokens.
    pub acl: AclTables,
    /// Namespaces written by operators, by name (`default` is implicit until edited; see
    /// [`StateView::namespace`]).
    pub namespaces: OrdMap<String, Arc<Namespace>>,
    /// The autopilot configuration; `None` until an operator sets one (Nomad's defaults).
    pub autopilot_config: Option<Arc<nomadish_proto::model::AutopilotConfiguration>>,
    /// Changes since [`StateStore::update`] last drained them, for the event stream:
    /// transient (not replicated, not in snapshots; a clone starts empty).
    pub changes: Changes,
}

/// Number of versions kept per job, as Nomad's `JobDefaultTrackedVersions`.
pub const TRACKED_JOB_VERSIONS: u64 = 6;

impl StateView {
    /// The registrations of one service in a namespace, ordered by ID.
    pub fn service_registrations(
        &self,
        namespace: &str,
        name: &str,
    ) -> Vec<Arc<ServiceRegistration>> {
        self.services
            .values()
            .filter(|s| s.namespace == namespace && s.service_name == name)
            .cloned()
            .collect()
    }

    /// Records an allocation, keeping the job and node indexes in step.
    pub fn put_alloc(&mut self, alloc: Arc<Allocation>) {
        let key = (alloc.namespace.clone(), alloc.job_id.clone());
        let old = self.allocs.get(&alloc.id).cloned();
        if let Some(old) = &old {
            if old.node_id != alloc.node_id {
                remove_from(&mut self.allocs_by_node, &old.node_id, &alloc.id);
            }
            self.add_usage(&old.node_id, NodeUsage::of(old), NodeUsage::minus);
        }
        self.add_usage(&alloc.node_id, NodeUsage::of(&alloc), NodeUsage::plus);
        add_to(&mut self.allocs_by_job, key, &alloc.id);
        self.allocs_by_node
            .entry(alloc.node_id.clone())
            .or_default()
            .insert(alloc.id.clone(), alloc.clone());
        let idx = self
            .node_alloc_index
            .entry(alloc.node_id.clone())
            .or_insert(0);
        *idx = (*idx).max(alloc.alloc_modify_index);
        self.touched_nodes.push(alloc.node_id.clone());
        self.changes.put(Payload::Allocation(alloc.clone()));
        self.allocs.insert(alloc.id.clone(), alloc);
    }

    /// Removes an allocation and its index entries.
    pub fn remove_alloc(&mut self, id: &str) {
        if let Some(old) = self.allocs.remove(id) {
            let key = (old.namespace.clone(), old.job_id.clone());
            remove_from(&mut self.allocs_by_job, &key, id);
            remove_from(&mut self.allocs_by_node, &old.node_id, id);
            self.add_usage(&old.node_id, NodeUsage::of(&old), NodeUsage::minus);
        }
    }

    /// Adds (`change` [`NodeUsage::plus`]) or takes away ([`NodeUsage::minus`]) an
    /// allocation's usage on its node; a node whose total comes to nothing leaves the table.
    fn add_usage(
        &mut self,
        node_id: &str,
        usage: NodeUsage,
        change: fn(NodeUsage, NodeUsage) -> NodeUsage,
    ) {
        if usage.is_zero() {
            return;
        }
        let emptied = match self.node_usage.get_mut(node_id) {
            Some(total) => {
                *total = change(*total, usage);
                total.is_zero()
            }
            None => {
                let total = change(NodeUsage::default(), usage);
                self.node_usage.insert(node_id.to_string(), total);
                false
            }
        };
        if emptied {
            self.node_usage.remove(node_id);
        }
    }

    /// Records an evaluation, keeping the job index in step.
    pub fn put_eval(&mut self, eval: Arc<Evaluation>) {
        let key = (eval.namespace.clone(), eval.job_id.clone());
        add_to(&mut self.evals_by_job, key, &eval.id);
        self.changes.put(Payload::Evaluation(eval.clone()));
        self.evals.insert(eval.id.clone(), eval);
    }

    /// Removes an evaluation and its index entry.
    pub fn remove_eval(&mut self, id: &str) {
        if let Some(old) = self.evals.remove(id) {
            let key = (old.namespace.clone(), old.job_id.clone());
            remove_from(&mut self.evals_by_job, &key, id);
        }
    }

    /// Records a new current version of a job and trims old versions.
    pub fn put_job(&mut self, job: Arc<Job>) {
        let ns = job.namespace.clone();
        let id = job.id.clone();
        self.job_versions
            .insert((ns.clone(), id.clone(), job.version), job.clone());
        if job.version >= TRACKED_JOB_VERSIONS {
            let cutoff = job.version + 1 - TRACKED_JOB_VERSIONS;
            let stale: Vec<_> = self
                .job_versions
                .range((ns.clone(), id.clone(), 0)..(ns.clone(), id.clone(), cutoff))
                .map(|(k, _)| k.clone())
                .collect();
            for k in stale {
                self.job_versions.remove(&k);
            }
        }
        self.changes.put(Payload::Job(job.clone()));
        self.jobs.insert((ns, id), job);
    }

    /// Replaces the current version of a job in place (status, stability), without
    /// touching its tracked versions.
    pub fn update_job(&mut self, job: Arc<Job>) {
        self.changes.put(Payload::Job(job.clone()));
        self.jobs
            .insert((job.namespace.clone(), job.id.clone()), job);
    }

    /// Records a node.
    pub fn put_node(&mut self, node: Arc<Node>) {
        self.changes.put(Payload::Node(node.clone()));
        self.nodes.insert(node.id.clone(), node);
    }

    /// Removes a node.
    pub fn remove_node(&mut self, id: &str) {
        if let Some(old) = self.nodes.remove(id) {
            self.changes.delete(Payload::Node(old));
        }
    }

    /// Records a service registration.
    pub fn put_service(&mut self, reg: Arc<ServiceRegistration>) {
        self.changes.put(Payload::Service(reg.clone()));
        self.services.insert(reg.id.clone(), reg);
    }

    /// Removes a service registration.
    pub fn remove_service(&mut self, id: &str) {
        if let Some(old) = self.services.remove(id) {
            self.changes.delete(Payload::Service(old));
        }
    }

    /// Removes a job and all of its versions.
    pub fn remove_job(&mut self, namespace: &str, id: &str) {
        let key = (namespace.to_string(), id.to_string());
        self.jobs.remove(&key);
        let versions: Vec<_> = self
            .job_versions
            .range((key.0.clone(), key.1.clone(), 0)..=(key.0.clone(), key.1.clone(), u64::MAX))
            .map(|(k, _)| k.clone())
            .collect();
        for k in versions {
            self.job_versions.remove(&k);
        }
    }
}

fn add_to<K: Ord + Clone>(map: &mut OrdMap<K, OrdSet<String>>, key: K, id: &str) {
    map.entry(key).or_default().insert(id.to_string());
}

/// Takes `id` out of the collection under `key` (a set of IDs, or a map by ID), and `key`
/// out of `map` once its collection is empty.
fn remove_from<K: Ord + Clone, C: Clone + IdCollection>(map: &mut OrdMap<K, C>, key: &K, id: &str) {
    let empty = match map.get_mut(key) {
        Some(ids) => {
            ids.remove_id(id);
            ids.is_empty()
        }
        None => false,
    };
    if empty {
        map.remove(key);
    }
}

/// A per-key collection of the state's indexes, keyed by object ID.
trait IdCollection {
    fn remove_id(&mut self, id: &str);
    fn is_empty(&self) -> bool;
}

impl IdCollection for OrdSet<String> {
    fn remove_id(&mut self, id: &str) {
        self.remove(id);
    }
    fn is_empty(&self) -> bool {
        OrdSet::is_empty(self)
    }
}

impl<V: Clone> IdCollection for OrdMap<String, V> {
    fn remove_id(&mut self, id: &str) {
        self.remove(id);
    }
    fn is_empty(&self) -> bool {
        OrdMap::is_empty(self)
    }
}

/// The shared, lockable state with a change notification.
#[derive(Debug, Clone)]
pub struct StateStore {
    inner: Arc<RwLock<StateView>>,
    index_tx: Arc<watch::Sender<u64>>,
    /// Per node, a signal raised when its allocations change (see [`StateStore::subscribe_node`]).
    node_tx: Arc<Mutex<HashMap<String, watch::Sender<u64>>>>,
    /// The event stream's broker, fed by every update.
    events: Arc<EventBroker>,
}

impl Default for StateStore {
    fn default() -> Self {
        Self::new()
    }
}

impl StateStore {
    /// An empty store at index 0.
    pub fn new() -> Self {
        let (index_tx, _) = watch::channel(0);
        Self {
            inner: Arc::new(RwLock::new(StateView::default())),
            index_tx: Arc::new(index_tx),
            node_tx: Arc::default(),
            events: Arc::default(),
        }
    }

    /// A consistent point-in-time view (cheap).
    pub fn snapshot(&self) -> StateView {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The highest `AllocModifyIndex` of the node's allocations, without copying the view
    /// (node allocation streams check it on every state change).
    pub fn node_alloc_index(&self, node_id: &str) -> u64 {
        let view = self.inner.read().unwrap_or_else(|e| e.into_inner());
        view.node_alloc_index.get(node_id).copied().unwrap_or(0)
    }

    /// The raft index the store reflects.
    pub fn index(&self) -> u64 {
        *self.index_tx.borrow()
    }

    /// Runs `f` with exclusive access, then publishes the view's index to watchers.
    pub fn update<R>(&self, f: impl FnOnce(&mut StateView) -> R) -> R {
        let (result, index, touched, events) = {
            let mut view = self.inner.write().unwrap_or_else(|e| e.into_inner());
            let result = f(&mut view);
            let touched = std::mem::take(&mut view.touched_nodes);
            (result, view.index, touched, view.changes.drain())
        };
        self.events.publish(events);
        self.index_tx.send_if_modified(|current| {
            let changed = *current != index;
            *current = index;
            changed
        });
        self.signal_nodes(Some(&touched), index);
        result
    }

    /// Replaces the whole view (snapshot install) and publishes its index; every node's
    /// allocation stream looks again.
    pub fn replace(&self, view: StateView) {
        self.update(|current| *current = view);
        self.signal_nodes(None, self.index());
    }

    /// A receiver that changes whenever the allocations of `node_id` may have changed
    /// (cheaper than [`StateStore::subscribe`] for the thousands of node streams).
    pub fn subscribe_node(&self, node_id: &str) -> watch::Receiver<u64> {
        let mut map = self.node_tx.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(node_id.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Raises the signal of the given nodes (all when `None`), dropping unwatched ones.
    fn signal_nodes(&self, nodes: Option<&[String]>, index: u64) {
        if nodes.is_some_and(|n| n.is_empty()) {
            return;
        }
        let mut map = self.node_tx.lock().unwrap_or_else(|e| e.into_inner());
        match nodes {
            Some(nodes) => {
                for id in nodes {
                    let unwatched = map.get(id).is_some_and(|tx| {
                        tx.send_replace(index);
                        tx.receiver_count() == 0
                    });
                    if unwatched {
                        map.remove(id);
                    }
                }
            }
            None => map.retain(|_, tx| {
                tx.send_replace(index);
                tx.receiver_count() > 0
            }),
        }
    }

    /// The event stream's broker.
    pub fn events(&self) -> Arc<EventBroker> {
        self.events.clone()
    }

    /// A receiver that sees every published index.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.index_tx.subscribe()
    }

    /// Waits until the store's index is at least `min` or `timeout` passes; returns the index.
    pub async fn wait_for_index(&self, min: u64, timeout: std::time::Duration) -> u64 {
        let mut rx = self.subscribe();
        let wait = rx.wait_for(|idx| *idx >= min);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(idx)) => *idx,
            _ => self.index(),
        }
    }
}

#[cfg(test)]
mod tests;
