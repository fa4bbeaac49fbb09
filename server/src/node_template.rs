//! The `TemplateData` node RPC: what a task's templates read (`nomadVar`, `nomadVarList`,
//! `nomadService`), answered from this server's state (any server answers).
//!
//! Access follows Nomad's implicit workload policy: the task's allocation must run on the
//! calling node; everything is read in the job's namespace; a variable may be read only at
//! `nomad/jobs`, `nomad/jobs/<job>`, `nomad/jobs/<job>/<group>` or
//! `nomad/jobs/<job>/<group>/<task>`, and listings show only those; every service of the
//! namespace may be read. With `min_index` the call blocks until the table moves past it.

use std::time::Duration;

use nomadish_proto::model::{VariableMetadata, workload_may_read};
use nomadish_proto::node_v1::{TemplateDataReply, TemplateDataRequest};
use tonic::Status;

use crate::server::Server;
use crate::state::StateView;

/// Longest a blocking call waits.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// Who is asking: the allocation's namespace, job, group and the task.
struct Workload {
    namespace: String,
    job: String,
    group: String,
    task: String,
}

fn workload(view: &StateView, req: &TemplateDataRequest) -> Result<Workload, Status> {
    let node = view
        .nodes
        .get(&req.node_id)
        .ok_or_else(|| Status::not_found(format!("node {} not found", req.node_id)))?;
    if node.secret_id != req.secret_id {
        return Err(Status::permission_denied("node secret ID does not match"));
    }
    let alloc = view
        .allocs
        .get(&req.alloc_id)
        .filter(|a| a.node_id == req.node_id)
        .ok_or_else(|| Status::not_found(format!("allocation {} not found", req.alloc_id)))?;
    Ok(Workload {
        namespace: alloc.namespace.clone(),
        job: alloc.job_id.clone(),
        group: alloc.task_group.clone(),
        task: req.task.clone(),
    })
}

fn table_index(view: &StateView, kind: &str) -> u64 {
    if kind == "service" {
        view.tables.services
    } else {
        view.tables.variables
    }
}

/// Answers one request, blocking while `min_index` is current.
pub async fn template_data(
    server: &Server,
    req: TemplateDataRequest,
) -> Result<TemplateDataReply, Status> {
    if !matches!(req.kind.as_str(), "var" | "var_list" | "service") {
        return Err(Status::invalid_argument(format!(
            "unknown template data kind {:?}",
            req.kind
        )));
    }
    let wait = Duration::from_millis(req.wait_ms).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let mut changes = server.state.subscribe();
    loop {
        let view = server.state.snapshot();
        let who = workload(&view, &req)?;
        let index = table_index(&view, &req.kind);
        if req.min_index == 0 || index > req.min_index {
            return answer(&view, &who, &req, index);
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return answer(&view, &who, &req, index) },
            () = tokio::time::sleep_until(deadline) => return answer(&view, &who, &req, index),
        }
    }
}

fn answer(
    view: &StateView,
    who: &Workload,
    req: &TemplateDataRequest,
    index: u64,
) -> Result<TemplateDataReply, Status> {
    let may_read = |path: &str| workload_may_read(path, &who.job, &who.group, &who.task);
    let (found, json) = match req.kind.as_str() {
        "var" => {
            if !may_read(&req.key) {
                return Err(Status::permission_denied(format!(
                    "Permission denied: the task may not read variable {:?} (tasks read nomad/jobs/{}[/{}[/{}]])",
                    req.key, who.job, who.group, who.task
                )));
            }
            match view
                .decrypted_variable(&who.namespace, &req.key)
                .map_err(Status::internal)?
            {
                Some(var) => (true, encode(&var)?),
                None => (false, b"null".to_vec()),
            }
        }
        "var_list" => {
            let list: Vec<VariableMetadata> = view
                .variables_with_prefix(&who.namespace, &req.key)
                .into_iter()
                .filter(|v| may_read(&v.meta.path))
                .map(|v| v.meta.clone())
                .collect();
            (true, encode(&list)?)
        }
        _ => {
            let regs = view.service_registrations(&who.namespace, &req.key);
            let regs: Vec<_> = regs.iter().map(|r| r.as_ref().clone()).collect();
            (true, encode(&regs)?)
        }
    };
    Ok(TemplateDataReply { index, found, json })
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Status> {
    serde_json::to_vec(value).map_err(|e| Status::internal(e.to_string()))
}
