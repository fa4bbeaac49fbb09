//! `agent -dev -run FILE`: once the local agent answers, submit the job (the same code as
//! `job run`), monitor its evaluation, then print its tasks' output until shutdown.
//!
//! ```text
//! poll every READY_POLL_INTERVAL: /v1/agent/health = 200, /v1/status/leader set,
//!                                 and (with a local client) a ready node
//!   -> PUT /v1/jobs -> monitor eval -> follow::follow_job(...) until Ctrl-C
//! ```

use std::time::Duration;

use nomadish_proto::model::{Job, NODE_STATUS_READY, NodeListStub};

use crate::cli::api::{ApiClient, ApiError};
use crate::cli::format::SHORT_ID_LENGTH;
use crate::cli::job::{client_for_job, register};
use crate::cli::monitor::monitor;

use super::follow::{OutputSink, follow_job};
use super::signals::Shutdown;

/// How often readiness is polled while the agent starts.
pub const READY_POLL_INTERVAL: Duration = Duration::from_millis(25);
/// How long the agent may take to become ready before `-run` gives up.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why `-run` stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DevRunError {
    /// The agent did not become ready in time.
    #[error("the agent was not ready after {0:?}")]
    NotReady(Duration),
    /// Submitting the job failed.
    #[error("Error submitting job: {0}")]
    Submit(#[source] ApiError),
}

/// Waits for the agent, registers `job`, monitors it and follows its output into `sink`
/// until shutdown.
pub async fn run_job(
    api: ApiClient,
    job: Job,
    local_client: bool,
    shutdown: Shutdown,
    sink: OutputSink,
) -> Result<(), DevRunError> {
    tokio::select! {
        ready = wait_ready(&api, local_client) => ready?,
        _ = shutdown.clone().wait() => return Ok(()),
    }
    let api = client_for_job(&api, &job);
    let resp = register(&api, &job, None)
        .await
        .map_err(DevRunError::Submit)?;
    tokio::select! {
        _ = monitor(&api, &resp.eval_id, SHORT_ID_LENGTH) => {}
        _ = shutdown.clone().wait() => return Ok(()),
    }
    follow_job(api, job, resp.eval_create_index, shutdown, sink).await;
    Ok(())
}

/// Polls until the HTTP API is healthy, a leader is known and (with a local client) a node
/// is ready.
async fn wait_ready(api: &ApiClient, local_client: bool) -> Result<(), DevRunError> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if is_ready(api, local_client).await {
            return Ok(());
        }
        tokio::time::sleep(READY_POLL_INTERVAL).await;
    }
    Err(DevRunError::NotReady(READY_TIMEOUT))
}

async fn is_ready(api: &ApiClient, local_client: bool) -> bool {
    if api
        .get::<serde_json::Value>("/v1/agent/health", &[])
        .await
        .is_err()
    {
        return false;
    }
    match api.get::<String>("/v1/status/leader", &[]).await {
        Ok(resp) if !resp.body.is_empty() => {}
        _ => return false,
    }
    if !local_client {
        return true;
    }
    match api.get::<Vec<NodeListStub>>("/v1/nodes", &[]).await {
        Ok(resp) => resp.body.iter().any(|n| n.status == NODE_STATUS_READY),
        Err(_) => false,
    }
}

#[cfg(test)]
#[path = "dev_run_tests.rs"]
mod tests;
