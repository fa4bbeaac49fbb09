//! `job history [-p] [-full] [-version N] JOB`: the job's tracked versions, newest first, in
//! Nomad's key/value layout; `-p` adds each version's changes against the one before it,
//! `-full` the whole job.

use std::collections::BTreeMap;

use clap::Args;
use nomadish_proto::model::{Job, JobVersionsResponse};
use serde_json::Value;

use super::api::escape_segment;
use super::args::ApiOpts;
use super::format::{format_kv, format_unix_nanos, pretty_json};
use super::job::find_job;
use super::{EXIT_ERROR, EXIT_OK, client_or_exit};

/// Fields the server sets, left out of diffs.
const BOOKKEEPING: [&str; 8] = [
    "Version",
    "SubmitTime",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "Status",
    "StatusDescription",
    "Stable",
];

/// `job history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub api: ApiOpts,
    /// Show the changes of each version against the previous one.
    #[arg(short = 'p')]
    pub diff: bool,
    /// Show the full job of each version.
    #[arg(long)]
    pub full: bool,
    /// Show only this version.
    #[arg(long)]
    pub version: Option<u64>,
    /// Print the versions as JSON.
    #[arg(long)]
    pub json: bool,
    /// The job's ID or prefix.
    pub job: String,
}

/// Runs `job history`.
pub async fn run(args: HistoryArgs) -> i32 {
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
    let path = format!("/v1/job/{}/versions", escape_segment(&stub.id));
    let resp: JobVersionsResponse = match api.get(&path, &[]).await {
        Ok(r) => r.body,
        Err(e) => {
            eprintln!("Error retrieving job versions: {e}");
            return EXIT_ERROR;
        }
    };
    if args.json {
        println!("{}", pretty_json(&resp.versions));
        return EXIT_OK;
    }
    match render(&resp.versions, args.version, args.diff, args.full) {
        Ok(text) => {
            println!("{text}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_ERROR
        }
    }
}

/// The text of `job history` for versions given newest first.
pub fn render(
    versions: &[Job],
    only: Option<u64>,
    diff: bool,
    full: bool,
) -> Result<String, String> {
    let mut blocks = Vec::new();
    for (i, job) in versions.iter().enumerate() {
        if only.is_some_and(|v| v != job.version) {
            continue;
        }
        let mut pairs = vec![
            ("Version", job.version.to_string()),
            ("Stable", job.stable.to_string()),
            ("Submit Date", format_unix_nanos(job.submit_time)),
        ];
        if diff && let Some(prev) = versions.get(i + 1) {
            pairs.push(("Diff", format!("\n{}", job_diff(prev, job))));
        }
        let mut block = format_kv(&pairs);
        if full {
            block.push_str(&format!("\n\n{}", pretty_json(job)));
        }
        blocks.push(block);
    }
    match (blocks.is_empty(), only) {
        (true, Some(v)) => Err(format!("Could not find job version {v}")),
        _ => Ok(blocks.join("\n\n")),
    }
}

/// The changed fields between two versions, one per line: `+/- Path: "old" => "new"`,
/// `+ Path: "new"` for added and `- Path: "old"` for removed fields.
pub fn job_diff(old: &Job, new: &Job) -> String {
    let (old, new) = (flatten_job(old), flatten_job(new));
    let mut lines = Vec::new();
    for (path, value) in &new {
        match old.get(path) {
            Some(prev) if prev != value => lines.push(format!("+/- {path}: {prev:?} => {value:?}")),
            None => lines.push(format!("+ {path}: {value:?}")),
            _ => {}
        }
    }
    for (path, value) in &old {
        if !new.contains_key(path) {
            lines.push(format!("- {path}: {value:?}"));
        }
    }
    if lines.is_empty() {
        "(no changes)".to_string()
    } else {
        lines.join("\n")
    }
}

fn flatten_job(job: &Job) -> BTreeMap<String, String> {
    let mut value = serde_json::to_value(job).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        for key in BOOKKEEPING {
            map.remove(key);
        }
    }
    let mut out = BTreeMap::new();
    flatten("Job", &value, &mut out);
    out
}

fn flatten(path: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{path}.{k}"), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), v, out);
            }
        }
        Value::Null => {}
        Value::String(s) => {
            out.insert(path.to_string(), s.clone());
        }
        other => {
            out.insert(path.to_string(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use nomadish_proto::model::TaskGroup;

    use super::*;

    fn version(v: u64, count: i64) -> Job {
        Job {
            id: "web".into(),
            version: v,
            submit_time: 1_700_000_000_000_000_000 + v as i64,
            task_groups: vec![TaskGroup {
                name: "g".into(),
                count,
                ..TaskGroup::default()
            }],
            ..Job::default()
        }
    }

    #[test]
    fn versions_render_newest_first_with_diffs() {
        let versions = [version(1, 3), version(0, 1)];
        let text = render(&versions, None, true, false).unwrap();
        let blocks: Vec<&str> = text.split("\n\n").collect();
        assert_eq!(blocks.len(), 2);
        assert!(blocks[0].starts_with("Version     = 1\nStable      = false\nSubmit Date = "));
        assert!(
            text.contains("+/- Job.TaskGroups[0].Count: \"1\" => \"3\""),
            "{text}"
        );
        assert!(
            !blocks[1].contains("Diff"),
            "the oldest version has nothing to compare with"
        );
        assert!(render(&versions, Some(7), false, false).is_err());
        assert!(
            render(&versions, Some(0), false, false)
                .unwrap()
                .starts_with("Version     = 0")
        );
    }
}
