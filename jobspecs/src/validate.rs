//! Validation of a decoded, canonicalized job: Nomad's rules from `Job::problems`, plus the
//! check that `regexp` constraint values compile (which needs the `regex` crate that the
//! model crate does not depend on). Problems are positioned through the [`SpanMap`].

mod volumes;

use nomadish_proto::model::canonicalize::{FieldPath, Problem};
use nomadish_proto::model::{Constraint, Job};

use crate::error::Diagnostic;
use crate::source::Source;
use crate::spans::SpanMap;

/// The largest compiled regular expression a constraint may hold, in bytes.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Every problem with a canonicalized job: `Job::problems` and uncompilable `regexp`
/// constraint values.
pub fn job_problems(job: &Job) -> Vec<Problem> {
    let mut problems = job.problems();
    crate::validate_parent::parent_problems(job, &mut problems);
    crate::validate_service::service_problems(job, &mut problems);
    volumes::volume_problems(job, &mut problems);
    let root = FieldPath::root();
    regexp_problems(
        &job.constraints,
        &root.field("Constraints"),
        "Job",
        &mut problems,
    );
    for (i, group) in job.task_groups.iter().enumerate() {
        let path = root.field("TaskGroups").index(i);
        let ctx = format!("Task group {:?}", group.name);
        regexp_problems(
            &group.constraints,
            &path.field("Constraints"),
            &ctx,
            &mut problems,
        );
        for (j, task) in group.tasks.iter().enumerate() {
            let path = path.field("Tasks").index(j).field("Constraints");
            let ctx = format!("Task {:?} in group {:?}", task.name, group.name);
            regexp_problems(&task.constraints, &path, &ctx, &mut problems);
        }
    }
    problems
}

/// Validates a canonicalized job like `Job::validate`, and also checks that `regexp`
/// constraint values compile. For jobs that arrive as JSON.
pub fn validate_job(job: &Job) -> Result<(), Vec<String>> {
    let problems = job_problems(job);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.into_iter().map(|p| p.message).collect())
    }
}

fn regexp_problems(
    constraints: &[Constraint],
    path: &FieldPath,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    for (i, c) in constraints.iter().enumerate() {
        // A value with `${...}` is filled in per node; it can only be checked there.
        if c.operand != "regexp" || c.r_target.is_empty() || c.r_target.contains("${") {
            continue;
        }
        let compiled = regex::RegexBuilder::new(&c.r_target)
            .size_limit(REGEX_SIZE_LIMIT)
            .build();
        if let Err(err) = compiled {
            let first_line = err
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .to_string();
            out.push(Problem {
                path: path.index(i).field("RTarget"),
                message: format!(
                    "{ctx}: constraint {}: regular expression {:?} does not compile: {}",
                    i + 1,
                    c.r_target,
                    first_line.trim()
                ),
            });
        }
    }
}

/// Positions each problem at the field (or nearest enclosing block) that caused it, sorted by
/// position.
pub(crate) fn diagnostics(
    problems: Vec<Problem>,
    spans: &SpanMap,
    src: &Source<'_>,
) -> Vec<Diagnostic> {
    let mut out: Vec<(usize, Diagnostic)> = problems
        .into_iter()
        .map(|p| {
            let offset = spans.locate(&p.path);
            (offset, src.diagnostic(offset, p.message))
        })
        .collect();
    out.sort_by_key(|(offset, _)| *offset);
    out.into_iter().map(|(_, d)| d).collect()
}
