//! `job eval [-force-reschedule] [-detach] [-verbose] JOB`: a new evaluation of a job
//! (`PUT /v1/job/:id/evaluate`), monitored like `job run` unless `-detach`.

use clap::Args;
use nomadish_proto::model::JobRegisterResponse;
use serde_json::json;

use super::EXIT_ERROR;
use super::api::escape_segment;
use super::args::ApiOpts;
use super::lifecycle::{locate, monitor_or_print};

/// `job eval`.
#[derive(Debug, Args)]
pub struct JobEvalArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Reschedule failed allocations now, whatever their reschedule policy's delay.
    #[arg(long)]
    pub force_reschedule: bool,
    /// Return right after submitting, printing the evaluation ID.
    #[arg(long)]
    pub detach: bool,
    /// Print full IDs.
    #[arg(long)]
    pub verbose: bool,
    /// The job's ID or prefix.
    pub job: String,
}

/// `job eval JOB`.
pub async fn job_eval(args: JobEvalArgs) -> i32 {
    let (api, id) = match locate(&args.api, &args.job).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let body = json!({
        "JobID": id,
        "EvalOptions": {"ForceReschedule": args.force_reschedule},
    });
    let path = format!("/v1/job/{}/evaluate", escape_segment(&id));
    let resp: JobRegisterResponse = match api.put(&path, &body, &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error evaluating job: {e}");
            return EXIT_ERROR;
        }
    };
    monitor_or_print(&api, &resp.eval_id, args.detach, args.verbose).await
}
