//! A group's `network { mode hostname port "label" { static to host_network } }`.
//!
//! A port with `static` becomes a reserved port; one without becomes a dynamic port that the
//! scheduler assigns from the node's dynamic range.

use hcl_edit::structure::Block;
use nomadish_proto::model::canonicalize::FieldPath;
use nomadish_proto::model::{NetworkResource, Port};

use super::{Decoder, attr_offset, block_offset, label_offset};
use crate::convert;

/// The largest `to` value: a port number.
const MAX_PORT: i64 = u16::MAX as i64;

impl Decoder<'_> {
    pub(super) fn network(&mut self, block: &Block, path: &FieldPath) -> Option<NetworkResource> {
        if !self.no_labels(block) {
            return None;
        }
        self.record(path.clone(), block_offset(block));
        let mut net = NetworkResource::default();
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "mode" => self.set(attr, path.field("Mode"), &mut net.mode, convert::string),
                "hostname" => {
                    self.set(
                        attr,
                        path.field("Hostname"),
                        &mut net.hostname,
                        convert::string,
                    );
                }
                _ => self.unknown_attribute(attr, "network"),
            }
        }
        for b in block.body.blocks() {
            if b.ident.as_str() != "port" {
                self.unknown_block(b, "network");
                continue;
            }
            let Some(label) = self.label(b) else { continue };
            self.port(b, label, &mut net, path);
        }
        Some(net)
    }

    fn port(&mut self, block: &Block, label: String, net: &mut NetworkResource, path: &FieldPath) {
        let mut port = Port {
            label,
            ..Port::default()
        };
        let mut marks = vec![("", block_offset(block)), ("Label", label_offset(block))];
        let mut is_static = false;
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "static" => {
                    if let Some(n) = self.read(attr, |v| convert::int_in(v, 0, MAX_PORT)) {
                        port.value = u16::try_from(n).unwrap_or_default();
                        is_static = true;
                        marks.push(("Value", attr_offset(attr)));
                    }
                }
                "to" => {
                    if let Some(n) = self.read(attr, |v| convert::int_in(v, -1, MAX_PORT)) {
                        port.to = i32::try_from(n).unwrap_or_default();
                        marks.push(("To", attr_offset(attr)));
                    }
                }
                "host_network" => {
                    if let Some(s) = self.read(attr, convert::string) {
                        port.host_network = s;
                        marks.push(("HostNetwork", attr_offset(attr)));
                    }
                }
                _ => self.unknown_attribute(attr, "port"),
            }
        }
        self.no_blocks(block, "port");
        let (list, ports) = if is_static {
            ("ReservedPorts", &mut net.reserved_ports)
        } else {
            ("DynamicPorts", &mut net.dynamic_ports)
        };
        let port_path = path.field(list).index(ports.len());
        ports.push(port);
        for (field, offset) in marks {
            let p = if field.is_empty() {
                port_path.clone()
            } else {
                port_path.field(field)
            };
            self.record(p, offset);
        }
    }
}
