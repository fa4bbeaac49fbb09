//! Bodies of the node operator endpoints: eligibility and drain.

use serde::{Deserialize, Serialize};

use super::Meta;

/// Body of `POST /v1/node/:id/eligibility`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeUpdateEligibilityRequest {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    /// `eligible` or `ineligible`.
    #[serde(rename = "Eligibility")]
    pub eligibility: String,
}

/// What a drain asks for (`DrainStrategy` without the server-set times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DrainSpec {
    /// Nanoseconds: -1 drains at once (force), 0 has no deadline.
    #[serde(rename = "Deadline")]
    pub deadline: i64,
    #[serde(rename = "IgnoreSystemJobs")]
    pub ignore_system_jobs: bool,
}

/// Body of `POST /v1/node/:id/drain`; no `DrainSpec` ends the drain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeUpdateDrainRequest {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    #[serde(rename = "DrainSpec")]
    pub drain_spec: Option<DrainSpec>,
    /// When ending a drain: make the node eligible again.
    #[serde(rename = "MarkEligible")]
    pub mark_eligible: bool,
    #[serde(rename = "Meta")]
    pub meta: Meta,
}

/// Response of the eligibility and drain endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeUpdateResponse {
    #[serde(rename = "EvalIDs")]
    pub eval_ids: Vec<String>,
    #[serde(rename = "EvalCreateIndex")]
    pub eval_create_index: u64,
    #[serde(rename = "NodeModifyIndex")]
    pub node_modify_index: u64,
    #[serde(rename = "Index")]
    pub index: u64,
    #[serde(rename = "LastContact")]
    pub last_contact: u64,
    #[serde(rename = "KnownLeader")]
    pub known_leader: bool,
}
