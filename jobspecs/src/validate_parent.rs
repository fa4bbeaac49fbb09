//! Nomad's rules for periodic and parameterized jobs and `dispatch_payload`: cron syntax and
//! time zone, job type, payload requirement, disjoint meta keys, payload file inside the task
//! directory.

use std::path::{Component, Path};

use nomadish_proto::model::canonicalize::{FieldPath, Problem};
use nomadish_proto::model::{JOB_TYPE_BATCH, JOB_TYPE_SYSBATCH, Job};

use crate::periodic::{parse_cron, parse_time_zone};

/// The payload requirements `parameterized { payload }` accepts.
pub const PAYLOAD_REQUIREMENTS: [&str; 3] = ["optional", "required", "forbidden"];

fn problem(path: FieldPath, message: impl Into<String>) -> Problem {
    Problem {
        path,
        message: message.into(),
    }
}

/// Problems with the job's `periodic`, `parameterized` and `dispatch_payload` blocks.
pub(crate) fn parent_problems(job: &Job, out: &mut Vec<Problem>) {
    let root = FieldPath::root();
    let batch_only = job.job_type == JOB_TYPE_BATCH || job.job_type == JOB_TYPE_SYSBATCH;
    if let Some(p) = &job.periodic {
        let path = root.field("Periodic");
        if p.enabled && !batch_only {
            out.push(problem(
                path.clone(),
                format!(
                    "Periodic can only be used with {JOB_TYPE_BATCH:?} or {JOB_TYPE_SYSBATCH:?} scheduler"
                ),
            ));
        }
        periodic_problems(p, &path, out);
    }
    if let Some(p) = &job.parameterized_job {
        let path = root.field("ParameterizedJob");
        if !batch_only {
            out.push(problem(
                path.clone(),
                format!(
                    "Parameterized job can only be used with {JOB_TYPE_BATCH:?} or {JOB_TYPE_SYSBATCH:?} scheduler"
                ),
            ));
        }
        if !PAYLOAD_REQUIREMENTS.contains(&p.payload.as_str()) {
            out.push(problem(
                path.field("Payload"),
                format!("Unknown payload requirement: {:?}", p.payload),
            ));
        }
        let both: Vec<&str> = p
            .meta_required
            .iter()
            .filter(|k| p.meta_optional.contains(k))
            .map(String::as_str)
            .collect();
        if !both.is_empty() {
            out.push(problem(
                path.field("MetaOptional"),
                format!(
                    "Required and optional meta keys should be disjoint. Following keys exist in both: {both:?}"
                ),
            ));
        }
    }
    for (i, group) in job.task_groups.iter().enumerate() {
        if let Some(scaling) = &group.scaling {
            let path = root.field("TaskGroups").index(i).field("Scaling");
            scaling_problems(group, scaling, &path, out);
        }
        for (j, task) in group.tasks.iter().enumerate() {
            let Some(d) = &task.dispatch_payload else {
                continue;
            };
            if escapes(&d.file) {
                let path = root.field("TaskGroups").index(i).field("Tasks").index(j);
                out.push(problem(
                    path.field("DispatchPayload").field("File"),
                    format!(
                        "Task {:?}: dispatch_payload file {:?} escapes the task's local directory",
                        task.name, d.file
                    ),
                ));
            }
        }
    }
}

fn scaling_problems(
    group: &nomadish_proto::model::TaskGroup,
    p: &nomadish_proto::model::ScalingPolicy,
    path: &FieldPath,
    out: &mut Vec<Problem>,
) {
    let ctx = format!("Task group {:?}: scaling policy", group.name);
    let Some(max) = p.max else {
        out.push(problem(
            path.clone(),
            format!("{ctx}: maximum count must be specified"),
        ));
        return;
    };
    let min = p.min.unwrap_or(group.count);
    if min < 0 {
        out.push(problem(
            path.field("Min"),
            format!("{ctx}: minimum count must not be negative"),
        ));
    }
    if max < min {
        out.push(problem(
            path.field("Max"),
            format!("{ctx}: maximum count must not be less than minimum count"),
        ));
    } else if group.count < min || group.count > max {
        out.push(problem(
            path.clone(),
            format!(
                "{ctx}: group count {} must be between the policy's min {min} and max {max}",
                group.count
            ),
        ));
    }
}

fn periodic_problems(
    p: &nomadish_proto::model::PeriodicConfig,
    path: &FieldPath,
    out: &mut Vec<Problem>,
) {
    if p.spec_type != "cron" {
        out.push(problem(
            path.field("SpecType"),
            format!("Unknown periodic specification type {:?}", p.spec_type),
        ));
    }
    if p.spec.is_empty() && p.specs.is_empty() {
        out.push(problem(path.clone(), "Must specify a spec"));
    }
    if !p.spec.is_empty() && !p.specs.is_empty() {
        out.push(problem(path.clone(), "Only cron or crons may be used"));
    }
    if !p.spec.is_empty()
        && let Err(e) = parse_cron(&p.spec)
    {
        out.push(problem(path.field("Spec"), e.to_string()));
    }
    for (i, spec) in p.specs.iter().enumerate() {
        if let Err(e) = parse_cron(spec) {
            out.push(problem(path.field("Specs").index(i), e.to_string()));
        }
    }
    if let Err(e) = parse_time_zone(&p.time_zone) {
        out.push(problem(path.field("TimeZone"), e.to_string()));
    }
}

/// Whether a path relative to the task's `local/` directory leaves it.
pub fn escapes(file: &str) -> bool {
    let mut depth: i64 = 0;
    for c in Path::new(file).components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::{JobspecError, parse};

    const PERIODIC: &str = r#"job "report" {
  type = "batch"
  periodic {
    crons            = ["*/5 * * * * *"]
    prohibit_overlap = true
    time_zone        = "Europe/Paris"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
"#;

    #[test]
    fn periodic_block_decodes_with_nomads_defaults() {
        let job = parse(PERIODIC, "p.hcl").unwrap();
        let p = job.periodic.unwrap();
        assert!(p.enabled && p.prohibit_overlap);
        assert_eq!(p.specs, ["*/5 * * * * *"]);
        assert_eq!(
            (p.spec_type.as_str(), p.time_zone.as_str()),
            ("cron", "Europe/Paris")
        );
    }

    #[test]
    fn bad_cron_and_zone_are_positioned() {
        let src = PERIODIC
            .replace("*/5 * * * * *", "61 * * * *")
            .replace("Europe/Paris", "Nowhere/Land");
        let err = parse(&src, "p.hcl").unwrap_err();
        let JobspecError::Invalid(diags) = err else {
            panic!("expected validation errors, got {err}");
        };
        let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert!(
            text[0].starts_with("p.hcl:4:5: Invalid cron spec \"61 * * * *\""),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("p.hcl:6:5: Invalid time zone \"Nowhere/Land\""),
            "{text:?}"
        );
    }

    #[test]
    fn parameterized_and_dispatch_payload_decode_and_validate() {
        let src = r#"job "work" {
  type = "batch"
  parameterized {
    payload       = "required"
    meta_required = ["customer"]
    meta_optional = ["tier"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/cat" }
      dispatch_payload { file = "input.txt" }
    }
  }
}
"#;
        let job = parse(src, "d.hcl").unwrap();
        let p = job.parameterized_job.as_ref().unwrap();
        assert_eq!(p.payload, "required");
        assert_eq!(p.meta_required, ["customer"]);
        let file = &job.task_groups[0].tasks[0]
            .dispatch_payload
            .as_ref()
            .unwrap()
            .file;
        assert_eq!(file, "input.txt");

        let bad = src
            .replace("\"required\"", "\"sometimes\"")
            .replace("input.txt", "../../escape")
            .replace("type = \"batch\"", "type = \"service\"");
        let msg = parse(&bad, "d.hcl").unwrap_err().to_string();
        assert!(
            msg.contains("Parameterized job can only be used with \"batch\""),
            "{msg}"
        );
        assert!(
            msg.contains("Unknown payload requirement: \"sometimes\""),
            "{msg}"
        );
        assert!(msg.contains("escapes the task's local directory"), "{msg}");
    }

    #[test]
    fn scaling_block_decodes_and_its_bounds_are_checked() {
        let src = r#"job "web" {
  group "g" {
    count = 2
    scaling {
      min = 1
      max = 5
    }
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
"#;
        let job = parse(src, "s.hcl").unwrap();
        let s = job.task_groups[0].scaling.as_ref().unwrap();
        assert_eq!((s.min, s.max, s.enabled), (Some(1), Some(5), true));
        assert_eq!(s.policy_type, "horizontal");
        assert!(s.policy.is_empty());
        let msg = parse(&src.replace("max = 5", "max = 1"), "s.hcl")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(
                "s.hcl:4:5: Task group \"g\": scaling policy: group count 2 must be between"
            ),
            "{msg}"
        );
        let msg = parse(&src.replace("min = 1", "min = 9"), "s.hcl")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("maximum count must not be less than minimum count"),
            "{msg}"
        );
        let msg = parse(&src.replace("      max = 5\n", ""), "s.hcl")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("maximum count must be specified"), "{msg}");
    }
}
