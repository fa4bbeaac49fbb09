//! `job status` (and `status` without an ID): the jobs list, or one job's header, task
//! group summary, latest placement failures and allocations, laid out as Nomad does.

use nomadish_proto::model::{
    AllocListStub, Deployment, EVAL_STATUS_BLOCKED, Evaluation, Job, JobListStub, JobSummary,
    now_ns,
};

use super::api::{ApiClient, ApiError, escape_segment};
use super::args::JobStatusArgs;
use super::format::{
    format_kv, format_list, format_unix_nanos, id_length, limit, pretty_json, pretty_time_diff,
};
use super::job::{find_job, job_list_table, status_string};
use super::monitor::format_alloc_metrics;
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// `job status [JOB]`.
pub async fn run(args: JobStatusArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    match &args.job {
        None => list(&api, args.json).await,
        Some(prefix) => show(&api, prefix.trim(), args.json, args.verbose).await,
    }
}

/// The jobs list.
async fn list(api: &ApiClient, json: bool) -> i32 {
    let jobs: Vec<JobListStub> = match api.get("/v1/jobs", &[]).await {
        Ok(resp) => resp.body,
        Err(e) => {
            eprintln!("Error querying jobs: {e}");
            return EXIT_ERROR;
        }
    };
    if json {
        let mut out = Vec::new();
        for job in &jobs {
            match job_json(&api.with_namespace(&job.namespace), &job.id).await {
                Ok(value) => out.push(value),
                Err(e) => {
                    eprintln!("{e}");
                    return EXIT_ERROR;
                }
            }
        }
        println!("{}", pretty_json(&out));
    } else if jobs.is_empty() {
        println!("No running jobs");
    } else {
        println!("{}", job_list_table(&jobs.iter().collect::<Vec<_>>()));
    }
    EXIT_OK
}

/// One job's status.
async fn show(api: &ApiClient, prefix: &str, json: bool, verbose: bool) -> i32 {
    let stub = match find_job(api, prefix).await {
        Ok(stub) => stub,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    let api = api.with_namespace(&stub.namespace);
    if json {
        return match job_json(&api, &stub.id).await {
            Ok(value) => {
                println!("{}", pretty_json(&vec![value]));
                EXIT_OK
            }
            Err(e) => {
                eprintln!("{e}");
                EXIT_ERROR
            }
        };
    }
    match JobDetails::fetch(&api, &stub.id).await {
        Ok(details) => {
            println!("{}", details.render(id_length(verbose), now_ns()));
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_ERROR
        }
    }
}

/// Errors gathering a job's details, saying what was being queried.
#[derive(Debug, thiserror::Error)]
#[error("Error querying {what}: {source}")]
pub struct DetailsError {
    /// "job", "job summary", ...
    what: &'static str,
    /// The API error.
    source: ApiError,
}

/// Everything `job status JOB` shows.
#[derive(Debug, Clone, Default)]
pub struct JobDetails {
    /// The job.
    pub job: Job,
    /// Its summary.
    pub summary: JobSummary,
    /// Its allocations.
    pub allocs: Vec<AllocListStub>,
    /// Its evaluations.
    pub evals: Vec<Evaluation>,
    /// Its latest deployment.
    pub deployment: Option<Deployment>,
    /// Its children, when it is a periodic or parameterized job.
    pub children: Vec<JobListStub>,
}

/// `GET path`, errors labelled with `what`.
async fn get_labelled<T: serde::de::DeserializeOwned>(
    api: &ApiClient,
    path: &str,
    what: &'static str,
) -> Result<T, DetailsError> {
    api.get(path, &[])
        .await
        .map(|r| r.body)
        .map_err(|source| DetailsError { what, source })
}

impl JobDetails {
    /// Reads the job, its summary, allocations and evaluations.
    pub async fn fetch(api: &ApiClient, id: &str) -> Result<Self, DetailsError> {
        let base = format!("/v1/job/{}", escape_segment(id));
        Ok(Self {
            job: get_labelled(api, &base, "job").await?,
            summary: get_labelled(api, &format!("{base}/summary"), "job summary").await?,
            allocs: get_labelled(api, &format!("{base}/allocations"), "job allocations").await?,
            evals: get_labelled(api, &format!("{base}/evaluations"), "job evaluations").await?,
            deployment: get_labelled(api, &format!("{base}/deployment"), "deployment info").await?,
            children: Vec::new(),
        }
        .with_children(api)
        .await)
    }

    /// Adds the children of a parent job (best effort: none when the list fails).
    async fn with_children(mut self, api: &ApiClient) -> Self {
        if self.job.is_parent() {
            let query = [("prefix", format!("{}/", self.job.id))];
            let jobs: Vec<JobListStub> = api
                .get("/v1/jobs", &query)
                .await
                .map_or(Vec::new(), |r| r.body);
            self.children = jobs
                .into_iter()
                .filter(|j| j.parent_id == self.job.id)
                .collect();
        }
        self
    }

    /// The text of `job status JOB`.
    pub fn render(&self, length: usize, now: i64) -> String {
        let next = super::job_children::next_launch(&self.job, now);
        let mut out = job_header_with(&self.job, next);
        if self.job.is_parent() {
            let parent =
                super::job_children::render_parent(&self.job, &self.summary, &self.children);
            out.push_str(&parent);
            return out;
        }
        if !self.job.is_parent() {
            out.push_str("\n\nSummary\n");
            out.push_str(&summary_table(&self.summary));
        }
        if let Some(failures) = placement_failures(&self.evals) {
            out.push_str("\n\nPlacement Failure\n");
            out.push_str(&failures);
        }
        if let Some(d) = &self.deployment {
            out.push_str("\n\nLatest Deployment\n");
            out.push_str(&super::deployment::latest_block(d, length));
        }
        out.push_str("\n\nAllocations\n");
        out.push_str(&alloc_table(&self.allocs, length, now));
        out
    }
}

/// The job's key/value header.
pub fn job_header(job: &Job) -> String {
    job_header_with(job, None)
}

/// The header, with `Next Periodic Launch` when given.
pub fn job_header_with(job: &Job, next_launch: Option<String>) -> String {
    let periodic = job.periodic.as_ref().is_some_and(|p| p.enabled);
    let mut pairs = vec![
        ("ID", job.id.clone()),
        ("Name", job.name.clone()),
        ("Submit Date", format_unix_nanos(job.submit_time)),
        ("Type", job.job_type.clone()),
        ("Priority", job.priority.to_string()),
        ("Datacenters", job.datacenters.join(",")),
        ("Namespace", job.namespace.clone()),
        ("Node Pool", job.node_pool.clone()),
        ("Status", status_string(&job.status, job.stop)),
        ("Periodic", periodic.to_string()),
        ("Parameterized", job.parameterized_job.is_some().to_string()),
    ];
    if let Some(next) = next_launch {
        pairs.push(("Next Periodic Launch", next));
    }
    format_kv(&pairs)
}

/// The per-group summary table.
pub fn summary_table(summary: &JobSummary) -> String {
    let mut rows = vec![
        [
            "Task Group",
            "Queued",
            "Starting",
            "Running",
            "Failed",
            "Complete",
            "Lost",
            "Unknown",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (group, s) in &summary.summary {
        rows.push(vec![
            group.clone(),
            s.queued.to_string(),
            s.starting.to_string(),
            s.running.to_string(),
            s.failed.to_string(),
            s.complete.to_string(),
            s.lost.to_string(),
            s.unknown.to_string(),
        ]);
    }
    format_list(&rows)
}

/// The failures of the latest evaluation with placement failures, when the job still has
/// a blocked evaluation (Nomad shows them only then).
pub fn placement_failures(evals: &[Evaluation]) -> Option<String> {
    let blocked = evals.iter().any(|e| e.status == EVAL_STATUS_BLOCKED);
    let latest = evals
        .iter()
        .filter(|e| !e.failed_tg_allocs.is_empty())
        .max_by_key(|e| e.create_index)?;
    if !blocked {
        return None;
    }
    let blocks: Vec<String> = latest
        .failed_tg_allocs
        .iter()
        .map(|(group, metrics)| {
            let mut lines = vec![format!("Task Group {group:?}:")];
            lines.extend(format_alloc_metrics(metrics, "  "));
            lines.join("\n")
        })
        .collect();
    Some(blocks.join("\n\n"))
}

/// The allocations table (ID, Node ID, Task Group, Version, Desired, Status, Created, Modified).
pub fn alloc_table(allocs: &[AllocListStub], length: usize, now: i64) -> String {
    if allocs.is_empty() {
        return "No allocations placed".to_string();
    }
    let mut rows = vec![
        [
            "ID",
            "Node ID",
            "Task Group",
            "Version",
            "Desired",
            "Status",
            "Created",
            "Modified",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for a in allocs {
        rows.push(vec![
            limit(&a.id, length).to_string(),
            limit(&a.node_id, length).to_string(),
            a.task_group.clone(),
            a.job_version.to_string(),
            a.desired_status.clone(),
            a.client_status.clone(),
            pretty_time_diff(a.create_time, now),
            pretty_time_diff(a.modify_time, now),
        ]);
    }
    format_list(&rows)
}

/// Nomad's `-json` shape for one job: summary, allocations, evaluations, latest deployment.
async fn job_json(api: &ApiClient, id: &str) -> Result<serde_json::Value, DetailsError> {
    let base = format!("/v1/job/{}", escape_segment(id));
    let summary: serde_json::Value =
        get_labelled(api, &format!("{base}/summary"), "job summary").await?;
    let allocs: serde_json::Value =
        get_labelled(api, &format!("{base}/allocations"), "job allocations").await?;
    let evals: serde_json::Value =
        get_labelled(api, &format!("{base}/evaluations"), "job evaluations").await?;
    let deployment: serde_json::Value =
        get_labelled(api, &format!("{base}/deployment"), "deployment info").await?;
    Ok(serde_json::json!({
        "Summary": summary,
        "Allocations": allocs,
        "LatestDeployment": deployment,
        "Evaluations": evals,
    }))
}

#[cfg(test)]
#[path = "job_status_tests.rs"]
mod tests;
