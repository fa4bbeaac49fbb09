//! Request and response bodies of the HTTP API that are not domain objects themselves.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::Job;

/// Body of `PUT|POST /v1/jobs` and `POST /v1/job/:id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobRegisterRequest {
    #[serde(rename = "Job")]
    pub job: Option<Job>,
    /// With `JobModifyIndex`: register only if the job's modify index matches (0: only if new).
    #[serde(rename = "EnforceIndex")]
    pub enforce_index: bool,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "PolicyOverride")]
    pub policy_override: bool,
    #[serde(rename = "PreserveCounts")]
    pub preserve_counts: bool,
    #[serde(rename = "EvalPriority")]
    pub eval_priority: i64,
}

/// Response of job register, update and deregister.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobRegisterResponse {
    #[serde(rename = "EvalID")]
    pub eval_id: String,
    #[serde(rename = "EvalCreateIndex")]
    pub eval_create_index: u64,
    #[serde(rename = "JobModifyIndex")]
    pub job_modify_index: u64,
    #[serde(rename = "Warnings")]
    pub warnings: String,
    #[serde(rename = "Index")]
    pub index: u64,
    #[serde(rename = "LastContact")]
    pub last_contact: u64,
    #[serde(rename = "KnownLeader")]
    pub known_leader: bool,
}

/// Body of `PUT|POST /v1/validate/job`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobValidateRequest {
    #[serde(rename = "Job")]
    pub job: Option<Job>,
}

/// Response of `PUT|POST /v1/validate/job`: the job's problems, answered with 200 even when
/// there are some, as Nomad does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobValidateResponse {
    /// Whether the server checked the task driver configurations.
    #[serde(rename = "DriverConfigValidated")]
    pub driver_config_validated: bool,
    /// One message per problem (empty when the job is valid).
    #[serde(rename = "ValidationErrors")]
    pub validation_errors: Vec<String>,
    /// All problems as one message (empty when the job is valid).
    #[serde(rename = "Error")]
    pub error: String,
    /// Warnings about the job, as one message (empty when none).
    #[serde(rename = "Warnings")]
    pub warnings: String,
}

/// Body of `POST /v1/jobs/parse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobsParseRequest {
    #[serde(rename = "JobHCL")]
    pub job_hcl: String,
    #[serde(rename = "Variables")]
    pub variables: String,
    #[serde(rename = "Canonicalize")]
    pub canonicalize: bool,
}

/// Response of `GET /v1/job/:id/versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct JobVersionsResponse {
    #[serde(rename = "Versions")]
    pub versions: Vec<Job>,
    #[serde(rename = "Diffs")]
    pub diffs: Option<Vec<serde_json::Value>>,
    #[serde(rename = "Index")]
    pub index: u64,
    #[serde(rename = "LastContact")]
    pub last_contact: u64,
    #[serde(rename = "KnownLeader")]
    pub known_leader: bool,
}

/// One frame of a streamed file (`/v1/client/fs/logs` without `plain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct StreamFrame {
    /// Base64 of the bytes.
    #[serde(rename = "Data", skip_serializing_if = "String::is_empty")]
    pub data: String,
    #[serde(rename = "File", skip_serializing_if = "String::is_empty")]
    pub file: String,
    #[serde(rename = "Offset", skip_serializing_if = "is_zero")]
    pub offset: i64,
    #[serde(rename = "FileEvent", skip_serializing_if = "String::is_empty")]
    pub file_event: String,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A server as `GET /v1/agent/members` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct AgentMember {
    pub name: String,
    pub addr: String,
    pub port: u16,
    pub tags: BTreeMap<String, String>,
    pub status: String,
    pub protocol_min: u8,
    pub protocol_max: u8,
    pub protocol_cur: u8,
    pub delegate_min: u8,
    pub delegate_max: u8,
    pub delegate_cur: u8,
}

/// Response of `GET /v1/agent/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct ServerMembers {
    pub server_name: String,
    pub server_region: String,
    #[serde(rename = "ServerDC")]
    pub server_dc: String,
    pub members: Vec<AgentMember>,
}

/// Response of `GET /v1/agent/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AgentHealthResponse {
    #[serde(rename = "client", skip_serializing_if = "Option::is_none")]
    pub client: Option<AgentHealth>,
    #[serde(rename = "server", skip_serializing_if = "Option::is_none")]
    pub server: Option<AgentHealth>,
}

/// Health of one side of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AgentHealth {
    #[serde(rename = "ok")]
    pub ok: bool,
    #[serde(rename = "message")]
    pub message: String,
}

/// The first line of a snapshot file (`GET /v1/operator/snapshot`), as JSON; the encoded state
/// follows after a newline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct SnapshotHeader {
    /// Always `nomadish-snapshot`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The raft index the state reflects.
    pub index: u64,
    /// The raft term of that index.
    pub term: u64,
    /// When the snapshot was taken (Unix ns).
    pub create_time: i64,
    /// Number of jobs.
    pub jobs: u64,
    /// Number of evaluations.
    pub evaluations: u64,
    /// Number of allocations.
    pub allocations: u64,
    /// Number of nodes.
    pub nodes: u64,
}

/// The value of [`SnapshotHeader::format`].
pub const SNAPSHOT_FORMAT: &str = "nomadish-snapshot";

/// One server in `GET /v1/operator/raft/configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RaftServer {
    /// The raft node ID (decimal).
    #[serde(rename = "ID")]
    pub id: String,
    /// The server's name.
    #[serde(rename = "Node")]
    pub node: String,
    /// Its RPC address.
    #[serde(rename = "Address")]
    pub address: String,
    /// Whether it leads.
    #[serde(rename = "Leader")]
    pub leader: bool,
    /// Whether it votes (false for learners).
    #[serde(rename = "Voter")]
    pub voter: bool,
    /// Always "3".
    #[serde(rename = "RaftProtocol")]
    pub raft_protocol: String,
}

/// `GET /v1/operator/raft/configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
pub struct RaftConfiguration {
    /// The servers.
    pub servers: Vec<RaftServer>,
    /// The raft index of the configuration.
    pub index: u64,
}

/// One entry of an allocation directory (`/v1/client/fs/ls` and `/v1/client/fs/stat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AllocFileInfo {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "IsDir")]
    pub is_dir: bool,
    #[serde(rename = "Size")]
    pub size: i64,
    /// Go's `os.FileMode` string, e.g. `-rw-r--r--`, `drwxr-xr-x`, `Lrwxrwxrwx`.
    #[serde(rename = "FileMode")]
    pub file_mode: String,
    /// RFC 3339.
    #[serde(rename = "ModTime")]
    pub mod_time: String,
    /// The sniffed MIME type (stat only).
    #[serde(rename = "ContentType", skip_serializing_if = "String::is_empty")]
    pub content_type: String,
}
