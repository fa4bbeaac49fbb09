//! `job periodic force`, `job dispatch`, `job revert` and `job scale`: the job lifecycle
//! commands that create evaluations, each monitored like `job run` unless `-detach`.

use std::io::Read;
use std::path::PathBuf;

use base64::Engine;
use clap::{Args, Subcommand};
use nomadish_proto::model::{
    DISPATCH_PAYLOAD_SIZE_LIMIT, Job, JobDispatchRequest, JobDispatchResponse, JobRegisterResponse,
    JobRevertRequest, JobScaleRequest, Meta, PeriodicForceResponse,
};

use super::api::{ApiClient, escape_segment};
use super::args::ApiOpts;
use super::format::{format_kv, id_length};
use super::job::find_job;
use super::monitor::monitor;
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// `job periodic` subcommands.
#[derive(Debug, Subcommand)]
pub enum PeriodicCommand {
    /// Launches a periodic job's child now, whatever its schedule.
    Force(PeriodicForceArgs),
}

/// `job periodic force`.
#[derive(Debug, Args)]
pub struct PeriodicForceArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Return right after launching, printing the evaluation ID.
    #[arg(long)]
    pub detach: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// The periodic job's ID or prefix.
    pub job: String,
}

/// `job dispatch`.
#[derive(Debug, Args)]
pub struct DispatchArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Meta for the dispatched job, `key=value`; repeatable.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Return right after dispatching, without monitoring the evaluation.
    #[arg(long)]
    pub detach: bool,
    /// Dispatch at most once per token while the dispatched job is alive.
    #[arg(long)]
    pub idempotency_token: Option<String>,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// The parameterized job's ID or prefix.
    pub job: String,
    /// A file holding the payload, or `-` for standard input.
    pub input: Option<PathBuf>,
}

/// `job revert`.
#[derive(Debug, Args)]
pub struct RevertArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Return right after submitting, printing the evaluation ID.
    #[arg(long)]
    pub detach: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// The job's ID or prefix.
    pub job: String,
    /// The version to revert to.
    pub version: u64,
}

/// `job scale`.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Return right after submitting, printing the evaluation ID.
    #[arg(long)]
    pub detach: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// The job's ID or prefix.
    pub job: String,
    /// `[GROUP] COUNT`: the group may be left out when the job has only one.
    #[arg(num_args = 1..=2, required = true)]
    pub rest: Vec<String>,
}

/// The client and the job's exact ID and namespace, or the exit code after printing why not.
pub(super) async fn locate(opts: &ApiOpts, prefix: &str) -> Result<(ApiClient, String), i32> {
    let api = client_or_exit(opts).ok_or(EXIT_ERROR)?;
    match find_job(&api, prefix.trim()).await {
        Ok(stub) => Ok((api.with_namespace(&stub.namespace), stub.id)),
        Err(e) => {
            eprintln!("{e}");
            Err(EXIT_ERROR)
        }
    }
}

pub(super) async fn monitor_or_print(
    api: &ApiClient,
    eval_id: &str,
    detach: bool,
    verbose: bool,
) -> i32 {
    if eval_id.is_empty() {
        return EXIT_OK;
    }
    if detach {
        println!("Evaluation ID: {eval_id}");
        return EXIT_OK;
    }
    monitor(api, eval_id, id_length(verbose)).await as i32
}

/// `job periodic force JOB`.
pub async fn periodic_force(args: PeriodicForceArgs) -> i32 {
    let (api, id) = match locate(&args.api, &args.job).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let path = format!("/v1/job/{}/periodic/force", escape_segment(&id));
    let resp: PeriodicForceResponse = match api.put(&path, &serde_json::json!({}), &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error forcing periodic job {id:?}: {e}");
            return EXIT_ERROR;
        }
    };
    if args.detach {
        println!("Force periodic successful");
    }
    monitor_or_print(&api, &resp.eval_id, args.detach, args.verbose).await
}

/// Parses `-meta key=value` flags.
fn parse_meta(pairs: &[String]) -> Result<Meta, String> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!(
                "Error parsing meta value: {p:?}; expected KEY=VALUE"
            )),
        })
        .collect()
}

/// Reads the payload from a file or standard input (`-`), at most the dispatch limit.
fn read_payload(input: &Option<PathBuf>) -> Result<Vec<u8>, String> {
    let Some(path) = input else {
        return Ok(Vec::new());
    };
    let mut bytes = Vec::new();
    let limit = (DISPATCH_PAYLOAD_SIZE_LIMIT + 1) as u64;
    let read = if path.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|e| format!("Error reading input data: {e}"))?;
    Ok(bytes)
}

/// `job dispatch [-meta k=v]... [-detach] [-idempotency-token T] JOB [INPUT]`.
pub async fn dispatch(args: DispatchArgs) -> i32 {
    let (meta, payload) =
        match parse_meta(&args.meta).and_then(|m| Ok((m, read_payload(&args.input)?))) {
            Ok(parsed) => parsed,
            Err(e) => {
                eprintln!("{e}");
                return EXIT_ERROR;
            }
        };
    let (api, id) = match locate(&args.api, &args.job).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let request = JobDispatchRequest {
        job_id: id.clone(),
        payload: (!payload.is_empty())
            .then(|| base64::engine::general_purpose::STANDARD.encode(&payload)),
        meta,
        idempotency_token: args.idempotency_token.clone().unwrap_or_default(),
    };
    let path = format!("/v1/job/{}/dispatch", escape_segment(&id));
    let resp: JobDispatchResponse = match api.put(&path, &request, &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Failed to dispatch job: {e}");
            return EXIT_ERROR;
        }
    };
    let length = id_length(args.verbose);
    let short: String = resp.eval_id.chars().take(length).collect();
    println!(
        "{}",
        format_kv(&[
            ("Dispatched Job ID", resp.dispatched_job_id.clone()),
            ("Evaluation ID", short),
        ])
    );
    if args.detach || resp.eval_id.is_empty() {
        return EXIT_OK;
    }
    println!();
    monitor(&api, &resp.eval_id, length).await as i32
}

/// `job revert JOB VERSION`.
pub async fn revert(args: RevertArgs) -> i32 {
    let (api, id) = match locate(&args.api, &args.job).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let request = JobRevertRequest {
        job_id: id.clone(),
        job_version: args.version,
        enforce_prior_version: None,
    };
    let path = format!("/v1/job/{}/revert", escape_segment(&id));
    let resp: JobRegisterResponse = match api.put(&path, &request, &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error retrieving job versions: {e}");
            return EXIT_ERROR;
        }
    };
    monitor_or_print(&api, &resp.eval_id, args.detach, args.verbose).await
}

/// `job scale JOB [GROUP] COUNT`.
pub async fn scale(args: ScaleArgs) -> i32 {
    let (api, id) = match locate(&args.api, &args.job).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let (group, count) = match args.rest.as_slice() {
        [count] => (None, count),
        [group, count] => (Some(group.clone()), count),
        _ => unreachable!("clap takes one or two values"),
    };
    let Ok(count) = count.parse::<i64>() else {
        eprintln!("Failed to convert count string to int: {count:?}");
        return EXIT_ERROR;
    };
    let group = match group {
        Some(g) => g,
        None => match only_group(&api, &id).await {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{e}");
                return EXIT_ERROR;
            }
        },
    };
    let request = JobScaleRequest {
        target: [("Group".to_string(), group)].into(),
        count: Some(count),
        message: "submitted using the Nomad CLI".to_string(),
        ..JobScaleRequest::default()
    };
    let path = format!("/v1/job/{}/scale", escape_segment(&id));
    let resp: JobRegisterResponse = match api.put(&path, &request, &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error submitting scaling request: {e}");
            return EXIT_ERROR;
        }
    };
    monitor_or_print(&api, &resp.eval_id, args.detach, args.verbose).await
}

/// The job's one group, for `job scale JOB COUNT`.
async fn only_group(api: &ApiClient, id: &str) -> Result<String, String> {
    let job: Job = api
        .get(&format!("/v1/job/{}", escape_segment(id)), &[])
        .await
        .map_err(|e| format!("Error querying job: {e}"))?
        .body;
    match job.task_groups.as_slice() {
        [only] => Ok(only.name.clone()),
        _ => Err("Group name required when the job has more than one task group".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_flags_parse_as_key_value() {
        let meta = parse_meta(&["a=1".into(), "b=x=y".into(), "c=".into()]).unwrap();
        assert_eq!(meta["a"], "1");
        assert_eq!(meta["b"], "x=y");
        assert_eq!(meta["c"], "");
        assert!(parse_meta(&["novalue".into()]).is_err());
        assert!(parse_meta(&["=v".into()]).is_err());
    }
}
