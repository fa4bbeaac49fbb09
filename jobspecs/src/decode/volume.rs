//! Host volumes in a jobspec: a group's `volume "label" { type source read_only }` and a
//! task's `volume_mount { volume destination read_only propagation_mode }`. Whether mounts
//! name a group volume, and whether the volume's type is one nomadish has, is checked in
//! `validate_volumes` so JSON submissions get the same checks.

use hcl_edit::structure::Block;
use nomadish_proto::model::canonicalize::FieldPath;
use nomadish_proto::model::{Task, TaskGroup, VolumeMount, VolumeRequest};

use super::{Decoder, attr_offset, block_offset, label_offset};
use crate::convert;

impl Decoder<'_> {
    /// `volume "label" { ... }` in a group; a repeated label is an error.
    pub(super) fn group_volume(&mut self, group: &mut TaskGroup, block: &Block) {
        let Some(label) = self.label(block) else {
            return;
        };
        if group.volumes.contains_key(&label) {
            let message = format!("volume {label:?} is defined twice in this group");
            self.error(label_offset(block), message);
            return;
        }
        let mut volume = VolumeRequest {
            name: label.clone(),
            ..VolumeRequest::default()
        };
        // Spans are recorded once every volume is known (`volume_spans`): the model keeps
        // volumes by label, so a volume's index is its rank among the labels.
        for attr in block.body.attributes() {
            let v = &mut volume;
            match attr.key.as_str() {
                "type" => put(&mut v.volume_type, self.read(attr, convert::string)),
                "source" => put(&mut v.source, self.read(attr, convert::string)),
                "read_only" => put(&mut v.read_only, self.read(attr, convert::boolean)),
                "access_mode" => put(&mut v.access_mode, self.read(attr, convert::string)),
                "attachment_mode" => {
                    put(&mut v.attachment_mode, self.read(attr, convert::string));
                }
                "per_alloc" => put(&mut v.per_alloc, self.read(attr, convert::boolean)),
                _ => self.unknown_attribute(attr, "volume"),
            }
        }
        self.no_blocks(block, "volume");
        group.volumes.insert(label, volume);
    }

    /// Records where each of the group's volumes (and its type and source) was written.
    pub(super) fn volume_spans(&mut self, block: &Block, group: &TaskGroup, path: &FieldPath) {
        for b in block.body.blocks().filter(|b| b.ident.as_str() == "volume") {
            let Some(label) = b.labels.first().map(|l| l.as_str()) else {
                continue;
            };
            let Some(index) = group.volumes.keys().position(|k| k == label) else {
                continue;
            };
            let v_path = path.field("Volumes").index(index);
            self.record(v_path.clone(), block_offset(b));
            for attr in b.body.attributes() {
                let field = match attr.key.as_str() {
                    "type" => "Type",
                    "source" => "Source",
                    "read_only" => "ReadOnly",
                    _ => continue,
                };
                self.record(v_path.field(field), attr_offset(attr));
            }
        }
    }

    /// `volume_mount { ... }` in a task.
    pub(super) fn volume_mount(&mut self, task: &mut Task, block: &Block, path: &FieldPath) {
        if !self.no_labels(block) {
            return;
        }
        let path = path.field("VolumeMounts").index(task.volume_mounts.len());
        self.record(path.clone(), block_offset(block));
        let mut mount = VolumeMount::default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "volume" => self.set(
                    attr,
                    path.field("Volume"),
                    &mut mount.volume,
                    convert::string,
                ),
                "destination" => {
                    let slot = &mut mount.destination;
                    self.set(attr, path.field("Destination"), slot, convert::string);
                }
                "read_only" => {
                    let slot = &mut mount.read_only;
                    self.set(attr, path.field("ReadOnly"), slot, convert::boolean);
                }
                "propagation_mode" => {
                    let slot = &mut mount.propagation_mode;
                    self.set(attr, path.field("PropagationMode"), slot, convert::string);
                }
                _ => self.unknown_attribute(attr, "volume_mount"),
            }
        }
        self.no_blocks(block, "volume_mount");
        task.volume_mounts.push(mount);
    }
}

fn put<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}
