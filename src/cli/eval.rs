//! `eval status`: an evaluation's fields, the allocations it placed, and why placements
//! failed, laid out as Nomad does.

use nomadish_proto::model::{AllocListStub, EVAL_STATUS_BLOCKED, Evaluation, now_ns};

use super::api::{ApiClient, escape_segment};
use super::args::EvalStatusArgs;
use super::format::{
    format_kv, format_list, format_unix_nanos, id_length, limit, pretty_json, pretty_time_diff,
};
use super::job_status::alloc_table;
use super::monitor::{failed_group_heading, format_alloc_metrics};
use super::prefix::{Lookup, LookupError};
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// The evaluation prefix lookup.
pub const EVAL_LOOKUP: Lookup<'static, Evaluation> = Lookup {
    path: "/v1/evaluations",
    kind_any: "evaluation(s)",
    kind_many: "evaluations",
    context: "Error querying evaluation",
    id: |e| e.id.as_str(),
    listing: eval_list_table,
    min_two_chars: true,
};

/// The short evaluations table shown for ambiguous prefixes.
fn eval_list_table(evals: &[&Evaluation]) -> String {
    let mut rows = vec![
        [
            "ID",
            "Priority",
            "Triggered By",
            "Job ID",
            "Status",
            "Placement Failures",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for e in evals {
        rows.push(vec![
            limit(&e.id, super::format::SHORT_ID_LENGTH).to_string(),
            e.priority.to_string(),
            e.triggered_by.clone(),
            e.job_id.clone(),
            e.status.clone(),
            failure_status(e),
        ]);
    }
    format_list(&rows)
}

/// Nomad's `Placement Failures` cell: true/false, or `N/A - In Progress` while blocked.
pub fn failure_status(eval: &Evaluation) -> String {
    if eval.status == EVAL_STATUS_BLOCKED {
        "N/A - In Progress".to_string()
    } else {
        (!eval.failed_tg_allocs.is_empty()).to_string()
    }
}

/// Resolves an evaluation prefix and reads the evaluation.
pub async fn find_eval(api: &ApiClient, prefix: &str) -> Result<Evaluation, LookupError> {
    let found = EVAL_LOOKUP.find(api, prefix).await?;
    let path = format!("/v1/evaluation/{}", escape_segment(&found.id));
    api.with_namespace(&found.namespace)
        .get(&path, &[])
        .await
        .map(|r| r.body)
        .map_err(|source| LookupError::Api {
            context: "Error querying evaluation".to_string(),
            source,
        })
}

/// `eval status`.
pub async fn status(args: EvalStatusArgs) -> i32 {
    let Some(api) = client_or_exit(&args.api) else {
        return EXIT_ERROR;
    };
    let eval = match find_eval(&api, args.eval.trim()).await {
        Ok(eval) => eval,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    if args.json {
        println!("{}", pretty_json(&eval));
        return EXIT_OK;
    }
    let path = format!("/v1/evaluation/{}/allocations", escape_segment(&eval.id));
    let api = api.with_namespace(&eval.namespace);
    let allocs: Vec<AllocListStub> = match api.get(&path, &[]).await {
        Ok(resp) => resp.body,
        Err(e) => {
            eprintln!("Error querying related allocations: {e}");
            return EXIT_ERROR;
        }
    };
    let length = id_length(args.verbose);
    println!(
        "{}",
        render_eval(&eval, &allocs, length, args.verbose, now_ns())
    );
    EXIT_OK
}

/// The text of `eval status`.
pub fn render_eval(
    eval: &Evaluation,
    allocs: &[AllocListStub],
    length: usize,
    verbose: bool,
    now: i64,
) -> String {
    let time = |ns| {
        if verbose {
            format_unix_nanos(ns)
        } else {
            pretty_time_diff(ns, now)
        }
    };
    let description = if eval.status_description.is_empty() {
        eval.status.clone()
    } else {
        eval.status_description.clone()
    };
    let mut kv = vec![
        ("ID", limit(&eval.id, length).to_string()),
        ("Create Time", time(eval.create_time)),
        ("Modify Time", time(eval.modify_time)),
        ("Status", eval.status.clone()),
        ("Status Description", description),
        ("Type", eval.eval_type.clone()),
        ("TriggeredBy", eval.triggered_by.clone()),
        ("Job ID", eval.job_id.clone()),
        ("Namespace", eval.namespace.clone()),
    ];
    match eval.triggered_by.as_str() {
        "node-update" => kv.push(("Node ID", eval.node_id.clone())),
        "max-plan-attempts" => kv.push(("Previous Eval", eval.previous_eval.clone())),
        _ => {}
    }
    kv.push(("Priority", eval.priority.to_string()));
    kv.push(("Placement Failures", failure_status(eval)));
    if eval.wait_until > 0 {
        kv.push(("Wait Until", format_unix_nanos(eval.wait_until)));
    }
    kv.push((
        "Previous Eval",
        limit(&eval.previous_eval, length).to_string(),
    ));
    kv.push(("Next Eval", limit(&eval.next_eval, length).to_string()));
    kv.push((
        "Blocked Eval",
        limit(&eval.blocked_eval, length).to_string(),
    ));
    let mut out = format_kv(&kv);
    if !allocs.is_empty() {
        out.push_str("\n\nPlaced Allocations\n");
        out.push_str(&alloc_table(allocs, length, now));
    }
    if !eval.failed_tg_allocs.is_empty() {
        out.push_str("\n\nFailed Placements\n");
        out.push_str(&failed_placements(eval, length));
    }
    out
}

/// The `Failed Placements` section: each group's reasons, then the blocked evaluation.
fn failed_placements(eval: &Evaluation, length: usize) -> String {
    let mut lines = Vec::new();
    for (group, metrics) in &eval.failed_tg_allocs {
        lines.push(failed_group_heading(group, metrics));
        lines.extend(format_alloc_metrics(metrics, "  "));
    }
    if !eval.blocked_eval.is_empty() {
        lines.push(format!(
            "\nEvaluation {:?} waiting for additional capacity to place remainder",
            limit(&eval.blocked_eval, length)
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use nomadish_proto::model::AllocMetric;

    const S: i64 = 1_000_000_000;
    const NOW: i64 = 1_709_210_096 * S;

    #[test]
    fn eval_status_with_failures() {
        let mut eval = Evaluation {
            id: "8e9f0a1b-2c3d-4e5f-6a7b-8c9d0e1f2a3b".into(),
            namespace: "default".into(),
            priority: 50,
            eval_type: "service".into(),
            triggered_by: "job-register".into(),
            job_id: "web".into(),
            status: "complete".into(),
            blocked_eval: "aa11bb22-cc33-dd44-ee55-ff6677889900".into(),
            create_time: NOW - 30 * S,
            modify_time: NOW - 29 * S,
            ..Default::default()
        };
        let mut metrics = AllocMetric {
            nodes_evaluated: 1,
            coalesced_failures: 1,
            ..Default::default()
        };
        metrics
            .constraint_filtered
            .insert("${attr.kernel.name} = windows".into(), 1);
        eval.failed_tg_allocs.insert("app".into(), metrics);
        let text = render_eval(&eval, &[], 8, false, NOW);
        let expected = "\
ID                 = 8e9f0a1b
Create Time        = 30s ago
Modify Time        = 29s ago
Status             = complete
Status Description = complete
Type               = service
TriggeredBy        = job-register
Job ID             = web
Namespace          = default
Priority           = 50
Placement Failures = true
Previous Eval      = <none>
Next Eval          = <none>
Blocked Eval       = aa11bb22

Failed Placements
Task Group \"app\" (failed to place 2 allocations):
  * Constraint \"${attr.kernel.name} = windows\": 1 nodes excluded by filter

Evaluation \"aa11bb22\" waiting for additional capacity to place remainder";
        assert_eq!(text, expected);
    }

    #[test]
    fn blocked_eval_failures_are_in_progress() {
        let eval = Evaluation {
            status: "blocked".into(),
            ..Default::default()
        };
        assert_eq!(failure_status(&eval), "N/A - In Progress");
        let done = Evaluation {
            status: "complete".into(),
            ..Default::default()
        };
        assert_eq!(failure_status(&done), "false");
    }
}
