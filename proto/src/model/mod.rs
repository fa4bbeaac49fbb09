//! The domain model: plain serde structs in Nomad's JSON shapes.
//!
//! Field names follow Nomad's HTTP API v1 (`PascalCase`, with Nomad's exceptions such as
//! `ID`, `CPU`, `MemoryMB`), so the HTTP API returns these types as they are and existing
//! Nomad clients can read them. Durations and times on the wire are Unix nanoseconds.
//!
//! Every struct is `#[serde(default)]`: a field missing from a request takes its default, and
//! [`strip_nulls`] turns Nomad-client `null`s into "missing" before decoding. Defaults that
//! depend on context (the job type) are filled by `Job::canonicalize` in the jobspecs crate's
//! sibling module [`canonicalize`].

mod acl;
mod alloc;
mod alloc_ops_api;
mod api;
mod autopilot;
pub mod canonicalize;
mod deployment;
mod eval;
mod job;
mod job_plan;
mod lifecycle_api;
mod namespace;
mod node;
mod node_api;
mod plan;
mod policies;
mod resources;
mod scheduler_config;
mod service;
mod small_map;
mod time;
mod unsupported;
mod variable;
mod volumes;

pub use acl::*;
pub use alloc::*;
pub use alloc_ops_api::*;
pub use api::*;
pub use autopilot::*;
pub use deployment::*;
pub use eval::*;
pub use job::*;
pub use job_plan::*;
pub use lifecycle_api::*;
pub use namespace::*;
pub use node::*;
pub use node_api::*;
pub use plan::*;
pub use policies::*;
pub use resources::*;
pub use scheduler_config::*;
pub use service::*;
pub use small_map::{Entry as SmallMapEntry, SmallMap};
pub use time::*;
pub use unsupported::*;
pub use variable::*;
pub use volumes::*;

/// Removes every `null` member from JSON objects, recursively.
///
/// Nomad's Go clients send unset pointer fields as `null`; after this pass they decode as
/// missing fields and take the model's defaults.
pub fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// A fresh random UUID in Nomad's textual form.
pub fn generate_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The first 8 characters of an ID, as Nomad's CLI prints them.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_nulls_removes_nested_nulls() {
        let mut v = serde_json::json!({"A": null, "B": {"C": null, "D": 1}, "E": [{"F": null}]});
        strip_nulls(&mut v);
        assert_eq!(v, serde_json::json!({"B": {"D": 1}, "E": [{}]}));
    }

    #[test]
    fn short_id_takes_eight_chars() {
        assert_eq!(short_id("0123456789"), "01234567");
        assert_eq!(short_id("abc"), "abc");
    }
}
