//! `job plan FILE`: the diff against the registered job and the scheduler's dry run, laid out
//! as Nomad prints them, ending with the `job run -check-index` to use.
//!
//! Exit codes (Nomad's): 0 no allocations would be created or destroyed, 1 some would be,
//! 255 error.

use std::path::PathBuf;

use clap::Args;
use nomadish_proto::model::{
    DIFF_ADDED, DIFF_DELETED, DIFF_EDITED, DIFF_NONE, FieldDiff, JobDiff, JobPlanRequest,
    JobPlanResponse, ObjectDiff, TaskDiff, TaskGroupDiff,
};

use super::api::escape_segment;
use super::args::ApiOpts;
use super::client_or_exit;
use super::job::{apply_flag_scope, client_for_job};
use super::jobspec::load_job_with;
use super::monitor::{failed_group_heading, format_alloc_metrics};

/// Exit code: no allocation changes.
pub const PLAN_NO_CHANGES: i32 = 0;
/// Exit code: allocations would be created or destroyed.
pub const PLAN_CHANGES: i32 = 1;
/// Exit code: the plan could not be made.
pub const PLAN_ERROR: i32 = 255;

/// `job plan`.
#[derive(Debug, Args)]
pub struct JobPlanArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Show the diff (default true; `-diff=false` hides it).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub diff: bool,
    /// Show unchanged fields too, and the placement scores.
    #[arg(long)]
    pub verbose: bool,
    /// The file holds the job as JSON instead of HCL.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub vars: super::args::VarOpts,
    /// The job file.
    pub file: PathBuf,
}

/// `job plan FILE`.
pub async fn run(args: JobPlanArgs) -> i32 {
    let mut job = match load_job_with(&args.file, args.json, &args.vars) {
        Ok((job, warnings)) => {
            super::jobspec::print_warnings(&warnings);
            job
        }
        Err(e) => {
            eprintln!("Error getting job struct: {e}");
            return PLAN_ERROR;
        }
    };
    let Some(api) = client_or_exit(&args.api) else {
        return PLAN_ERROR;
    };
    apply_flag_scope(&mut job, api.config());
    let api = client_for_job(&api, &job);
    let path = format!("/v1/job/{}/plan", escape_segment(&job.id));
    let body = JobPlanRequest {
        job: Some(job),
        diff: true,
        policy_override: false,
    };
    let resp: JobPlanResponse = match api.put(&path, &body, &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error during plan: {e}");
            return PLAN_ERROR;
        }
    };
    let file = args.file.display().to_string();
    print!("{}", render_plan(&resp, args.diff, args.verbose, &file));
    exit_code(&resp)
}

/// Nomad's exit code for a plan.
pub fn exit_code(resp: &JobPlanResponse) -> i32 {
    let changes = resp.annotations.as_ref().is_some_and(|a| {
        a.desired_tg_updates
            .values()
            .any(|d| d.stop + d.place + d.migrate + d.destructive_update + d.canary > 0)
    });
    if changes {
        PLAN_CHANGES
    } else {
        PLAN_NO_CHANGES
    }
}

/// The whole output: diff, dry run, check-index hint.
pub fn render_plan(resp: &JobPlanResponse, diff: bool, verbose: bool, file: &str) -> String {
    let mut out = String::new();
    if diff && let Some(d) = &resp.diff {
        out.push_str(&format_job_diff(d, verbose));
        out.push_str("\n\n");
    }
    out.push_str("Scheduler dry-run:\n");
    out.push_str(&dry_run(resp));
    out.push('\n');
    if !resp.warnings.is_empty() {
        out.push_str(&format!("\nJob Warnings:\n{}\n", resp.warnings));
    }
    out.push_str(&format!(
        "\nJob Modify Index: {idx}\n\
         To submit the job with version verification run:\n\n\
         nomadish job run -check-index {idx} {file}\n\n\
         When running the job with the check-index flag, the job will only be run if the\n\
         job modify index given matches the server-side version. If the index has\n\
         changed, another user has modified the job and the plan's results are\n\
         potentially invalid.\n",
        idx = resp.job_modify_index
    ));
    out
}

fn dry_run(resp: &JobPlanResponse) -> String {
    if resp.failed_tg_allocs.is_empty() {
        return "- All tasks successfully allocated.".to_string();
    }
    let mut lines = vec!["- WARNING: Failed to place all allocations.".to_string()];
    for (group, metrics) in &resp.failed_tg_allocs {
        lines.push(format!("  {}", failed_group_heading(group, metrics)));
        lines.extend(format_alloc_metrics(metrics, "    "));
    }
    lines.join("\n")
}

fn marker(diff_type: &str) -> &'static str {
    match diff_type {
        DIFF_ADDED => "+",
        DIFF_DELETED => "-",
        DIFF_EDITED => "+/-",
        _ => "",
    }
}

/// Whether a part of the diff is shown: changes always, unchanged parts with `-verbose`.
fn shown(diff_type: &str, verbose: bool) -> bool {
    verbose || diff_type != DIFF_NONE
}

/// Fields and objects of an added or deleted object are shown only with `-verbose`.
fn expand(diff_type: &str, verbose: bool) -> bool {
    verbose || diff_type == DIFF_EDITED
}

/// The job diff with Nomad's `+`, `-` and `+/-` markers.
pub fn format_job_diff(d: &JobDiff, verbose: bool) -> String {
    let mut lines = vec![
        format!("{} Job: {:?}", marker(&d.diff_type), d.id)
            .trim_start()
            .to_string(),
    ];
    if expand(&d.diff_type, verbose) {
        lines.extend(fields_and_objects(&d.fields, &d.objects, 0, verbose));
    }
    for g in d
        .task_groups
        .iter()
        .filter(|g| shown(&g.diff_type, verbose))
    {
        lines.extend(group_lines(g, verbose));
    }
    lines.join("\n")
}

fn group_lines(g: &TaskGroupDiff, verbose: bool) -> Vec<String> {
    let mut head = format!("{} Task Group: {:?}", marker(&g.diff_type), g.name)
        .trim_start()
        .to_string();
    if !g.updates.is_empty() {
        let parts: Vec<String> = g.updates.iter().map(|(k, n)| format!("{n} {k}")).collect();
        head.push_str(&format!(" ({})", parts.join(", ")));
    }
    let mut lines = vec![head];
    if expand(&g.diff_type, verbose) {
        lines.extend(fields_and_objects(&g.fields, &g.objects, 2, verbose));
    }
    // Every task gets its heading; unchanged ones without fields unless -verbose.
    for t in &g.tasks {
        lines.extend(task_lines(t, verbose));
    }
    lines
}

fn task_lines(t: &TaskDiff, verbose: bool) -> Vec<String> {
    let mut head = match marker(&t.diff_type) {
        "" => format!("      Task: {:?}", t.name),
        m => format!("  {m} Task: {:?}", t.name),
    };
    if !t.annotations.is_empty() {
        head.push_str(&format!(" ({})", t.annotations.join(", ")));
    }
    let mut lines = vec![head];
    if expand(&t.diff_type, verbose) {
        lines.extend(fields_and_objects(&t.fields, &t.objects, 4, verbose));
    }
    lines
}

fn fields_and_objects(
    fields: &[FieldDiff],
    objects: &[ObjectDiff],
    indent: usize,
    verbose: bool,
) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut lines: Vec<String> = fields
        .iter()
        .filter(|f| shown(&f.diff_type, verbose))
        .map(|f| format!("{pad}{}", field_line(f)))
        .collect();
    for o in objects.iter().filter(|o| shown(&o.diff_type, verbose)) {
        lines.push(match marker(&o.diff_type) {
            "" => format!("{pad}  {} {{", o.name),
            m => format!("{pad}{m} {} {{", o.name),
        });
        lines.extend(fields_and_objects(
            &o.fields,
            &o.objects,
            indent + 2,
            verbose,
        ));
        lines.push(format!("{pad}}}"));
    }
    lines
}

fn field_line(f: &FieldDiff) -> String {
    let line = match f.diff_type.as_str() {
        DIFF_ADDED => format!("+ {}: {:?}", f.name, f.new),
        DIFF_DELETED => format!("- {}: {:?}", f.name, f.old),
        DIFF_EDITED => format!("+/- {}: {:?} => {:?}", f.name, f.old, f.new),
        _ => format!("  {}: {:?}", f.name, f.new),
    };
    if f.annotations.is_empty() {
        line
    } else {
        format!("{line} ({})", f.annotations.join(", "))
    }
}

#[cfg(test)]
#[path = "job_plan_tests.rs"]
mod tests;
