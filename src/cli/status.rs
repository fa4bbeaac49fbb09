//! `status [ID]`: without an ID, the jobs list; with one, the status of whatever it names,
//! tried in Nomad's order of likelihood: job, allocation, node, evaluation.

use super::api::ApiClient;
use super::args::{AllocStatusArgs, EvalStatusArgs, JobStatusArgs, NodeStatusArgs, StatusArgs};
use super::job::{JobLookupError, find_job};
use super::prefix::LookupError;
use super::{EXIT_ERROR, alloc, client_or_exit, eval, job_status, node};

/// `status`.
pub async fn run(args: StatusArgs) -> i32 {
    let Some(id) = args.id.as_deref().map(str::trim).map(str::to_string) else {
        return job_status::run(JobStatusArgs {
            api: args.api,
            json: false,
            verbose: args.verbose,
            job: None,
        })
        .await;
    };
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    match find_job(&api, &id).await {
        Err(JobLookupError::NotFound(_)) => {}
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
        Ok(_) => {
            let job = JobStatusArgs {
                api: args.api,
                json: false,
                verbose: args.verbose,
                job: Some(id),
            };
            return job_status::run(job).await;
        }
    }
    if id.chars().count() >= 2
        && let Some(code) = other_status(&api, args, &id).await
    {
        return code;
    }
    eprintln!("No matches returned for query: {id:?}");
    EXIT_ERROR
}

/// The status of the allocation, node or evaluation `id` names, if it names one.
async fn other_status(api: &ApiClient, args: StatusArgs, id: &str) -> Option<i32> {
    let (opts, verbose, id) = (args.api, args.verbose, id.to_string());
    if found(alloc::ALLOC_LOOKUP.find(api, &id).await) {
        let a = AllocStatusArgs {
            api: opts,
            json: false,
            verbose,
            alloc: id,
        };
        return Some(alloc::status(a).await);
    }
    if found(node::NODE_LOOKUP.find(api, &id).await) {
        let n = NodeStatusArgs {
            api: opts,
            json: false,
            verbose,
            node: Some(id),
        };
        return Some(node::status(n).await);
    }
    if found(eval::EVAL_LOOKUP.find(api, &id).await) {
        let e = EvalStatusArgs {
            api: opts,
            json: false,
            verbose,
            eval: id,
        };
        return Some(eval::status(e).await);
    }
    None
}

/// Whether a lookup designated something (or several things, which the command reports).
fn found<T>(result: Result<T, LookupError>) -> bool {
    matches!(result, Ok(_) | Err(LookupError::Ambiguous { .. }))
}
