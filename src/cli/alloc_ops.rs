//! `alloc restart`, `alloc signal` and `alloc stop`.
//!
//! ```text
//! alloc restart [-task T | -all-tasks] ALLOC [T]   POST /v1/client/allocation/:id/restart
//! alloc signal [-s SIG] [-task T] ALLOC [T]        POST /v1/client/allocation/:id/signal
//! alloc stop [-detach] ALLOC                       POST /v1/allocation/:id/stop, then the
//!                                                  evaluation is monitored as job run does
//! ```

use nomadish_proto::model::{
    AllocRestartRequest, AllocSignalRequest, AllocStopResponse, Allocation, GenericResponse,
};

use super::alloc::find_alloc;
use super::api::{ApiClient, escape_segment};
use super::args::{AllocRestartArgs, AllocSignalArgs, AllocStopArgs};
use super::format::id_length;
use super::logs::pick_task;
use super::monitor::monitor;
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// The client and the allocation a command names, or the exit code after printing why not.
async fn resolve(api: &super::args::ApiOpts, prefix: &str) -> Result<(ApiClient, Allocation), i32> {
    let api = client_or_exit(api).ok_or(EXIT_ERROR)?;
    match find_alloc(&api, prefix.trim()).await {
        Ok(alloc) => {
            let api = api.with_namespace(&alloc.namespace);
            Ok((api, alloc))
        }
        Err(e) => {
            eprintln!("{e}");
            Err(EXIT_ERROR)
        }
    }
}

/// The task named by `-task` or the positional argument (they must agree), checked against
/// the allocation; `None` for every task.
pub fn named_task(
    alloc: &Allocation,
    flag: Option<&str>,
    positional: Option<&str>,
) -> Result<Option<String>, String> {
    let name = match (flag, positional) {
        (Some(a), Some(b)) if a != b => {
            return Err(format!(
                "Task name given twice: -task {a:?} and argument {b:?}"
            ));
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => return Ok(None),
    };
    pick_task(alloc, Some(name)).map(Some)
}

/// `alloc restart`.
pub async fn restart(args: AllocRestartArgs) -> i32 {
    let (api, alloc) = match resolve(&args.api, &args.alloc).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    let task = match named_task(&alloc, args.task_flag.as_deref(), args.task.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    if task.is_some() && args.all_tasks {
        eprintln!("The -all-tasks option cannot be used with a task name");
        return EXIT_ERROR;
    }
    let body = AllocRestartRequest {
        task_name: task.unwrap_or_default(),
        all_tasks: args.all_tasks,
    };
    let path = format!(
        "/v1/client/allocation/{}/restart",
        escape_segment(&alloc.id)
    );
    match api.put::<_, GenericResponse>(&path, &body, &[]).await {
        Ok(_) => EXIT_OK,
        Err(e) => {
            eprintln!("Failed to restart allocation:\n\n{e}");
            EXIT_ERROR
        }
    }
}

/// `alloc signal`.
pub async fn signal(args: AllocSignalArgs) -> i32 {
    let (api, alloc) = match resolve(&args.api, &args.alloc).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    let task = match named_task(&alloc, args.task_flag.as_deref(), args.task.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    let body = AllocSignalRequest {
        task: task.unwrap_or_default(),
        signal: args.signal.unwrap_or_default(),
    };
    let path = format!("/v1/client/allocation/{}/signal", escape_segment(&alloc.id));
    match api.put::<_, GenericResponse>(&path, &body, &[]).await {
        Ok(_) => EXIT_OK,
        Err(e) => {
            eprintln!("Error signalling allocation: {e}");
            EXIT_ERROR
        }
    }
}

/// `alloc stop`.
pub async fn stop(args: AllocStopArgs) -> i32 {
    let (api, alloc) = match resolve(&args.api, &args.alloc).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    let path = format!("/v1/allocation/{}/stop", escape_segment(&alloc.id));
    let resp = match api
        .put::<_, AllocStopResponse>(&path, &serde_json::json!({}), &[])
        .await
    {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error stopping allocation: {e}");
            return EXIT_ERROR;
        }
    };
    if args.detach {
        println!("{}", resp.eval_id);
        return EXIT_OK;
    }
    monitor(&api, &resp.eval_id, id_length(args.verbose)).await as i32
}
