//! The stream's JSON, in Nomad's shapes: one line `{"Index":N,"Events":[...]}` per raft
//! index, each event `{"Topic","Type","Key","Namespace","FilterKeys","Index","Payload"}` with
//! the payload under the object's name (`{"Allocation": {...}}`).

use nomadish_proto::model::{
    AclPolicy, AclToken, Allocation, Deployment, Evaluation, Job, Node, ServiceRegistration,
};
use serde::Serialize;

use super::{Event, Payload};

/// The heartbeat line sent while nothing happens.
pub const HEARTBEAT: &[u8] = b"{}\n";

#[derive(Serialize)]
struct WireEvent<'a> {
    #[serde(rename = "Topic")]
    topic: &'static str,
    #[serde(rename = "Type")]
    event_type: &'static str,
    #[serde(rename = "Key")]
    key: &'a str,
    #[serde(rename = "Namespace")]
    namespace: &'a str,
    #[serde(rename = "FilterKeys")]
    filter_keys: Option<Vec<&'a str>>,
    #[serde(rename = "Index")]
    index: u64,
    #[serde(rename = "Payload")]
    payload: WirePayload<'a>,
}

/// Externally tagged: `{"Job": {...}}`, as Nomad's `JobEvent`, `AllocationEvent`...
#[derive(Serialize)]
enum WirePayload<'a> {
    Job(&'a Job),
    Evaluation(&'a Evaluation),
    Allocation(Box<Allocation>),
    Deployment(&'a Deployment),
    Node(Box<Node>),
    Service(&'a ServiceRegistration),
    #[serde(rename = "ACLToken")]
    AclToken(Box<AclToken>),
    #[serde(rename = "ACLPolicy")]
    AclPolicy(&'a AclPolicy),
}

impl<'a> WirePayload<'a> {
    /// What a subscriber may see: allocations without their job (as Nomad, to keep events
    /// small), nodes and tokens without their secrets.
    fn of(payload: &'a Payload) -> Self {
        match payload {
            Payload::Job(j) => WirePayload::Job(j),
            Payload::Evaluation(e) => WirePayload::Evaluation(e),
            Payload::Allocation(a) => WirePayload::Allocation(Box::new(Allocation {
                job: None,
                ..Allocation::clone(a)
            })),
            Payload::Deployment(d) => WirePayload::Deployment(d),
            Payload::Node(n) => WirePayload::Node(Box::new(n.sanitized())),
            Payload::Service(s) => WirePayload::Service(s),
            Payload::AclToken(t) => WirePayload::AclToken(Box::new(t.to_api(None))),
            Payload::AclPolicy(p) => WirePayload::AclPolicy(p),
        }
    }
}

/// One event as a JSON object.
pub(super) fn event_json(event: &Event) -> String {
    let p = &event.payload;
    let wire = WireEvent {
        topic: p.topic().as_str(),
        event_type: event.event_type,
        key: p.key(),
        namespace: p.namespace(),
        filter_keys: p.filter_keys(),
        index: event.index,
        payload: WirePayload::of(p),
    };
    serde_json::to_string(&wire).unwrap_or_else(|e| {
        tracing::warn!(error = %e, key = p.key(), "cannot encode an event");
        serde_json::json!({ "Topic": p.topic().as_str(), "Key": p.key(), "Index": event.index })
            .to_string()
    })
}

/// One NDJSON line carrying the events of raft index `index`.
pub fn batch_line<'a>(index: u64, events: impl IntoIterator<Item = &'a Event>) -> Vec<u8> {
    let mut line = format!("{{\"Index\":{index},\"Events\":[").into_bytes();
    for (i, event) in events.into_iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        line.extend_from_slice(event.json().as_bytes());
    }
    line.extend_from_slice(b"]}\n");
    line
}
