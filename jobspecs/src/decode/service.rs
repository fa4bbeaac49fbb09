//! `service { name port tags ... check { ... } check_restart { ... } }` at group and task
//! level, in Nomad's `Service` / `ServiceCheck` shapes. Defaults (name, provider, address
//! mode) are filled by `Job::canonicalize`; Nomad's rules are checked by `validate_service`.

use std::collections::BTreeMap;

use hcl_edit::structure::{Attribute, Block};
use nomadish_proto::model::canonicalize::FieldPath;
use nomadish_proto::model::{CheckRestart, Service, ServiceCheck};
use serde_json::Value;

use super::{Decoder, block_offset};
use crate::convert;

/// `port = "http"` or `port = 8080`: a label or a number, kept as a string.
fn port_label(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) => convert::int_in(value, 0, i64::from(u16::MAX)).map(|n| n.to_string()),
        other => convert::string(other),
    }
}

impl Decoder<'_> {
    pub(super) fn service(&mut self, block: &Block, path: &FieldPath) -> Option<Service> {
        if !self.no_labels(block) {
            return None;
        }
        self.record(path.clone(), block_offset(block));
        let mut s = Service::default();
        for attr in block.body.attributes() {
            self.service_attribute(&mut s, attr, path);
        }
        let mut seen = BTreeMap::new();
        for b in block.body.blocks() {
            match b.ident.as_str() {
                "check" => {
                    let c_path = path.field("Checks").index(s.checks.len());
                    if let Some(c) = self.check(b, &c_path) {
                        s.checks.push(c);
                    }
                }
                "check_restart" if self.first_of_kind(&mut seen, b) => {
                    s.check_restart = Some(self.check_restart(b, &path.field("CheckRestart")));
                }
                "meta" => self.string_map_block(b, &mut s.meta, path.field("Meta")),
                "check_restart" => {}
                _ => self.unknown_block(b, "service"),
            }
        }
        Some(s)
    }

    fn service_attribute(&mut self, s: &mut Service, attr: &Attribute, path: &FieldPath) {
        let string = convert::string;
        match attr.key.as_str() {
            "name" => self.set(attr, path.field("Name"), &mut s.name, string),
            "port" => self.set(attr, path.field("PortLabel"), &mut s.port_label, port_label),
            "tags" => self.set(attr, path.field("Tags"), &mut s.tags, convert::string_list),
            "canary_tags" => {
                let slot = &mut s.canary_tags;
                self.set(attr, path.field("CanaryTags"), slot, convert::string_list);
            }
            "address_mode" => {
                self.set(attr, path.field("AddressMode"), &mut s.address_mode, string)
            }
            "address" => self.set(attr, path.field("Address"), &mut s.address, string),
            "provider" => self.set(attr, path.field("Provider"), &mut s.provider, string),
            "task" => self.set(attr, path.field("TaskName"), &mut s.task_name, string),
            "on_update" => self.set(attr, path.field("OnUpdate"), &mut s.on_update, string),
            "meta" => self.string_map_attribute(attr, &mut s.meta, path.field("Meta")),
            _ => self.unknown_attribute(attr, "service"),
        }
    }

    fn check(&mut self, block: &Block, path: &FieldPath) -> Option<ServiceCheck> {
        if !self.no_labels(block) {
            return None;
        }
        self.record(path.clone(), block_offset(block));
        let mut c = ServiceCheck::default();
        for attr in block.body.attributes() {
            self.check_attribute(&mut c, attr, path);
        }
        let mut seen = BTreeMap::new();
        for b in block.body.blocks() {
            match b.ident.as_str() {
                "check_restart" if self.first_of_kind(&mut seen, b) => {
                    c.check_restart = Some(self.check_restart(b, &path.field("CheckRestart")));
                }
                "header" if self.first_of_kind(&mut seen, b) => {
                    self.record(path.field("Header"), block_offset(b));
                    for attr in b.body.attributes() {
                        if let Some(values) = self.read(attr, convert::string_list) {
                            c.header.insert(attr.key.as_str().to_string(), values);
                        }
                    }
                    self.no_blocks(b, "header");
                }
                "check_restart" | "header" => {}
                _ => self.unknown_block(b, "check"),
            }
        }
        Some(c)
    }

    fn check_attribute(&mut self, c: &mut ServiceCheck, attr: &Attribute, path: &FieldPath) {
        let (string, int, duration) = (convert::string, convert::int, convert::duration);
        match attr.key.as_str() {
            "name" => self.set(attr, path.field("Name"), &mut c.name, string),
            "type" => self.set(attr, path.field("Type"), &mut c.check_type, string),
            "path" => self.set(attr, path.field("Path"), &mut c.path, string),
            "method" => self.set(attr, path.field("Method"), &mut c.method, string),
            "protocol" => self.set(attr, path.field("Protocol"), &mut c.protocol, string),
            "port" => self.set(attr, path.field("PortLabel"), &mut c.port_label, port_label),
            "address_mode" => {
                self.set(attr, path.field("AddressMode"), &mut c.address_mode, string)
            }
            "interval" => self.set(attr, path.field("Interval"), &mut c.interval, duration),
            "timeout" => self.set(attr, path.field("Timeout"), &mut c.timeout, duration),
            "command" => self.set(attr, path.field("Command"), &mut c.command, string),
            "args" => self.set(attr, path.field("Args"), &mut c.args, convert::string_list),
            "task" => self.set(attr, path.field("TaskName"), &mut c.task_name, string),
            "expose" => self.set(attr, path.field("Expose"), &mut c.expose, convert::boolean),
            "initial_status" => {
                self.set(
                    attr,
                    path.field("InitialStatus"),
                    &mut c.initial_status,
                    string,
                );
            }
            "success_before_passing" => {
                let slot = &mut c.success_before_passing;
                self.set(attr, path.field("SuccessBeforePassing"), slot, int);
            }
            "failures_before_critical" => {
                let slot = &mut c.failures_before_critical;
                self.set(attr, path.field("FailuresBeforeCritical"), slot, int);
            }
            "failures_before_warning" => {
                let slot = &mut c.failures_before_warning;
                self.set(attr, path.field("FailuresBeforeWarning"), slot, int);
            }
            "on_update" => self.set(attr, path.field("OnUpdate"), &mut c.on_update, string),
            "tls_skip_verify" => {
                let slot = &mut c.tls_skip_verify;
                self.set(attr, path.field("TLSSkipVerify"), slot, convert::boolean);
            }
            _ => self.unknown_attribute(attr, "check"),
        }
    }

    fn check_restart(&mut self, block: &Block, path: &FieldPath) -> CheckRestart {
        self.record(path.clone(), block_offset(block));
        let mut r = CheckRestart::default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "limit" => self.set(attr, path.field("Limit"), &mut r.limit, convert::int),
                "grace" => self.set(attr, path.field("Grace"), &mut r.grace, convert::duration),
                "ignore_warnings" => {
                    let slot = &mut r.ignore_warnings;
                    self.set(attr, path.field("IgnoreWarnings"), slot, convert::boolean);
                }
                _ => self.unknown_attribute(attr, "check_restart"),
            }
        }
        self.no_blocks(block, "check_restart");
        r
    }
}
