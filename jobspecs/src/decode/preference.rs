//! Soft placement preferences: `affinity { attribute operator value weight }` and
//! `spread { attribute weight target "value" { percent } }`, with Nomad's defaults (operator
//! `=`, weight 50).

use hcl_edit::structure::Block;
use nomadish_proto::model::canonicalize::FieldPath;
use nomadish_proto::model::{Affinity, Spread, SpreadTarget};

use super::{Decoder, attr_offset, block_offset, label_offset};
use crate::convert;

/// Nomad's weight for an affinity or spread that names none.
pub const DEFAULT_PREFERENCE_WEIGHT: i8 = 50;

/// Affinity attributes that set the operator and the value at once, as for constraints.
const AFFINITY_SHORTHANDS: [&str; 6] = [
    "regexp",
    "version",
    "semver",
    "set_contains",
    "set_contains_any",
    "set_contains_all",
];

impl Decoder<'_> {
    pub(super) fn affinity(&mut self, block: &Block, path: &FieldPath) -> Option<Affinity> {
        if !self.no_labels(block) {
            return None;
        }
        self.record(path.clone(), block_offset(block));
        let mut a = Affinity {
            operand: "=".into(),
            weight: DEFAULT_PREFERENCE_WEIGHT,
            ..Affinity::default()
        };
        for attr in block.body.attributes() {
            let key = attr.key.as_str();
            let field = match key {
                "weight" => {
                    if let Some(w) = self.read(attr, |v| convert::int_in(v, -100, 100)) {
                        a.weight = i8::try_from(w).unwrap_or_default();
                    }
                    "Weight"
                }
                "attribute" | "operator" | "value" => {
                    let Some(v) = self.read(attr, convert::string) else {
                        continue;
                    };
                    let (slot, field) = match key {
                        "attribute" => (&mut a.l_target, "LTarget"),
                        "operator" => (&mut a.operand, "Operand"),
                        _ => (&mut a.r_target, "RTarget"),
                    };
                    *slot = v;
                    field
                }
                k if AFFINITY_SHORTHANDS.contains(&k) => {
                    let Some(v) = self.read(attr, convert::string) else {
                        continue;
                    };
                    a.operand = k.to_string();
                    a.r_target = v;
                    "RTarget"
                }
                _ => {
                    self.unknown_attribute(attr, "affinity");
                    continue;
                }
            };
            self.record(path.field(field), attr_offset(attr));
        }
        self.no_blocks(block, "affinity");
        Some(a)
    }

    pub(super) fn spread(&mut self, block: &Block, path: &FieldPath) -> Option<Spread> {
        if !self.no_labels(block) {
            return None;
        }
        self.record(path.clone(), block_offset(block));
        let mut s = Spread {
            weight: DEFAULT_PREFERENCE_WEIGHT,
            ..Spread::default()
        };
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "attribute" => {
                    self.set(
                        attr,
                        path.field("Attribute"),
                        &mut s.attribute,
                        convert::string,
                    );
                }
                "weight" => {
                    if let Some(w) = self.read(attr, |v| convert::int_in(v, 0, 100)) {
                        s.weight = i8::try_from(w).unwrap_or_default();
                        self.record(path.field("Weight"), attr_offset(attr));
                    }
                }
                _ => self.unknown_attribute(attr, "spread"),
            }
        }
        for b in block.body.blocks() {
            if b.ident.as_str() != "target" {
                self.unknown_block(b, "spread");
                continue;
            }
            let Some(value) = self.label(b) else { continue };
            let t_path = path.field("SpreadTarget").index(s.spread_target.len());
            self.record(t_path.clone(), block_offset(b));
            self.record(t_path.field("Value"), label_offset(b));
            let mut target = SpreadTarget { value, percent: 0 };
            for attr in b.body.attributes() {
                if attr.key.as_str() != "percent" {
                    self.unknown_attribute(attr, "target");
                    continue;
                }
                if let Some(p) = self.read(attr, |v| convert::int_in(v, 0, 100)) {
                    target.percent = u8::try_from(p).unwrap_or_default();
                    self.record(t_path.field("Percent"), attr_offset(attr));
                }
            }
            self.no_blocks(b, "target");
            s.spread_target.push(target);
        }
        Some(s)
    }
}
