//! Which events a subscriber gets: `topic=Topic:Key` filters (Nomad's syntax), the
//! request's namespace, and what its token may read.
//!
//! `topic=Job` means `Job:*`; `topic=*` (or none at all) means every topic. A key matches an
//! event's `Key` or one of its `FilterKeys` (an allocation's job ID, for example). As in
//! Nomad, the subscription is refused (403) unless the token may read every topic it names
//! (`read-job` in the namespace for jobs, evaluations, allocations, deployments and services;
//! `node:read` for nodes; management for ACL objects and for `*`); with `namespace=*`, each
//! event is then checked against the token on its own, so a token sees only the namespaces it
//! may read.

use std::collections::HashMap;
use std::sync::Arc;

use nomadish_acl::Acl;
use nomadish_acl::caps::READ_JOB;

use super::{Event, Payload, Topic};

/// Subscribes to every topic, or every key of a topic.
pub const ALL: &str = "*";

/// A malformed `topic` parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// More than one `:` in a topic.
    #[error("Invalid key value pair for topic: {0}")]
    InvalidPair(String),
}

/// Parses the `topic` query values into topic -> keys; none means every topic.
pub fn parse_topics<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, Vec<String>>, TopicError> {
    let mut topics: HashMap<String, Vec<String>> = HashMap::new();
    for value in values {
        let mut parts = value.split(':');
        let topic = parts.next().unwrap_or_default();
        let key = parts.next().unwrap_or(ALL);
        if parts.next().is_some() {
            return Err(TopicError::InvalidPair(value.to_string()));
        }
        topics
            .entry(topic.to_string())
            .or_default()
            .push(key.to_string());
    }
    if topics.is_empty() {
        topics.insert(ALL.to_string(), vec![ALL.to_string()]);
    }
    Ok(topics)
}

/// One subscriber's filter.
#[derive(Debug, Clone)]
pub struct Subscription {
    topics: HashMap<String, Vec<String>>,
    namespace: String,
    acl: Arc<Acl>,
}

impl Subscription {
    /// A filter for `topics` (from [`parse_topics`]) in `namespace` (`*`: all) for a token.
    pub fn new(topics: HashMap<String, Vec<String>>, namespace: &str, acl: Arc<Acl>) -> Self {
        Self {
            topics,
            namespace: namespace.to_string(),
            acl,
        }
    }

    /// The same filter for a token's new ACL (after a policy change).
    pub fn with_acl(&self, acl: Arc<Acl>) -> Self {
        Self {
            acl,
            ..self.clone()
        }
    }

    /// Whether the token may subscribe to every topic named (Nomad's subscription check).
    pub fn authorized(&self) -> bool {
        self.topics.keys().all(|topic| match topic.as_str() {
            "Job" | "Evaluation" | "Allocation" | "Deployment" | "Service" => {
                self.namespace == ALL || self.acl.allow_namespace_op(&self.namespace, READ_JOB)
            }
            "Node" => self.acl.allow_node_read(),
            _ => self.acl.is_management(),
        })
    }

    /// Whether the subscriber gets `event`.
    pub fn wants(&self, event: &Event) -> bool {
        let p = &event.payload;
        let ns = p.namespace();
        if self.namespace != ALL && !ns.is_empty() && ns != self.namespace {
            return false;
        }
        self.matches(p) && self.may_read(p)
    }

    fn matches(&self, p: &Payload) -> bool {
        let keys = |topic: &str| self.topics.get(topic).into_iter().flatten();
        keys(ALL)
            .chain(keys(p.topic().as_str()))
            .any(|k| k == ALL || p.matches_key(k))
    }

    fn may_read(&self, p: &Payload) -> bool {
        match p.topic() {
            Topic::Job
            | Topic::Evaluation
            | Topic::Allocation
            | Topic::Deployment
            | Topic::Service => self.acl.allow_namespace_op(p.namespace(), READ_JOB),
            Topic::Node => self.acl.allow_node_read(),
            Topic::AclToken | Topic::AclPolicy => self.acl.is_management(),
        }
    }
}
