//! Free-form parts of a jobspec: a task's driver `config` block (to a JSON map for the
//! driver) and the string maps `env` and `meta` (as blocks or as map attributes).
//!
//! In `config`, attributes keep their JSON types (numbers, bools, lists, objects). A nested
//! block becomes an object; a block written several times becomes a list of objects; a labeled
//! block `name "label" { ... }` becomes `{"name": {"label": {...}}}`, and labeled blocks of the
//! same name merge into that object while their labels differ.

use std::collections::{BTreeMap, BTreeSet};

use hcl_edit::structure::{Attribute, Block, Body};
use nomadish_proto::model::canonicalize::FieldPath;
use serde_json::{Map, Value};

use super::{Decoder, attr_offset, block_offset};
use crate::convert;

impl Decoder<'_> {
    /// A driver `config` block as a JSON map.
    pub(super) fn config(&mut self, body: &Body) -> BTreeMap<String, Value> {
        self.free_form(body).into_iter().collect()
    }

    fn free_form(&mut self, body: &Body) -> Map<String, Value> {
        let mut map = Map::new();
        for attr in body.attributes() {
            if let Some(value) = self.value(attr) {
                map.insert(attr.key.as_str().to_string(), value);
            }
        }
        let mut from_blocks = BTreeSet::new();
        for block in body.blocks() {
            let name = block.ident.as_str();
            if map.contains_key(name) && !from_blocks.contains(name) {
                let message =
                    format!("config: {name:?} is set both as an attribute and as a block");
                self.error(block_offset(block), message);
                continue;
            }
            from_blocks.insert(name.to_string());
            let mut value = Value::Object(self.free_form(&block.body));
            for label in block.labels.iter().rev() {
                value = Value::Object(Map::from_iter([(label.as_str().to_string(), value)]));
            }
            insert_block(&mut map, name, value, !block.labels.is_empty());
        }
        map
    }

    /// `env { KEY = "value" }` or `meta { key = "value" }`.
    pub(super) fn string_map_block(
        &mut self,
        block: &Block,
        map: &mut BTreeMap<String, String>,
        path: FieldPath,
    ) {
        if !self.no_labels(block) {
            return;
        }
        self.record(path, block_offset(block));
        for attr in block.body.attributes() {
            if let Some(value) = self.read(attr, convert::string) {
                map.insert(attr.key.as_str().to_string(), value);
            }
        }
        let ctx = block.ident.as_str().to_string();
        self.no_blocks(block, &ctx);
    }

    /// `env = { KEY = "value" }` or `meta = { key = "value" }`.
    pub(super) fn string_map_attribute(
        &mut self,
        attr: &Attribute,
        map: &mut BTreeMap<String, String>,
        path: FieldPath,
    ) {
        if let Some(values) = self.read(attr, convert::string_map) {
            map.extend(values);
            self.record(path, attr_offset(attr));
        }
    }
}

/// Adds a block's value under `name`: the first is stored as is, later ones turn the entry
/// into a list, except labeled blocks with a new label, which merge into the object.
fn insert_block(map: &mut Map<String, Value>, name: &str, value: Value, labeled: bool) {
    let Some(existing) = map.get_mut(name) else {
        map.insert(name.to_string(), value);
        return;
    };
    match (existing, value) {
        (Value::Object(current), Value::Object(new))
            if labeled && new.keys().all(|k| !current.contains_key(k)) =>
        {
            current.extend(new);
        }
        (Value::Array(items), value) => items.push(value),
        (existing, value) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repeated_blocks_become_lists_and_labels_merge() {
        let mut map = Map::new();
        insert_block(&mut map, "mount", json!({"a": 1}), false);
        insert_block(&mut map, "mount", json!({"a": 2}), false);
        insert_block(&mut map, "mount", json!({"a": 3}), false);
        insert_block(&mut map, "port", json!({"http": {"to": 80}}), true);
        insert_block(&mut map, "port", json!({"db": {"to": 5432}}), true);
        assert_eq!(
            Value::Object(map),
            json!({
                "mount": [{"a": 1}, {"a": 2}, {"a": 3}],
                "port": {"http": {"to": 80}, "db": {"to": 5432}},
            })
        );
    }
}
