//! Policy blocks: `restart`, `reschedule`, `update` (each merged into a base policy, as Nomad
//! merges partial blocks with the defaults) and `constraint` (with Nomad's shorthand forms).

use hcl_edit::structure::Block;
use nomadish_proto::model::canonicalize::FieldPath;
use nomadish_proto::model::{Constraint, ReschedulePolicy, RestartPolicy, UpdateStrategy};

use super::{Decoder, attr_offset, block_offset};
use crate::convert;

/// Constraint attributes that set the operator and the value at once:
/// `regexp = "^linux$"` means `operator = "regexp"`, `value = "^linux$"`.
const VALUE_SHORTHANDS: [&str; 6] = [
    "regexp",
    "version",
    "semver",
    "set_contains",
    "set_contains_any",
    "set_contains_all",
];

impl Decoder<'_> {
    pub(super) fn restart(
        &mut self,
        block: &Block,
        path: &FieldPath,
        base: RestartPolicy,
    ) -> RestartPolicy {
        self.record(path.clone(), block_offset(block));
        let mut p = base;
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "attempts" => self.set(attr, path.field("Attempts"), &mut p.attempts, convert::int),
                "interval" => {
                    self.set(
                        attr,
                        path.field("Interval"),
                        &mut p.interval,
                        convert::duration,
                    );
                }
                "delay" => self.set(attr, path.field("Delay"), &mut p.delay, convert::duration),
                "mode" => self.set(attr, path.field("Mode"), &mut p.mode, convert::string),
                "render_templates" => {
                    let slot = &mut p.render_templates;
                    self.set(attr, path.field("RenderTemplates"), slot, convert::boolean);
                }
                _ => self.unknown_attribute(attr, "restart"),
            }
        }
        self.no_blocks(block, "restart");
        p
    }

    pub(super) fn reschedule(
        &mut self,
        block: &Block,
        path: &FieldPath,
        base: ReschedulePolicy,
    ) -> ReschedulePolicy {
        self.record(path.clone(), block_offset(block));
        let mut p = base;
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "attempts" => self.set(attr, path.field("Attempts"), &mut p.attempts, convert::int),
                "interval" => {
                    self.set(
                        attr,
                        path.field("Interval"),
                        &mut p.interval,
                        convert::duration,
                    );
                }
                "delay" => self.set(attr, path.field("Delay"), &mut p.delay, convert::duration),
                "delay_function" => {
                    let slot = &mut p.delay_function;
                    self.set(attr, path.field("DelayFunction"), slot, convert::string);
                }
                "max_delay" => {
                    self.set(
                        attr,
                        path.field("MaxDelay"),
                        &mut p.max_delay,
                        convert::duration,
                    );
                }
                "unlimited" => {
                    self.set(
                        attr,
                        path.field("Unlimited"),
                        &mut p.unlimited,
                        convert::boolean,
                    );
                }
                _ => self.unknown_attribute(attr, "reschedule"),
            }
        }
        self.no_blocks(block, "reschedule");
        p
    }

    pub(super) fn update(
        &mut self,
        block: &Block,
        path: &FieldPath,
        base: UpdateStrategy,
    ) -> UpdateStrategy {
        self.record(path.clone(), block_offset(block));
        let mut u = base;
        for attr in block.body.attributes() {
            let key = attr.key.as_str();
            if let Some((field, slot)) = update_number(&mut u, key) {
                let convert = if field == "MaxParallel" || field == "Canary" {
                    convert::int
                } else {
                    convert::duration
                };
                self.set(attr, path.field(field), slot, convert);
            } else if let Some((field, slot)) = update_flag(&mut u, key) {
                self.set(attr, path.field(field), slot, convert::boolean);
            } else if key == "health_check" {
                let slot = &mut u.health_check;
                self.set(attr, path.field("HealthCheck"), slot, convert::string);
            } else {
                self.unknown_attribute(attr, "update");
            }
        }
        self.no_blocks(block, "update");
        u
    }

    /// A constraint, or `None` when it is `distinct_hosts = false` (Nomad drops those) or has
    /// errors. Spans are recorded only for constraints that are kept, so indexes stay right.
    pub(super) fn constraint(&mut self, block: &Block, path: &FieldPath) -> Option<Constraint> {
        if !self.no_labels(block) {
            return None;
        }
        let errors_before = self.errors.len();
        let mut c = Constraint::default();
        let mut keep = true;
        let mut marks: Vec<(&'static str, usize)> = Vec::new();
        for attr in block.body.attributes() {
            let key = attr.key.as_str();
            let known = matches!(
                key,
                "attribute" | "operator" | "value" | "distinct_hosts" | "distinct_property"
            );
            if !known && !VALUE_SHORTHANDS.contains(&key) {
                self.unknown_attribute(attr, "constraint");
                continue;
            }
            let convert = if key == "distinct_hosts" {
                bool_text
            } else {
                convert::string
            };
            if let Some(value) = self.read(attr, convert) {
                keep &= key != "distinct_hosts" || value == "true";
                marks.push((
                    apply_constraint_attribute(&mut c, key, value),
                    attr_offset(attr),
                ));
            }
        }
        self.no_blocks(block, "constraint");
        if !keep || self.errors.len() > errors_before {
            return None;
        }
        self.record(path.clone(), block_offset(block));
        for (field, offset) in marks {
            self.record(path.field(field), offset);
        }
        Some(c)
    }
}

/// Sets what a known constraint attribute means; returns the field it wrote.
fn apply_constraint_attribute(c: &mut Constraint, key: &str, value: String) -> &'static str {
    match key {
        "attribute" => {
            c.l_target = value;
            "LTarget"
        }
        "operator" => {
            c.operand = value;
            "Operand"
        }
        "value" => {
            c.r_target = value;
            "RTarget"
        }
        "distinct_hosts" => {
            c.operand = key.to_string();
            "Operand"
        }
        "distinct_property" => {
            c.operand = key.to_string();
            c.l_target = value;
            "LTarget"
        }
        shorthand => {
            c.operand = shorthand.to_string();
            c.r_target = value;
            "RTarget"
        }
    }
}

/// The integer and duration fields of an update block, by attribute name.
fn update_number<'a>(u: &'a mut UpdateStrategy, key: &str) -> Option<(&'static str, &'a mut i64)> {
    Some(match key {
        "max_parallel" => ("MaxParallel", &mut u.max_parallel),
        "canary" => ("Canary", &mut u.canary),
        "stagger" => ("Stagger", &mut u.stagger),
        "min_healthy_time" => ("MinHealthyTime", &mut u.min_healthy_time),
        "healthy_deadline" => ("HealthyDeadline", &mut u.healthy_deadline),
        "progress_deadline" => ("ProgressDeadline", &mut u.progress_deadline),
        _ => return None,
    })
}

/// The bool fields of an update block, by attribute name.
fn update_flag<'a>(u: &'a mut UpdateStrategy, key: &str) -> Option<(&'static str, &'a mut bool)> {
    Some(match key {
        "auto_revert" => ("AutoRevert", &mut u.auto_revert),
        "auto_promote" => ("AutoPromote", &mut u.auto_promote),
        _ => return None,
    })
}

/// `distinct_hosts` takes a bool; kept as its text so all constraint values read alike.
fn bool_text(value: &serde_json::Value) -> Result<String, String> {
    convert::boolean(value).map(|b| b.to_string())
}
