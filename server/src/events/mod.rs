//! The event stream (`GET /v1/event/stream`): every FSM change as Nomad's events.
//!
//! ```text
//!   fsm::apply ─ put_alloc / put_job / put_node ... ─> StateView.changes.record(Change)   (Arc clone)
//!        └─ end of the command: changes.seal(index, command type) ─> EventBatch {Index, Events}
//!   StateStore::update ─ after the write lock ─> EventBroker::publish (bounded ring + watch)
//!   HTTP subscriber ─ batches after its cursor ─> Subscription filter (topic, key, namespace,
//!                                                 ACL) ─> NDJSON line (payload JSON built once)
//! ```
//!
//! As in Nomad, an event's `Topic` comes from the table that changed and its `Type` from the
//! command that changed it (`JobRegistered`, `PlanResult`, `AllocationUpdated`...); deletions
//! carry their own type (`NodeDeregistration`, `ServiceDeregistration`, `ACLTokenDeleted`),
//! and deletions of jobs, evaluations and allocations (garbage collection) produce none. Every
//! server produces the same events, since every server applies the FSM. The hot path only
//! clones `Arc`s into a vector; nothing is serialized until a subscriber asks.

mod broker;
mod topics;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use nomadish_proto::model::{
    AclPolicy, Allocation, Deployment, Evaluation, Job, Node, ServiceRegistration,
};

pub use broker::{DEFAULT_BUFFER_SIZE, EventBroker};
pub use topics::{Subscription, TopicError, parse_topics};

use crate::fsm::Command;
use crate::state::StoredAclToken;

/// Nomad's event types (`structs.Type*`).
pub mod types {
    /// A job registered or updated (and what the registration changed).
    pub const JOB_REGISTERED: &str = "JobRegistered";
    /// A job stopped or purged.
    pub const JOB_DEREGISTERED: &str = "JobDeregistered";
    /// Evaluations created or updated.
    pub const EVALUATION_UPDATED: &str = "EvaluationUpdated";
    /// Client-side allocation updates.
    pub const ALLOCATION_UPDATED: &str = "AllocationUpdated";
    /// Allocations marked for migration.
    pub const ALLOCATION_UPDATE_DESIRED_STATUS: &str = "AllocationUpdateDesiredStatus";
    /// A plan committed by the leader.
    pub const PLAN_RESULT: &str = "PlanResult";
    /// A deployment's status changed.
    pub const DEPLOYMENT_STATUS_UPDATE: &str = "DeploymentStatusUpdate";
    /// A deployment's canaries promoted.
    pub const DEPLOYMENT_PROMOTION: &str = "DeploymentPromotion";
    /// Allocations' deployment health set by hand.
    pub const DEPLOYMENT_ALLOC_HEALTH: &str = "DeploymentAllocHealth";
    /// A node registered.
    pub const NODE_REGISTRATION: &str = "NodeRegistration";
    /// A node removed.
    pub const NODE_DEREGISTRATION: &str = "NodeDeregistration";
    /// A node's drain or eligibility changed.
    pub const NODE_DRAIN: &str = "NodeDrain";
    /// A node's status changed (Nomad's `TypeNodeEvent`).
    pub const NODE_EVENT: &str = "NodeStreamEvent";
    /// A service registration written.
    pub const SERVICE_REGISTRATION: &str = "ServiceRegistration";
    /// A service registration removed.
    pub const SERVICE_DEREGISTRATION: &str = "ServiceDeregistration";
    /// An ACL token created or updated.
    pub const ACL_TOKEN_UPSERTED: &str = "ACLTokenUpserted";
    /// An ACL token deleted.
    pub const ACL_TOKEN_DELETED: &str = "ACLTokenDeleted";
    /// An ACL policy created or updated.
    pub const ACL_POLICY_UPSERTED: &str = "ACLPolicyUpserted";
    /// An ACL policy deleted.
    pub const ACL_POLICY_DELETED: &str = "ACLPolicyDeleted";
}

/// An event's topic (`Topic` in the stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Jobs.
    Job,
    /// Evaluations.
    Evaluation,
    /// Allocations.
    Allocation,
    /// Deployments.
    Deployment,
    /// Nodes.
    Node,
    /// Service registrations.
    Service,
    /// ACL tokens (management tokens only).
    AclToken,
    /// ACL policies (management tokens only).
    AclPolicy,
}

impl Topic {
    /// Nomad's name of the topic.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Job => "Job",
            Topic::Evaluation => "Evaluation",
            Topic::Allocation => "Allocation",
            Topic::Deployment => "Deployment",
            Topic::Node => "Node",
            Topic::Service => "Service",
            Topic::AclToken => "ACLToken",
            Topic::AclPolicy => "ACLPolicy",
        }
    }
}

/// The object a change wrote or deleted, shared with the state (never copied on the hot path).
#[derive(Debug, Clone)]
pub enum Payload {
    /// A job.
    Job(Arc<Job>),
    /// An evaluation.
    Evaluation(Arc<Evaluation>),
    /// An allocation (streamed without its job, as Nomad).
    Allocation(Arc<Allocation>),
    /// A deployment.
    Deployment(Arc<Deployment>),
    /// A node (streamed without its secret).
    Node(Arc<Node>),
    /// A service registration.
    Service(Arc<ServiceRegistration>),
    /// An ACL token (streamed without its secret hash).
    AclToken(Arc<StoredAclToken>),
    /// An ACL policy.
    AclPolicy(Arc<AclPolicy>),
}

impl Payload {
    /// The payload's topic.
    pub fn topic(&self) -> Topic {
        match self {
            Payload::Job(_) => Topic::Job,
            Payload::Evaluation(_) => Topic::Evaluation,
            Payload::Allocation(_) => Topic::Allocation,
            Payload::Deployment(_) => Topic::Deployment,
            Payload::Node(_) => Topic::Node,
            Payload::Service(_) => Topic::Service,
            Payload::AclToken(_) => Topic::AclToken,
            Payload::AclPolicy(_) => Topic::AclPolicy,
        }
    }

    /// The object's ID (`Key`).
    pub fn key(&self) -> &str {
        match self {
            Payload::Job(j) => &j.id,
            Payload::Evaluation(e) => &e.id,
            Payload::Allocation(a) => &a.id,
            Payload::Deployment(d) => &d.id,
            Payload::Node(n) => &n.id,
            Payload::Service(s) => &s.id,
            Payload::AclToken(t) => &t.accessor_id,
            Payload::AclPolicy(p) => &p.name,
        }
    }

    /// The object's namespace; empty for nodes and ACL objects.
    pub fn namespace(&self) -> &str {
        match self {
            Payload::Job(j) => &j.namespace,
            Payload::Evaluation(e) => &e.namespace,
            Payload::Allocation(a) => &a.namespace,
            Payload::Deployment(d) => &d.namespace,
            Payload::Service(s) => &s.namespace,
            Payload::Node(_) | Payload::AclToken(_) | Payload::AclPolicy(_) => "",
        }
    }

    /// The other keys a `Topic:Key` subscription matches (`FilterKeys`, as Nomad).
    pub fn filter_keys(&self) -> Option<Vec<&str>> {
        match self {
            Payload::Evaluation(e) => Some(vec![&e.job_id, &e.deployment_id]),
            Payload::Allocation(a) => Some(vec![&a.job_id, &a.deployment_id]),
            Payload::Service(s) => Some(vec![&s.job_id, &s.service_name]),
            Payload::Deployment(d) => Some(vec![&d.job_id]),
            _ => None,
        }
    }

    /// Whether `key` is the object's ID or one of its filter keys (without allocating).
    pub fn matches_key(&self, key: &str) -> bool {
        if self.key() == key {
            return true;
        }
        match self {
            Payload::Evaluation(e) => e.job_id == key || e.deployment_id == key,
            Payload::Allocation(a) => a.job_id == key || a.deployment_id == key,
            Payload::Service(s) => s.job_id == key || s.service_name == key,
            Payload::Deployment(d) => d.job_id == key,
            _ => false,
        }
    }
}

/// One recorded state change.
#[derive(Debug, Clone)]
pub struct Change {
    /// The object after the change (before it, for a deletion).
    pub payload: Payload,
    /// Whether the object was deleted.
    pub deleted: bool,
}

impl Change {
    /// The event type of this change under a command of type `command`: deletions and ACL
    /// and service writes name themselves; the rest take the command's type.
    fn event_type(&self, command: Option<&'static str>) -> Option<&'static str> {
        use types::*;
        match (&self.payload, self.deleted) {
            (Payload::Node(_), true) => Some(NODE_DEREGISTRATION),
            (Payload::Service(_), true) => Some(SERVICE_DEREGISTRATION),
            (Payload::Service(_), false) => Some(SERVICE_REGISTRATION),
            (Payload::AclToken(_), true) => Some(ACL_TOKEN_DELETED),
            (Payload::AclToken(_), false) => Some(ACL_TOKEN_UPSERTED),
            (Payload::AclPolicy(_), true) => Some(ACL_POLICY_DELETED),
            (Payload::AclPolicy(_), false) => Some(ACL_POLICY_UPSERTED),
            (_, true) => None,
            (_, false) => command,
        }
    }
}

/// One event of the stream.
#[derive(Debug)]
pub struct Event {
    /// The raft index of the change.
    pub index: u64,
    /// Nomad's event type.
    pub event_type: &'static str,
    /// What changed.
    pub payload: Payload,
    /// The event's JSON, built by the first subscriber that sends it.
    json: OnceLock<String>,
}

impl Event {
    /// An event of type `event_type` at `index`.
    pub fn new(index: u64, event_type: &'static str, payload: Payload) -> Self {
        Self {
            index,
            event_type,
            payload,
            json: OnceLock::new(),
        }
    }

    /// The event as Nomad's JSON object (built once, shared by every subscriber).
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| wire::event_json(self))
    }
}

/// The events of one raft index.
#[derive(Debug)]
pub struct EventBatch {
    /// The raft index.
    pub index: u64,
    /// Its events, in the order the command made its changes.
    pub events: Vec<Event>,
}

/// The changes the FSM made since the store last drained them: transient, never replicated
/// nor snapshotted. Cloning a view (snapshots, dry runs) starts an empty log.
#[derive(Debug, Default)]
pub struct Changes {
    pending: Vec<Change>,
    sealed: Vec<EventBatch>,
}

impl Clone for Changes {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Changes {
    /// Records a written object.
    pub fn put(&mut self, payload: Payload) {
        self.pending.push(Change {
            payload,
            deleted: false,
        });
    }

    /// Records a deleted object (its last state).
    pub fn delete(&mut self, payload: Payload) {
        self.pending.push(Change {
            payload,
            deleted: true,
        });
    }

    /// Turns the changes of the command applied at `index` into one batch of events; an
    /// object changed twice by one command yields one event with its final state.
    pub fn seal(&mut self, index: u64, command: Option<&'static str>) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let mut events: Vec<Event> = Vec::with_capacity(pending.len());
        let mut seen: HashMap<(Topic, &str), usize> = HashMap::new();
        for change in &pending {
            let Some(ty) = change.event_type(command) else {
                continue;
            };
            let event = Event::new(index, ty, change.payload.clone());
            let id = (change.payload.topic(), change.payload.key());
            match seen.get(&id) {
                Some(&at) => events[at] = event,
                None => {
                    seen.insert(id, events.len());
                    events.push(event);
                }
            }
        }
        if events.is_empty() {
            return;
        }
        // The commands of one group-committed entry share its index: their events travel
        // as one batch, so a subscriber resuming after that index misses none of them.
        match self.sealed.last_mut() {
            Some(last) if last.index == index => last.events.extend(events),
            _ => self.sealed.push(EventBatch { index, events }),
        }
    }

    /// Takes the sealed batches, dropping changes no command sealed (snapshot installs).
    pub fn drain(&mut self) -> Vec<EventBatch> {
        self.pending.clear();
        std::mem::take(&mut self.sealed)
    }
}

/// The event type of a command's changes (`None`: its changes are not streamed).
pub fn command_type(cmd: &Command) -> Option<&'static str> {
    use types::*;
    Some(match cmd {
        Command::UpsertJob { .. } | Command::LaunchPeriodicChild { .. } => JOB_REGISTERED,
        Command::DeregisterJob { .. } => JOB_DEREGISTERED,
        Command::UpsertEvals { .. } => EVALUATION_UPDATED,
        Command::UpsertNode { .. } => NODE_REGISTRATION,
        Command::UpdateNodeStatus { .. } => NODE_EVENT,
        Command::ApplyPlanResults { .. } => PLAN_RESULT,
        Command::UpdateAllocsFromClient { .. } => ALLOCATION_UPDATED,
        Command::UpdateDeploymentStatus { .. } => DEPLOYMENT_STATUS_UPDATE,
        Command::PromoteDeployment { .. } => DEPLOYMENT_PROMOTION,
        Command::UpdateNodeEligibility { .. } | Command::UpdateNodeDrain { .. } => NODE_DRAIN,
        Command::UpdateAllocDesiredTransition { .. } => ALLOCATION_UPDATE_DESIRED_STATUS,
        Command::UpsertServiceRegistrations { .. } => SERVICE_REGISTRATION,
        Command::DeleteServiceRegistration { .. } => SERVICE_DEREGISTRATION,
        Command::SetJobStability { .. } => JOB_REGISTERED,
        Command::DeregisterNode { .. } => NODE_DEREGISTRATION,
        Command::SetAllocHealth { .. } => DEPLOYMENT_ALLOC_HEALTH,
        Command::SetAutopilotConfig { .. }
        | Command::RestoreState { .. }
        | Command::GarbageCollect { .. }
        | Command::SetSchedulerConfig { .. }
        | Command::ApplyVariable { .. }
        | Command::ApplyAcl { .. }
        | Command::ApplyNamespace { .. }
        | Command::Batch { .. } => return None,
    })
}

#[cfg(test)]
mod tests;
