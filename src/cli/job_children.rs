//! The parts of `job status` for periodic and parameterized (parent) jobs: the next launch,
//! the parameterized block, the children summary and the children launched so far.

use nomadish_jobspecs::periodic::Schedule;
use nomadish_proto::model::{Job, JobListStub, JobSummary};

use super::format::{format_kv, format_list, format_unix_nanos, pretty_time_diff};

/// The `Next Periodic Launch` header value, when the job is an enabled periodic job.
pub fn next_launch(job: &Job, now: i64) -> Option<String> {
    let periodic = job.periodic.as_ref().filter(|p| p.enabled && !job.stop)?;
    let next = Schedule::new(periodic).ok()?.next_after(now)?;
    Some(format!(
        "{} ({})",
        format_unix_nanos(next),
        pretty_time_diff(next, now)
    ))
}

/// Everything `job status` prints after the header of a parent job.
pub fn render_parent(job: &Job, summary: &JobSummary, children: &[JobListStub]) -> String {
    let mut out = String::new();
    let title = if let Some(p) = &job.parameterized_job {
        out.push_str("\n\nParameterized Job\n");
        out.push_str(&format_kv(&[
            ("Payload", p.payload.clone()),
            ("Required Metadata", p.meta_required.join(", ")),
            ("Optional Metadata", p.meta_optional.join(", ")),
        ]));
        ("Parameterized Job Summary", "Dispatched Jobs")
    } else {
        ("Children Job Summary", "Previously Launched Jobs")
    };
    let c = summary.children;
    out.push_str(&format!("\n\n{}\n", title.0));
    out.push_str(&format_list(&[
        vec!["Pending".into(), "Running".into(), "Dead".into()],
        vec![
            c.pending.to_string(),
            c.running.to_string(),
            c.dead.to_string(),
        ],
    ]));
    out.push_str(&format!("\n\n{}\n", title.1));
    if children.is_empty() {
        out.push_str(&format!("No {} found", title.1.to_lowercase()));
        return out;
    }
    let mut rows = vec![vec!["ID".to_string(), "Status".to_string()]];
    rows.extend(
        children
            .iter()
            .map(|j| vec![j.id.clone(), j.status.clone()]),
    );
    out.push_str(&format_list(&rows));
    out
}

#[cfg(test)]
mod tests {
    use nomadish_proto::model::{JobChildrenSummary, PeriodicConfig};

    use super::*;

    const T0: i64 = 1_704_067_200_000_000_000;

    #[test]
    fn periodic_parent_shows_next_launch_and_children() {
        let job = Job {
            id: "report".into(),
            periodic: Some(PeriodicConfig {
                enabled: true,
                specs: vec!["*/30 * * * * *".into()],
                ..PeriodicConfig::default()
            }),
            ..Job::default()
        };
        let next = next_launch(&job, T0 + 10_000_000_000).unwrap();
        assert!(next.ends_with("(20s from now)"), "{next}");
        let summary = JobSummary {
            children: JobChildrenSummary {
                pending: 0,
                running: 1,
                dead: 2,
            },
            ..JobSummary::default()
        };
        let child = JobListStub {
            id: "report/periodic-1704067200".into(),
            status: "running".into(),
            ..JobListStub::default()
        };
        let text = render_parent(&job, &summary, &[child]);
        assert!(
            text.contains("Children Job Summary\nPending  Running  Dead\n0        1        2"),
            "{text}"
        );
        assert!(text.contains("Previously Launched Jobs\nID                          Status\nreport/periodic-1704067200  running"), "{text}");
    }
}
