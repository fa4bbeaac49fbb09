//! `group "name" { ... }`: attributes, then policy blocks (so the group's restart policy is
//! known before its tasks merge theirs into it), then tasks.

use std::collections::BTreeMap;

use hcl_edit::structure::{Attribute, Block};
use nomadish_proto::model::canonicalize::{FieldPath, default_reschedule, default_restart};
use nomadish_proto::model::{EphemeralDisk, Job, TaskGroup, UpdateStrategy};

use super::{Decoder, attr_offset, block_offset, label_offset};
use crate::convert;

impl Decoder<'_> {
    pub(super) fn group(
        &mut self,
        block: &Block,
        job: &Job,
        path: &FieldPath,
    ) -> Option<TaskGroup> {
        let name = self.label(block)?;
        let mut group = TaskGroup {
            name,
            ..TaskGroup::default()
        };
        self.record(path.clone(), block_offset(block));
        self.record(path.field("Name"), label_offset(block));
        let ctx = format!("group {:?}", group.name);
        for attr in block.body.attributes() {
            self.group_attribute(&mut group, attr, path, &ctx);
        }
        let mut seen = BTreeMap::new();
        for b in block.body.blocks().filter(|b| b.ident.as_str() != "task") {
            self.group_block(&mut group, job, b, path, &mut seen, &ctx);
        }
        let task_restart = group
            .restart_policy
            .clone()
            .unwrap_or_else(|| default_restart(&job.job_type));
        for b in block.body.blocks().filter(|b| b.ident.as_str() == "task") {
            let task_path = path.field("Tasks").index(group.tasks.len());
            if let Some(task) = self.task(b, &task_restart, &task_path) {
                group.tasks.push(task);
            }
        }
        self.volume_spans(block, &group, path);
        Some(group)
    }

    fn group_attribute(
        &mut self,
        group: &mut TaskGroup,
        attr: &Attribute,
        path: &FieldPath,
        ctx: &str,
    ) {
        match attr.key.as_str() {
            "count" => self.set(attr, path.field("Count"), &mut group.count, convert::int),
            "shutdown_delay" => {
                if let Some(delay) = self.read(attr, convert::duration) {
                    group.shutdown_delay = Some(delay);
                    self.record(path.field("ShutdownDelay"), attr_offset(attr));
                }
            }
            "meta" => self.string_map_attribute(attr, &mut group.meta, path.field("Meta")),
            _ => self.unknown_attribute(attr, ctx),
        }
    }

    fn group_block(
        &mut self,
        group: &mut TaskGroup,
        job: &Job,
        b: &Block,
        path: &FieldPath,
        seen: &mut BTreeMap<String, usize>,
        ctx: &str,
    ) {
        match b.ident.as_str() {
            "constraint" => {
                let c_path = path.field("Constraints").index(group.constraints.len());
                if let Some(c) = self.constraint(b, &c_path) {
                    group.constraints.push(c);
                }
            }
            "meta" => self.string_map_block(b, &mut group.meta, path.field("Meta")),
            "affinity" => {
                let a_path = path.field("Affinities").index(group.affinities.len());
                if let Some(a) = self.affinity(b, &a_path) {
                    group.affinities.push(a);
                }
            }
            "spread" => {
                let s_path = path.field("Spreads").index(group.spreads.len());
                if let Some(s) = self.spread(b, &s_path) {
                    group.spreads.push(s);
                }
            }
            "network" => {
                let n_path = path.field("Networks").index(group.networks.len());
                if let Some(network) = self.network(b, &n_path) {
                    group.networks.push(network);
                }
            }
            "restart" if self.first_of_kind(seen, b) => {
                let base = default_restart(&job.job_type);
                group.restart_policy = Some(self.restart(b, &path.field("RestartPolicy"), base));
            }
            "reschedule" if self.first_of_kind(seen, b) => {
                let base = job
                    .reschedule
                    .clone()
                    .or_else(|| default_reschedule(&job.job_type))
                    .unwrap_or_default();
                let policy = self.reschedule(b, &path.field("ReschedulePolicy"), base);
                group.reschedule_policy = Some(policy);
            }
            "update" if self.first_of_kind(seen, b) => {
                let base = job
                    .update
                    .clone()
                    .unwrap_or_else(UpdateStrategy::nomad_default);
                group.update = Some(self.update(b, &path.field("Update"), base));
            }
            "ephemeral_disk" if self.first_of_kind(seen, b) => {
                let disk = self.ephemeral_disk(b, &path.field("EphemeralDisk"));
                group.ephemeral_disk = Some(disk);
            }
            "scaling" if self.first_of_kind(seen, b) => {
                group.scaling = Some(self.scaling(b, &path.field("Scaling")));
            }
            "migrate" if self.first_of_kind(seen, b) => {
                group.migrate = Some(self.migrate(b, &path.field("Migrate")));
            }
            "service" => {
                let s_path = path.field("Services").index(group.services.len());
                group.services.extend(self.service(b, &s_path));
            }
            "restart" | "reschedule" | "update" | "ephemeral_disk" | "scaling" | "migrate" => {}
            "volume" => self.group_volume(group, b),
            _ => self.unknown_block(b, ctx),
        }
    }

    fn ephemeral_disk(&mut self, block: &Block, path: &FieldPath) -> EphemeralDisk {
        self.record(path.clone(), block_offset(block));
        let mut disk = EphemeralDisk::default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "size" => self.set(attr, path.field("SizeMB"), &mut disk.size_mb, convert::int),
                "sticky" => self.set(
                    attr,
                    path.field("Sticky"),
                    &mut disk.sticky,
                    convert::boolean,
                ),
                "migrate" => {
                    self.set(
                        attr,
                        path.field("Migrate"),
                        &mut disk.migrate,
                        convert::boolean,
                    );
                }
                _ => self.unknown_attribute(attr, "ephemeral_disk"),
            }
        }
        self.no_blocks(block, "ephemeral_disk");
        disk
    }
}
