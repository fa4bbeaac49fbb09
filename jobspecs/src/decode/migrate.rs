//! The group `migrate` block: how a node drain moves the group's allocations (merged into
//! Nomad's defaults: `max_parallel = 1`, `health_check = "checks"`, `min_healthy_time = "10s"`,
//! `healthy_deadline = "5m"`).

use hcl_edit::structure::Block;
use nomadish_proto::model::MigrateStrategy;
use nomadish_proto::model::canonicalize::FieldPath;

use super::{Decoder, block_offset};
use crate::convert;

impl Decoder<'_> {
    pub(super) fn migrate(&mut self, block: &Block, path: &FieldPath) -> MigrateStrategy {
        self.record(path.clone(), block_offset(block));
        let mut m = MigrateStrategy::nomad_default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "max_parallel" => self.set(
                    attr,
                    path.field("MaxParallel"),
                    &mut m.max_parallel,
                    convert::int,
                ),
                "health_check" => {
                    let slot = &mut m.health_check;
                    self.set(attr, path.field("HealthCheck"), slot, convert::string);
                }
                "min_healthy_time" => {
                    let slot = &mut m.min_healthy_time;
                    self.set(attr, path.field("MinHealthyTime"), slot, convert::duration);
                }
                "healthy_deadline" => {
                    let slot = &mut m.healthy_deadline;
                    self.set(attr, path.field("HealthyDeadline"), slot, convert::duration);
                }
                _ => self.unknown_attribute(attr, "migrate"),
            }
        }
        self.no_blocks(block, "migrate");
        m
    }
}

#[cfg(test)]
mod tests {
    use nomadish_proto::model::NS_PER_SEC;

    const SPEC: &str = r#"
job "web" {
  group "g" {
    migrate {
      max_parallel     = 2
      min_healthy_time = "3s"
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
"#;

    #[test]
    fn group_migrate_block_merges_into_nomads_defaults() {
        let job = crate::parse(SPEC, "web.hcl").expect("parses");
        let m = job.task_groups[0].migrate.clone().expect("migrate");
        assert_eq!(m.max_parallel, 2);
        assert_eq!(m.min_healthy_time, 3 * NS_PER_SEC);
        assert_eq!(m.healthy_deadline, 300 * NS_PER_SEC);
        assert_eq!(m.health_check, "checks");
        let bad = SPEC.replace("max_parallel     = 2", "max_parallel = 2\n      bogus = 1");
        assert!(crate::parse(&bad, "web.hcl").is_err());
    }
}
