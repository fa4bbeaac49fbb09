//! `job run`, `job validate`, `job inspect`, `job stop`, and the pieces other commands share:
//! [`register`] (also used by `agent -run`) and [`find_job`] (job ID prefixes).

use nomadish_proto::model::{
    DEFAULT_NAMESPACE, DEFAULT_REGION, Job, JobListStub, JobRegisterRequest, JobRegisterResponse,
};

use super::api::{ApiClient, ApiConfig, ApiError, escape_segment};
use super::args::{JobInspectArgs, JobRunArgs, JobStopArgs, JobValidateArgs};
use super::format::{format_list, format_unix_nanos, id_length, pretty_json};
use super::jobspec::load_job_with;
use super::monitor::monitor;
use super::prefix::{Resolution, resolve};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// The body of `PUT /v1/jobs`; `check_index` turns on compare-and-swap registration.
pub fn register_request(job: &Job, check_index: Option<u64>) -> JobRegisterRequest {
    JobRegisterRequest {
        job: Some(job.clone()),
        enforce_index: check_index.is_some(),
        job_modify_index: check_index.unwrap_or(0),
        ..Default::default()
    }
}

/// Registers `job`; with `check_index`, only if the job's modify index equals it.
pub async fn register(
    api: &ApiClient,
    job: &Job,
    check_index: Option<u64>,
) -> Result<JobRegisterResponse, ApiError> {
    let request = register_request(job, check_index);
    Ok(api.put("/v1/jobs", &request, &[]).await?.body)
}

/// The client to submit `job` with: the job's own namespace and region win over the flags.
pub fn client_for_job(api: &ApiClient, job: &Job) -> ApiClient {
    let mut client = if job.namespace.is_empty() {
        api.clone()
    } else {
        api.with_namespace(&job.namespace)
    };
    if !job.region.is_empty() {
        client = client.with_region(&job.region);
    }
    client
}

/// Puts the job in the `-namespace` / `-region` of the flags when its file named none
/// (canonicalization fills in `default` and `global`, which the flags then override).
pub fn apply_flag_scope(job: &mut Job, config: &ApiConfig) {
    if let Some(ns) = &config.namespace
        && (job.namespace.is_empty() || job.namespace == DEFAULT_NAMESPACE)
    {
        job.namespace = ns.clone();
    }
    if let Some(region) = &config.region
        && (job.region.is_empty() || job.region == DEFAULT_REGION)
    {
        job.region = region.clone();
    }
}

/// `job run`.
pub async fn run(args: JobRunArgs) -> i32 {
    let mut job = match load_job_with(&args.file, args.json, &args.vars) {
        Ok((job, warnings)) => {
            super::jobspec::print_warnings(&warnings);
            job
        }
        Err(e) => {
            eprintln!("Error getting job struct: {e}");
            return EXIT_ERROR;
        }
    };
    if args.output {
        println!("{}", pretty_json(&serde_json::json!({ "Job": job })));
        return EXIT_OK;
    }
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    apply_flag_scope(&mut job, api.config());
    let api = client_for_job(&api, &job);
    let resp = match register(&api, &job, args.check_index).await {
        Ok(resp) => resp,
        Err(e) => {
            eprintln!("Error submitting job: {e}");
            return EXIT_ERROR;
        }
    };
    if !resp.warnings.is_empty() {
        println!("Job Warnings:\n{}\n", resp.warnings);
    }
    if args.detach || job.is_parent() || resp.eval_id.is_empty() {
        println!("Job registration successful");
        if let Some(next) = super::job_children::next_launch(&job, nomadish_proto::model::now_ns())
        {
            println!("Approximate next launch time: {next}");
        }
        if !resp.eval_id.is_empty() {
            println!("Evaluation ID: {}", resp.eval_id);
        }
        return EXIT_OK;
    }
    let code = monitor(&api, &resp.eval_id, id_length(args.verbose)).await as i32;
    if code != EXIT_OK {
        return code;
    }
    super::deployment::monitor_after_eval(&api, &resp.eval_id, id_length(args.verbose)).await
}

/// `job validate`: parses, canonicalizes and validates locally.
pub fn validate(args: JobValidateArgs) -> i32 {
    match load_job_with(&args.file, args.json, &args.vars) {
        Ok((_, warnings)) => {
            super::jobspec::print_warnings(&warnings);
            println!("Job validation successful");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("Error getting job struct: {e}");
            EXIT_ERROR
        }
    }
}

/// Why a job prefix did not designate one job.
#[derive(Debug, thiserror::Error)]
pub enum JobLookupError {
    /// Listing jobs failed.
    #[error("Error querying job prefix {prefix:?}: {source}")]
    Api {
        /// The prefix.
        prefix: String,
        /// The API error.
        source: ApiError,
    },
    /// No job matched.
    #[error("No job(s) with prefix or ID {0:?} found")]
    NotFound(String),
    /// Several jobs matched.
    #[error("Prefix {prefix:?} matched multiple jobs\n\n{listing}")]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// The matching jobs as a table.
        listing: String,
    },
}

/// Resolves a job ID prefix to one job's list entry.
pub async fn find_job(api: &ApiClient, prefix: &str) -> Result<JobListStub, JobLookupError> {
    let jobs: Vec<JobListStub> = api
        .get("/v1/jobs", &[("prefix", prefix.to_string())])
        .await
        .map_err(|source| JobLookupError::Api {
            prefix: prefix.to_string(),
            source,
        })?
        .body;
    match resolve(&jobs, prefix, |j| j.id.as_str()) {
        Resolution::One(job) => Ok(job.clone()),
        Resolution::NotFound => Err(JobLookupError::NotFound(prefix.to_string())),
        Resolution::Many(many) => Err(JobLookupError::Ambiguous {
            prefix: prefix.to_string(),
            listing: job_list_table(&many),
        }),
    }
}

/// Nomad's jobs table: ID, Type, Priority, Status, Submit Date.
pub fn job_list_table(jobs: &[&JobListStub]) -> String {
    let mut rows = vec![vec![
        "ID".to_string(),
        "Type".to_string(),
        "Priority".to_string(),
        "Status".to_string(),
        "Submit Date".to_string(),
    ]];
    for job in jobs {
        let mut kind = job.job_type.clone();
        if job.periodic {
            kind.push_str("/periodic");
        }
        if job.parameterized_job {
            kind.push_str("/parameterized");
        }
        rows.push(vec![
            job.id.clone(),
            kind,
            job.priority.to_string(),
            status_string(&job.status, job.stop),
            format_unix_nanos(job.submit_time),
        ]);
    }
    format_list(&rows)
}

/// A job status, with ` (stopped)` when the job was stopped.
pub fn status_string(status: &str, stopped: bool) -> String {
    if stopped {
        format!("{status} (stopped)")
    } else {
        status.to_string()
    }
}

/// `job inspect`.
pub async fn inspect(args: JobInspectArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let stub = match find_job(&api, args.job.trim()).await {
        Ok(stub) => stub,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    let api = api.with_namespace(&stub.namespace);
    let path = format!("/v1/job/{}", escape_segment(&stub.id));
    match api.get::<Job>(&path, &[]).await {
        Ok(resp) if args.json => println!("{}", pretty_json(&resp.body)),
        Ok(resp) => println!("{}", pretty_json(&serde_json::json!({ "Job": resp.body }))),
        Err(e) => {
            eprintln!("Error inspecting job: {e}");
            return EXIT_ERROR;
        }
    }
    EXIT_OK
}

/// `job stop`.
pub async fn stop(args: JobStopArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let wanted = args.job.trim();
    let stub = match find_job(&api, wanted).await {
        Ok(stub) => stub,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    if stub.id != wanted && !args.yes {
        match confirm(&format!(
            "Are you sure you want to stop job {:?}? [y/N]",
            stub.id
        ))
        .await
        {
            Confirm::Yes => {}
            Confirm::No(code) => return code,
        }
    }
    let api = api.with_namespace(&stub.namespace);
    let path = format!("/v1/job/{}", escape_segment(&stub.id));
    let query = [("purge", args.purge.to_string())];
    let resp = match api.delete::<JobRegisterResponse>(&path, &query).await {
        Ok(resp) => resp.body,
        Err(e) => {
            eprintln!("Error deregistering job with id {wanted} err: {e}");
            return EXIT_ERROR;
        }
    };
    if resp.eval_id.is_empty() {
        return EXIT_OK;
    }
    if args.detach {
        println!("{}", resp.eval_id);
        return EXIT_OK;
    }
    monitor(&api, &resp.eval_id, id_length(args.verbose)).await as i32
}

/// The answer to a confirmation question.
#[derive(Debug, PartialEq, Eq)]
enum Confirm {
    Yes,
    No(i32),
}

/// Asks on stdin (read off the async runtime); only an exact `y` confirms, as in Nomad.
async fn confirm(question: &str) -> Confirm {
    println!("{question}");
    let read = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map(|_| answer)
    })
    .await;
    match read {
        Ok(Ok(answer)) => judge_answer(&answer),
        _ => {
            eprintln!("Failed to parse answer");
            Confirm::No(EXIT_ERROR)
        }
    }
}

/// Nomad's reading of a confirmation answer.
fn judge_answer(answer: &str) -> Confirm {
    match answer.trim() {
        "y" => Confirm::Yes,
        a if a.is_empty() || a.to_lowercase().starts_with('n') => {
            println!("Cancelling job stop");
            Confirm::No(EXIT_OK)
        }
        a if a.to_lowercase().starts_with('y') => {
            println!("For confirmation, an exact 'y' is required.");
            Confirm::No(EXIT_OK)
        }
        _ => {
            println!("No confirmation detected. For confirmation, an exact 'y' is required.");
            Confirm::No(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_table_marks_periodic_and_stopped() {
        let a = JobListStub {
            id: "web".into(),
            job_type: "service".into(),
            priority: 50,
            status: "running".into(),
            submit_time: 1_709_210_096_000_000_000,
            ..Default::default()
        };
        let b = JobListStub {
            id: "nightly".into(),
            job_type: "batch".into(),
            priority: 70,
            status: "dead".into(),
            periodic: true,
            stop: true,
            ..Default::default()
        };
        let expected = "\
ID       Type            Priority  Status          Submit Date
web      service         50        running         2024-02-29T12:34:56Z
nightly  batch/periodic  70        dead (stopped)  <none>";
        assert_eq!(job_list_table(&[&a, &b]), expected);
    }

    #[test]
    fn register_request_enforces_index_only_with_check_index() {
        let job = Job {
            id: "web".into(),
            ..Default::default()
        };
        let json = serde_json::to_value(register_request(&job, Some(0))).unwrap();
        assert_eq!(json["EnforceIndex"], true);
        assert_eq!(json["JobModifyIndex"], 0);
        assert_eq!(json["Job"]["ID"], "web");
        let json = serde_json::to_value(register_request(&job, Some(42))).unwrap();
        assert_eq!(json["JobModifyIndex"], 42);
        let json = serde_json::to_value(register_request(&job, None)).unwrap();
        assert_eq!(json["EnforceIndex"], false);
    }

    #[test]
    fn only_an_exact_y_confirms() {
        assert_eq!(judge_answer("y\n"), Confirm::Yes);
        assert_eq!(judge_answer("\n"), Confirm::No(EXIT_OK));
        assert_eq!(judge_answer("no"), Confirm::No(EXIT_OK));
        assert_eq!(judge_answer("yes"), Confirm::No(EXIT_OK));
        assert_eq!(judge_answer("maybe"), Confirm::No(EXIT_ERROR));
    }

    #[test]
    fn flags_fill_in_a_default_scope_only() {
        let flags = ApiConfig {
            namespace: Some("prod".into()),
            region: Some("eu".into()),
            ..Default::default()
        };
        let mut job = Job {
            namespace: "default".into(),
            region: "global".into(),
            ..Default::default()
        };
        apply_flag_scope(&mut job, &flags);
        assert_eq!(
            (job.namespace.as_str(), job.region.as_str()),
            ("prod", "eu")
        );
        let mut job = Job {
            namespace: "team-a".into(),
            region: "us".into(),
            ..Default::default()
        };
        apply_flag_scope(&mut job, &flags);
        assert_eq!(
            (job.namespace.as_str(), job.region.as_str()),
            ("team-a", "us")
        );
        let mut job = Job::default();
        apply_flag_scope(&mut job, &ApiConfig::default());
        assert_eq!(job.namespace, "");
    }

    #[test]
    fn job_namespace_and_region_win_over_flags() {
        let api = ApiClient::new(ApiConfig {
            address: "http://127.0.0.1:4646".into(),
            namespace: Some("flag-ns".into()),
            region: Some("flag-region".into()),
            ..Default::default()
        })
        .unwrap();
        let job = Job {
            namespace: "prod".into(),
            region: "eu".into(),
            ..Default::default()
        };
        let cfg = client_for_job(&api, &job).config().clone();
        assert_eq!(cfg.namespace.as_deref(), Some("prod"));
        assert_eq!(cfg.region.as_deref(), Some("eu"));
        let cfg = client_for_job(&api, &Job::default()).config().clone();
        assert_eq!(cfg.namespace.as_deref(), Some("flag-ns"));
    }
}
