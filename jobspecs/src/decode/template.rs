//! A task's `template { data | source, destination, change_mode, change_signal, splay, perms,
//! uid, gid, left_delimiter, right_delimiter, env, error_on_missing_key }`, rendered by the
//! client before the task starts (Nomad's defaults: restart, 5s splay, 0644, `{{ }}`).

use hcl_edit::structure::Block;
use nomadish_proto::model::canonicalize::FieldPath;
use nomadish_proto::model::{
    TEMPLATE_CHANGE_NOOP, TEMPLATE_CHANGE_RESTART, TEMPLATE_CHANGE_SIGNAL, Template,
};

use super::{Decoder, attr_offset, block_offset};
use crate::convert;

impl Decoder<'_> {
    pub(super) fn template(&mut self, block: &Block, path: &FieldPath) -> Option<Template> {
        if !self.no_labels(block) {
            return None;
        }
        self.record(path.clone(), block_offset(block));
        let mut t = Template::default();
        let mut ok = true;
        for attr in block.body.attributes() {
            let s = &mut t;
            match attr.key.as_str() {
                "data" => self.set(
                    attr,
                    path.field("EmbeddedTmpl"),
                    &mut s.embedded_tmpl,
                    convert::string,
                ),
                "source" => self.set(
                    attr,
                    path.field("SourcePath"),
                    &mut s.source_path,
                    convert::string,
                ),
                "destination" => self.set(
                    attr,
                    path.field("DestPath"),
                    &mut s.dest_path,
                    convert::string,
                ),
                "change_mode" => {
                    self.set(
                        attr,
                        path.field("ChangeMode"),
                        &mut s.change_mode,
                        convert::string,
                    );
                    let modes = [
                        TEMPLATE_CHANGE_RESTART,
                        TEMPLATE_CHANGE_SIGNAL,
                        TEMPLATE_CHANGE_NOOP,
                    ];
                    if !modes.contains(&s.change_mode.as_str()) {
                        let msg = format!(
                            "template change_mode {:?} is not one of \"restart\", \"signal\", \"noop\"",
                            s.change_mode
                        );
                        self.error(attr_offset(attr), msg);
                        ok = false;
                    }
                }
                "change_signal" => self.set(
                    attr,
                    path.field("ChangeSignal"),
                    &mut s.change_signal,
                    convert::string,
                ),
                "splay" => {
                    self.set(attr, path.field("Splay"), &mut s.splay, convert::duration);
                    if s.splay < 0 {
                        self.error(attr_offset(attr), "template splay must not be negative");
                        ok = false;
                    }
                }
                "perms" => {
                    self.set(attr, path.field("Perms"), &mut s.perms, convert::string);
                    if u32::from_str_radix(&s.perms, 8).map_or(true, |p| p > 0o7777) {
                        let msg = format!("template perms {:?} is not an octal file mode", s.perms);
                        self.error(attr_offset(attr), msg);
                        ok = false;
                    }
                }
                "uid" | "gid" => {
                    let mut id = 0;
                    let field = if attr.key.as_str() == "uid" {
                        "Uid"
                    } else {
                        "Gid"
                    };
                    self.set(attr, path.field(field), &mut id, convert::int);
                    if attr.key.as_str() == "uid" {
                        s.uid = Some(id)
                    } else {
                        s.gid = Some(id)
                    }
                }
                "left_delimiter" => self.set(
                    attr,
                    path.field("LeftDelim"),
                    &mut s.left_delim,
                    convert::string,
                ),
                "right_delimiter" => self.set(
                    attr,
                    path.field("RightDelim"),
                    &mut s.right_delim,
                    convert::string,
                ),
                "env" => self.set(
                    attr,
                    path.field("Envvars"),
                    &mut s.envvars,
                    convert::boolean,
                ),
                "error_on_missing_key" => {
                    self.set(
                        attr,
                        path.field("ErrMissingKey"),
                        &mut s.err_missing_key,
                        convert::boolean,
                    );
                }
                _ => self.unknown_attribute(attr, "template"),
            }
        }
        self.no_blocks(block, "template");
        let problem = if t.embedded_tmpl.is_empty() && t.source_path.is_empty() {
            Some(
                "template: must specify a source path or have an embedded template (\"source\" or \"data\")",
            )
        } else if !t.embedded_tmpl.is_empty() && !t.source_path.is_empty() {
            Some("template: \"source\" and \"data\" are mutually exclusive")
        } else if t.dest_path.is_empty() {
            Some("template: attribute \"destination\" is required")
        } else if t.change_mode == TEMPLATE_CHANGE_SIGNAL && t.change_signal.is_empty() {
            Some("template: change_signal is required when change_mode is \"signal\"")
        } else if t.left_delim.is_empty() || t.right_delim.is_empty() {
            Some("template: delimiters must not be empty")
        } else {
            None
        };
        if let Some(msg) = problem {
            self.error(block_offset(block), msg);
            return None;
        }
        ok.then_some(t)
    }
}
