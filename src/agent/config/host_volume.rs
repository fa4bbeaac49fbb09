//! `client { host_volume "name" { path = "/abs/dir"  read_only = false } }`: directories the
//! operator offers to jobs. Parsed here; `resolve` checks that each path is an existing
//! directory.

use std::path::PathBuf;

use hcl_edit::Span;
use hcl_edit::structure::Block;

use super::{Result, Walker};

/// One `host_volume` block as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostVolumeBlock {
    /// The directory on this host.
    pub path: Option<PathBuf>,
    /// Whether jobs may only read it.
    pub read_only: Option<bool>,
}

impl Walker<'_> {
    /// Reads a `host_volume "name" { ... }` block.
    pub(super) fn host_volume(&self, b: &Block) -> Result<(String, HostVolumeBlock)> {
        let name = match b.labels.as_slice() {
            [label] if !label.as_str().trim().is_empty() => label.as_str().to_string(),
            _ => {
                let message = "expected one label, the volume's name: host_volume \"name\" { ... }";
                return Err(self.invalid("host_volume", b.ident.span(), message));
            }
        };
        let mut volume = HostVolumeBlock::default();
        for a in self.attributes(&b.body, "host_volume")? {
            match a.key.as_str() {
                "path" => {
                    let path = self.path(a)?;
                    if !path.is_absolute() {
                        let message = "expected an absolute path";
                        return Err(self.invalid("path", a.value.span(), message));
                    }
                    volume.path = Some(path);
                }
                "read_only" => volume.read_only = Some(self.boolean(a)?),
                key => return Err(self.unknown(key, a.key.span(), "host_volume")),
            }
        }
        if volume.path.is_none() {
            let message = "a host_volume needs path = \"/absolute/dir\"";
            return Err(self.invalid("host_volume", b.ident.span(), message));
        }
        Ok((name, volume))
    }
}
