//! The blocks that make a job a parent of other jobs — `periodic { cron crons prohibit_overlap
//! time_zone enabled }` and `parameterized { payload meta_required meta_optional }` — and the
//! task's `dispatch_payload { file }`; also a group's `scaling { min max enabled policy }`,
//! whose bounds `job scale` checks. Cron syntax and time zones are checked later, in
//! `validate`, so JSON submissions get the same checks.

use hcl_edit::structure::Block;
use nomadish_proto::model::canonicalize::FieldPath;
use nomadish_proto::model::{
    DispatchPayloadConfig, ParameterizedJobConfig, PeriodicConfig, ScalingPolicy,
};

use super::{Decoder, attr_offset, block_offset};
use crate::convert;

impl Decoder<'_> {
    pub(super) fn periodic(&mut self, block: &Block, path: &FieldPath) -> PeriodicConfig {
        self.record(path.clone(), block_offset(block));
        // Nomad's defaults for a periodic block: enabled, cron syntax, UTC.
        let mut p = PeriodicConfig {
            enabled: true,
            spec_type: "cron".to_string(),
            ..PeriodicConfig::default()
        };
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "cron" => self.set(attr, path.field("Spec"), &mut p.spec, convert::string),
                "crons" => {
                    self.set(
                        attr,
                        path.field("Specs"),
                        &mut p.specs,
                        convert::string_list,
                    );
                    for i in 0..p.specs.len() {
                        self.record(path.field("Specs").index(i), attr_offset(attr));
                    }
                }
                "prohibit_overlap" => {
                    let slot = &mut p.prohibit_overlap;
                    self.set(attr, path.field("ProhibitOverlap"), slot, convert::boolean);
                }
                "time_zone" => {
                    let slot = &mut p.time_zone;
                    self.set(attr, path.field("TimeZone"), slot, convert::string);
                }
                "enabled" => {
                    self.set(
                        attr,
                        path.field("Enabled"),
                        &mut p.enabled,
                        convert::boolean,
                    );
                }
                _ => self.unknown_attribute(attr, "periodic"),
            }
        }
        self.no_blocks(block, "periodic");
        p
    }

    pub(super) fn parameterized(
        &mut self,
        block: &Block,
        path: &FieldPath,
    ) -> ParameterizedJobConfig {
        self.record(path.clone(), block_offset(block));
        let mut p = ParameterizedJobConfig::default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "payload" => self.set(attr, path.field("Payload"), &mut p.payload, convert::string),
                "meta_required" => {
                    let slot = &mut p.meta_required;
                    self.set(attr, path.field("MetaRequired"), slot, convert::string_list);
                }
                "meta_optional" => {
                    let slot = &mut p.meta_optional;
                    self.set(attr, path.field("MetaOptional"), slot, convert::string_list);
                }
                _ => self.unknown_attribute(attr, "parameterized"),
            }
        }
        self.no_blocks(block, "parameterized");
        p
    }

    pub(super) fn dispatch_payload(
        &mut self,
        block: &Block,
        path: &FieldPath,
    ) -> DispatchPayloadConfig {
        self.record(path.clone(), block_offset(block));
        let mut d = DispatchPayloadConfig::default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "file" => self.set(attr, path.field("File"), &mut d.file, convert::string),
                _ => self.unknown_attribute(attr, "dispatch_payload"),
            }
        }
        self.no_blocks(block, "dispatch_payload");
        d
    }

    pub(super) fn scaling(&mut self, block: &Block, path: &FieldPath) -> ScalingPolicy {
        self.record(path.clone(), block_offset(block));
        self.no_labels(block);
        let mut p = ScalingPolicy {
            enabled: true,
            ..ScalingPolicy::default()
        };
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "min" => {
                    let mut v = 0;
                    self.set(attr, path.field("Min"), &mut v, convert::int);
                    p.min = Some(v);
                }
                "max" => {
                    let mut v = 0;
                    self.set(attr, path.field("Max"), &mut v, convert::int);
                    p.max = Some(v);
                }
                "enabled" => {
                    self.set(
                        attr,
                        path.field("Enabled"),
                        &mut p.enabled,
                        convert::boolean,
                    );
                }
                _ => self.unknown_attribute(attr, "scaling"),
            }
        }
        for b in block.body.blocks() {
            match b.ident.as_str() {
                "policy" => {
                    self.record(path.field("Policy"), block_offset(b));
                    p.policy = self.config(&b.body);
                    // Kept in the model, but nomadish has no autoscaler to read it.
                    self.error(block_offset(b), "not supported by nomadish: scaling policy");
                }
                _ => self.unknown_block(b, "scaling"),
            }
        }
        p
    }
}
