//! A task's `artifact { source destination mode options { checksum } headers { ... } }`,
//! fetched into the task directory by the client before the task starts.

use hcl_edit::structure::Block;
use nomadish_proto::model::TaskArtifact;
use nomadish_proto::model::canonicalize::FieldPath;

use super::{Decoder, attr_offset, block_offset};
use crate::convert;

/// The modes `artifact { mode }` accepts.
const MODES: [&str; 3] = ["any", "file", "dir"];

impl Decoder<'_> {
    pub(super) fn artifact(&mut self, block: &Block, path: &FieldPath) -> Option<TaskArtifact> {
        if !self.no_labels(block) {
            return None;
        }
        self.record(path.clone(), block_offset(block));
        // Nomad's defaults: unpack whatever arrives (`any`) into `local/`.
        let mut a = TaskArtifact {
            getter_mode: "any".to_string(),
            relative_dest: "local/".to_string(),
            ..TaskArtifact::default()
        };
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "source" => {
                    let slot = &mut a.getter_source;
                    self.set(attr, path.field("GetterSource"), slot, convert::string);
                }
                "destination" => {
                    let slot = &mut a.relative_dest;
                    self.set(attr, path.field("RelativeDest"), slot, convert::string);
                }
                "mode" => {
                    self.set(
                        attr,
                        path.field("GetterMode"),
                        &mut a.getter_mode,
                        convert::string,
                    );
                    if !MODES.contains(&a.getter_mode.as_str()) {
                        let msg = format!(
                            "artifact mode {:?} is not one of \"any\", \"file\", \"dir\"",
                            a.getter_mode
                        );
                        self.error(attr_offset(attr), msg);
                    }
                }
                _ => self.unknown_attribute(attr, "artifact"),
            }
        }
        for b in block.body.blocks() {
            match b.ident.as_str() {
                "options" => {
                    let p = path.field("GetterOptions");
                    self.string_map_block(b, &mut a.getter_options, p);
                }
                "headers" => {
                    let p = path.field("GetterHeaders");
                    self.string_map_block(b, &mut a.getter_headers, p);
                }
                _ => self.unknown_block(b, "artifact"),
            }
        }
        if a.getter_source.is_empty() {
            self.error(
                block_offset(block),
                "artifact: attribute \"source\" is required",
            );
            return None;
        }
        Some(a)
    }
}
