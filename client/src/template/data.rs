//! Fetching template data from the servers (`NodeService.TemplateData`), as the task's
//! workload: the server checks that the allocation runs on this node and what the task may
//! read.

use std::time::Duration;

use nomadish_proto::node_v1::TemplateDataRequest;

use super::render::{Dep, Fetched};
use crate::servers::{ServerPool, is_transport_failure};

/// How long a blocking fetch waits on the server before answering unchanged.
pub const BLOCKING_WAIT: Duration = Duration::from_secs(30);
/// Slack on top of the server's wait before the client gives up on a call.
const CALL_SLACK: Duration = Duration::from_secs(10);

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The task may not read this (fatal for the template).
    Denied(String),
    /// The server could not answer now; try again.
    Transient(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Denied(m) | FetchError::Transient(m) => f.write_str(m),
        }
    }
}

/// Fetches data as one task of one allocation on this node.
#[derive(Debug, Clone)]
pub struct DataClient {
    pub pool: ServerPool,
    pub node_id: String,
    pub secret_id: String,
    pub alloc_id: String,
    pub task: String,
}

impl DataClient {
    /// The dependency's current answer; with `min_index > 0`, waits up to `wait` for the
    /// table to move past it.
    pub async fn fetch(
        &self,
        dep: &Dep,
        min_index: u64,
        wait: Duration,
    ) -> Result<Fetched, FetchError> {
        let (kind, key) = dep.kind_key();
        let req = TemplateDataRequest {
            node_id: self.node_id.clone(),
            secret_id: self.secret_id.clone(),
            alloc_id: self.alloc_id.clone(),
            task: self.task.clone(),
            kind: kind.to_string(),
            key: key.to_string(),
            min_index,
            wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        };
        let (addr, mut client) = self.pool.client();
        let call = client.template_data(req);
        let reply = match tokio::time::timeout(wait + CALL_SLACK, call).await {
            Ok(Ok(r)) => r.into_inner(),
            Ok(Err(status)) => {
                if is_transport_failure(&status) {
                    self.pool.failover(&addr);
                }
                return Err(match status.code() {
                    tonic::Code::PermissionDenied | tonic::Code::InvalidArgument => {
                        FetchError::Denied(status.message().to_string())
                    }
                    _ => FetchError::Transient(status.message().to_string()),
                });
            }
            Err(_) => {
                self.pool.failover(&addr);
                return Err(FetchError::Transient(format!(
                    "server {addr} did not answer"
                )));
            }
        };
        Ok(Fetched {
            index: reply.index,
            json: reply.found.then_some(reply.json),
        })
    }
}
