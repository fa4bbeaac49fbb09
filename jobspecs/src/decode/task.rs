//! `task "name" { ... }`: driver, user, config, env, meta, constraints, resources, restart
//! (merged into the group's policy), logs, lifecycle, kill and shutdown settings.

use std::collections::BTreeMap;

use hcl_edit::structure::{Attribute, Block};
use nomadish_proto::model::canonicalize::FieldPath;
use nomadish_proto::model::{LogConfig, Resources, RestartPolicy, Task, TaskLifecycle};

use super::{Decoder, block_offset, label_offset};
use crate::convert;

impl Decoder<'_> {
    pub(super) fn task(
        &mut self,
        block: &Block,
        group_restart: &RestartPolicy,
        path: &FieldPath,
    ) -> Option<Task> {
        let name = self.label(block)?;
        let mut task = Task {
            name,
            ..Task::default()
        };
        self.record(path.clone(), block_offset(block));
        self.record(path.field("Name"), label_offset(block));
        let ctx = format!("task {:?}", task.name);
        for attr in block.body.attributes() {
            self.task_attribute(&mut task, attr, path, &ctx);
        }
        let mut seen = BTreeMap::new();
        for b in block.body.blocks() {
            self.task_block(&mut task, b, group_restart, path, &mut seen, &ctx);
        }
        Some(task)
    }

    fn task_attribute(&mut self, task: &mut Task, attr: &Attribute, path: &FieldPath, ctx: &str) {
        match attr.key.as_str() {
            "driver" => self.set(
                attr,
                path.field("Driver"),
                &mut task.driver,
                convert::string,
            ),
            "user" => self.set(attr, path.field("User"), &mut task.user, convert::string),
            "leader" => self.set(
                attr,
                path.field("Leader"),
                &mut task.leader,
                convert::boolean,
            ),
            "kill_timeout" => {
                self.set(
                    attr,
                    path.field("KillTimeout"),
                    &mut task.kill_timeout,
                    convert::duration,
                );
            }
            "kill_signal" => {
                self.set(
                    attr,
                    path.field("KillSignal"),
                    &mut task.kill_signal,
                    convert::string,
                );
            }
            "shutdown_delay" => {
                let slot = &mut task.shutdown_delay;
                self.set(attr, path.field("ShutdownDelay"), slot, convert::duration);
            }
            "env" => self.string_map_attribute(attr, &mut task.env, path.field("Env")),
            "meta" => self.string_map_attribute(attr, &mut task.meta, path.field("Meta")),
            _ => self.unknown_attribute(attr, ctx),
        }
    }

    fn task_block(
        &mut self,
        task: &mut Task,
        b: &Block,
        group_restart: &RestartPolicy,
        path: &FieldPath,
        seen: &mut BTreeMap<String, usize>,
        ctx: &str,
    ) {
        match b.ident.as_str() {
            "constraint" => {
                let c_path = path.field("Constraints").index(task.constraints.len());
                if let Some(c) = self.constraint(b, &c_path) {
                    task.constraints.push(c);
                }
            }
            "env" => self.string_map_block(b, &mut task.env, path.field("Env")),
            "meta" => self.string_map_block(b, &mut task.meta, path.field("Meta")),
            "affinity" => {
                let a_path = path.field("Affinities").index(task.affinities.len());
                if let Some(a) = self.affinity(b, &a_path) {
                    task.affinities.push(a);
                }
            }
            "config" if self.first_of_kind(seen, b) => {
                self.record(path.field("Config"), block_offset(b));
                task.config = self.config(&b.body);
            }
            "resources" if self.first_of_kind(seen, b) => {
                task.resources = self.resources(b, &path.field("Resources"));
            }
            "restart" if self.first_of_kind(seen, b) => {
                let policy = self.restart(b, &path.field("RestartPolicy"), group_restart.clone());
                task.restart_policy = Some(policy);
            }
            "logs" if self.first_of_kind(seen, b) => {
                task.log_config = Some(self.logs(b, &path.field("LogConfig")));
            }
            "artifact" => {
                let a_path = path.field("Artifacts").index(task.artifacts.len());
                if let Some(a) = self.artifact(b, &a_path) {
                    task.artifacts.push(a);
                }
            }
            "template" => {
                let t_path = path.field("Templates").index(task.templates.len());
                if let Some(t) = self.template(b, &t_path) {
                    task.templates.push(t);
                }
            }
            "dispatch_payload" if self.first_of_kind(seen, b) => {
                let p = path.field("DispatchPayload");
                task.dispatch_payload = Some(self.dispatch_payload(b, &p));
            }
            "lifecycle" if self.first_of_kind(seen, b) => {
                task.lifecycle = Some(self.lifecycle(b, &path.field("Lifecycle")));
            }
            "service" => {
                let s_path = path.field("Services").index(task.services.len());
                task.services.extend(self.service(b, &s_path));
            }
            "config" | "resources" | "restart" | "logs" | "dispatch_payload" | "lifecycle" => {}
            "volume_mount" => self.volume_mount(task, b, path),
            _ => self.unknown_block(b, ctx),
        }
    }

    fn resources(&mut self, block: &Block, path: &FieldPath) -> Resources {
        self.record(path.clone(), block_offset(block));
        let mut r = Resources::default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "cpu" => self.set(attr, path.field("CPU"), &mut r.cpu, convert::int),
                "cores" => self.set(attr, path.field("Cores"), &mut r.cores, convert::int),
                "memory" => self.set(attr, path.field("MemoryMB"), &mut r.memory_mb, convert::int),
                "memory_max" => {
                    self.set(
                        attr,
                        path.field("MemoryMaxMB"),
                        &mut r.memory_max_mb,
                        convert::int,
                    );
                }
                _ => self.unknown_attribute(attr, "resources"),
            }
        }
        for inner in block.body.blocks() {
            if inner.ident.as_str() == "network" {
                let message =
                    "a network block inside resources is not supported; put it in the group";
                self.error(block_offset(inner), message);
            } else {
                self.unknown_block(inner, "resources");
            }
        }
        r
    }

    fn lifecycle(&mut self, block: &Block, path: &FieldPath) -> TaskLifecycle {
        self.record(path.clone(), block_offset(block));
        let mut l = TaskLifecycle::default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "hook" => self.set(attr, path.field("Hook"), &mut l.hook, convert::string),
                "sidecar" => {
                    self.set(
                        attr,
                        path.field("Sidecar"),
                        &mut l.sidecar,
                        convert::boolean,
                    );
                }
                _ => self.unknown_attribute(attr, "lifecycle"),
            }
        }
        self.no_blocks(block, "lifecycle");
        l
    }

    fn logs(&mut self, block: &Block, path: &FieldPath) -> LogConfig {
        self.record(path.clone(), block_offset(block));
        let mut logs = LogConfig::default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "max_files" => {
                    self.set(
                        attr,
                        path.field("MaxFiles"),
                        &mut logs.max_files,
                        convert::int,
                    );
                }
                "max_file_size" => {
                    let slot = &mut logs.max_file_size_mb;
                    self.set(attr, path.field("MaxFileSizeMB"), slot, convert::int);
                }
                "disabled" => {
                    self.set(
                        attr,
                        path.field("Disabled"),
                        &mut logs.disabled,
                        convert::boolean,
                    );
                }
                _ => self.unknown_attribute(attr, "logs"),
            }
        }
        self.no_blocks(block, "logs");
        logs
    }
}
