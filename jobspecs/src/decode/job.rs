//! `job "id" { ... }`: the job's attributes, its job-level policy blocks, then its groups.
//!
//! Attributes are read before blocks whatever their order in the file, so the job `type` is
//! known when partial `restart`/`reschedule` blocks are merged with the type's defaults.

use std::collections::BTreeMap;

use hcl_edit::structure::{Attribute, Block};
use nomadish_proto::model::canonicalize::{FieldPath, default_reschedule};
use nomadish_proto::model::{Job, UpdateStrategy};

use super::{Decoder, attr_offset, block_offset, label_offset};
use crate::convert;

impl Decoder<'_> {
    pub(super) fn job(&mut self, block: &Block) -> Job {
        let root = FieldPath::root();
        let mut job = Job::default();
        self.record(root.clone(), block_offset(block));
        if let Some(id) = self.label(block) {
            job.id = id;
            self.record(root.field("ID"), label_offset(block));
        }
        for attr in block.body.attributes() {
            self.job_attribute(&mut job, attr);
        }
        let mut seen = BTreeMap::new();
        for b in block.body.blocks() {
            match b.ident.as_str() {
                "group" => {}
                "constraint" => {
                    let path = root.field("Constraints").index(job.constraints.len());
                    if let Some(c) = self.constraint(b, &path) {
                        job.constraints.push(c);
                    }
                }
                "meta" => self.string_map_block(b, &mut job.meta, root.field("Meta")),
                "affinity" => {
                    let a_path = root.field("Affinities").index(job.affinities.len());
                    if let Some(a) = self.affinity(b, &a_path) {
                        job.affinities.push(a);
                    }
                }
                "spread" => {
                    let s_path = root.field("Spreads").index(job.spreads.len());
                    if let Some(s) = self.spread(b, &s_path) {
                        job.spreads.push(s);
                    }
                }
                "reschedule" if self.first_of_kind(&mut seen, b) => {
                    let base = default_reschedule(&job.job_type).unwrap_or_default();
                    job.reschedule = Some(self.reschedule(b, &root.field("Reschedule"), base));
                }
                "update" if self.first_of_kind(&mut seen, b) => {
                    let base = UpdateStrategy::nomad_default();
                    job.update = Some(self.update(b, &root.field("Update"), base));
                }
                "periodic" if self.first_of_kind(&mut seen, b) => {
                    job.periodic = Some(self.periodic(b, &root.field("Periodic")));
                }
                "parameterized" if self.first_of_kind(&mut seen, b) => {
                    let path = root.field("ParameterizedJob");
                    job.parameterized_job = Some(self.parameterized(b, &path));
                }
                "reschedule" | "update" | "periodic" | "parameterized" => {}
                _ => self.unknown_block(b, &format!("job {:?}", job.id)),
            }
        }
        for b in block.body.blocks().filter(|b| b.ident.as_str() == "group") {
            let path = root.field("TaskGroups").index(job.task_groups.len());
            if let Some(group) = self.group(b, &job, &path) {
                job.task_groups.push(group);
            }
        }
        job
    }

    fn job_attribute(&mut self, job: &mut Job, attr: &Attribute) {
        let root = FieldPath::root();
        match attr.key.as_str() {
            "name" => self.set(attr, root.field("Name"), &mut job.name, convert::string),
            "region" => self.set(attr, root.field("Region"), &mut job.region, convert::string),
            "namespace" => {
                self.set(
                    attr,
                    root.field("Namespace"),
                    &mut job.namespace,
                    convert::string,
                );
            }
            "type" => self.set(attr, root.field("Type"), &mut job.job_type, convert::string),
            "priority" => self.set(
                attr,
                root.field("Priority"),
                &mut job.priority,
                convert::int,
            ),
            "all_at_once" => {
                self.set(
                    attr,
                    root.field("AllAtOnce"),
                    &mut job.all_at_once,
                    convert::boolean,
                );
            }
            "datacenters" => {
                self.set(
                    attr,
                    root.field("Datacenters"),
                    &mut job.datacenters,
                    convert::string_list,
                );
                for i in 0..job.datacenters.len() {
                    self.record(root.field("Datacenters").index(i), attr_offset(attr));
                }
            }
            "node_pool" => {
                self.set(
                    attr,
                    root.field("NodePool"),
                    &mut job.node_pool,
                    convert::string,
                );
            }
            "meta" => self.string_map_attribute(attr, &mut job.meta, root.field("Meta")),
            _ => self.unknown_attribute(attr, &format!("job {:?}", job.id)),
        }
    }
}
