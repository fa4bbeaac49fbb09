//! `alloc status`: an allocation's header and, per task, its resources, state and recent
//! events, laid out as Nomad does. Also the allocation prefix lookup other commands use.

use nomadish_proto::model::{
    AllocListStub, AllocMetric, Allocation, TaskEvent, TaskState, now_ns, task_event,
};

use super::api::{ApiClient, escape_segment};
use super::args::AllocStatusArgs;
use super::format::{
    format_kv, format_list, format_list_with_spaces, format_task_time, format_unix_nanos,
    id_length, limit, mib, pretty_json, pretty_time_diff,
};
use super::job_status::alloc_table;
use super::prefix::{Lookup, LookupError};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// The allocation prefix lookup.
pub const ALLOC_LOOKUP: Lookup<'static, AllocListStub> = Lookup {
    path: "/v1/allocations",
    kind_any: "allocation(s)",
    kind_many: "allocations",
    context: "Error querying allocation",
    id: |a| a.id.as_str(),
    listing: |rows| {
        let owned: Vec<AllocListStub> = rows.iter().map(|r| (*r).clone()).collect();
        alloc_table(&owned, super::format::SHORT_ID_LENGTH, now_ns())
    },
    min_two_chars: true,
};

/// Resolves an allocation prefix and reads the full allocation.
pub async fn find_alloc(api: &ApiClient, prefix: &str) -> Result<Allocation, LookupError> {
    let stub = ALLOC_LOOKUP.find(api, prefix).await?;
    let api = api.with_namespace(&stub.namespace);
    let path = format!("/v1/allocation/{}", escape_segment(&stub.id));
    api.get(&path, &[])
        .await
        .map(|r| r.body)
        .map_err(|source| LookupError::Api {
            context: "Error querying allocation".to_string(),
            source,
        })
}

/// `alloc status`.
pub async fn status(args: AllocStatusArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let alloc = match find_alloc(&api, args.alloc.trim()).await {
        Ok(alloc) => alloc,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    if args.json {
        println!("{}", pretty_json(&alloc));
    } else {
        println!(
            "{}",
            render_alloc(&alloc, id_length(args.verbose), args.verbose, now_ns())
        );
    }
    EXIT_OK
}

/// The text of `alloc status`.
pub fn render_alloc(alloc: &Allocation, length: usize, verbose: bool, now: i64) -> String {
    let (created, modified) = if verbose {
        (
            format_unix_nanos(alloc.create_time),
            format_unix_nanos(alloc.modify_time),
        )
    } else {
        (
            pretty_time_diff(alloc.create_time, now),
            pretty_time_diff(alloc.modify_time, now),
        )
    };
    let mut out = format_kv(&[
        ("ID", alloc.id.clone()),
        ("Eval ID", limit(&alloc.eval_id, length).to_string()),
        ("Name", alloc.name.clone()),
        ("Node ID", limit(&alloc.node_id, length).to_string()),
        ("Node Name", alloc.node_name.clone()),
        ("Job ID", alloc.job_id.clone()),
        (
            "Job Version",
            alloc.job.as_ref().map_or(0, |j| j.version).to_string(),
        ),
        ("Client Status", alloc.client_status.clone()),
        ("Client Description", alloc.client_description.clone()),
        ("Desired Status", alloc.desired_status.clone()),
        ("Desired Description", alloc.desired_description.clone()),
        ("Created", created),
        ("Modified", modified),
    ]);
    for (task, state) in &alloc.task_states {
        out.push_str(&format!("\n\nTask {task:?} is {:?}\n", state.state));
        out.push_str(&task_resources(alloc, task));
        out.push_str("\n\n");
        out.push_str(&task_status(state));
    }
    if verbose && let Some(table) = alloc.metrics.as_ref().and_then(placement_scores) {
        out.push_str("\n\nPlacement Metrics\n");
        out.push_str(&table);
    }
    out
}

/// The scores of the best candidates, one row per node, as `alloc status -verbose` shows them:
/// a column per scorer that scored any of them (sorted), then the final score.
fn placement_scores(metrics: &AllocMetric) -> Option<String> {
    if metrics.score_meta_data.is_empty() {
        return None;
    }
    let mut scorers: Vec<&str> = metrics
        .score_meta_data
        .iter()
        .flat_map(|n| n.scores.keys().map(|k| k.as_str()))
        .collect();
    scorers.sort_unstable();
    scorers.dedup();
    let mut header = vec!["Node".to_string()];
    header.extend(scorers.iter().map(|s| s.to_string()));
    header.push("final score".into());
    let mut rows = vec![header];
    for node in &metrics.score_meta_data {
        let mut row = vec![node.node_id.clone()];
        row.extend(
            scorers
                .iter()
                .map(|s| significant(node.scores.get(*s).copied().unwrap_or(0.0))),
        );
        row.push(significant(node.norm_score));
        rows.push(row);
    }
    Some(format_list(&rows))
}

/// A score to three significant digits, without trailing zeros (as Go's `%.3g` for the
/// magnitudes scores have).
pub(crate) fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return if value.is_finite() {
            "0".into()
        } else {
            value.to_string()
        };
    }
    let digits = (2 - value.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// The `Task Resources:` table of one task.
fn task_resources(alloc: &Allocation, task: &str) -> String {
    let allocated = alloc.allocated_resources.tasks.get(task);
    let requested = alloc
        .job
        .as_ref()
        .and_then(|j| j.group(&alloc.task_group))
        .and_then(|g| g.task(task))
        .map(|t| &t.resources);
    let cpu = allocated
        .map(|r| r.cpu.cpu_shares)
        .or(requested.map(|r| r.cpu))
        .unwrap_or(0);
    let memory = allocated
        .map(|r| r.memory.memory_mb)
        .or(requested.map(|r| r.memory_mb))
        .unwrap_or(0);
    let rows = vec![
        vec![
            "CPU".into(),
            "Memory".into(),
            "Disk".into(),
            "Addresses".into(),
        ],
        vec![
            format!("{cpu} MHz"),
            mib(memory),
            mib(alloc.allocated_resources.shared.disk_mb),
            String::new(),
        ],
    ];
    format!("Task Resources:\n{}", format_list_with_spaces(&rows))
}

/// `Task Events:` and `Recent Events:` of one task (newest event first).
fn task_status(state: &TaskState) -> String {
    let kv = format_kv(&[
        ("Started At", format_task_time(state.started_at.as_deref())),
        (
            "Finished At",
            format_task_time(state.finished_at.as_deref()),
        ),
        ("Total Restarts", state.restarts.to_string()),
        (
            "Last Restart",
            format_task_time(state.last_restart.as_deref()),
        ),
    ]);
    let mut rows = vec![vec![
        "Time".to_string(),
        "Type".to_string(),
        "Description".to_string(),
    ]];
    for event in state.events.iter().rev() {
        rows.push(vec![
            format_unix_nanos(event.time),
            event.event_type.clone(),
            event_description(event),
        ]);
    }
    format!(
        "Task Events:\n{kv}\n\nRecent Events:\n{}",
        format_list(&rows)
    )
}

/// An event's description: its display message, or one built from its type and details.
pub fn event_description(event: &TaskEvent) -> String {
    if !event.display_message.is_empty() {
        return event.display_message.clone();
    }
    match event.event_type.as_str() {
        task_event::STARTED => "Task started by client".to_string(),
        task_event::RECEIVED => "Task received by client".to_string(),
        task_event::DRIVER_FAILURE if !event.driver_error.is_empty() => event.driver_error.clone(),
        task_event::DRIVER_FAILURE => "Failed to start task".to_string(),
        task_event::KILLED => "Task successfully killed".to_string(),
        task_event::TERMINATED => {
            let mut parts = vec![format!("Exit Code: {}", event.exit_code)];
            if event.signal != 0 {
                parts.push(format!("Signal: {}", event.signal));
            }
            if !event.message.is_empty() {
                parts.push(format!("Exit Message: {:?}", event.message));
            }
            parts.join(", ")
        }
        task_event::NOT_RESTARTING if !event.restart_reason.is_empty() => {
            event.restart_reason.clone()
        }
        task_event::NOT_RESTARTING => "Task exceeded restart policy".to_string(),
        _ => event.message.clone(),
    }
}

#[cfg(test)]
#[path = "alloc_tests.rs"]
mod tests;
