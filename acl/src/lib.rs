#![forbid(unsafe_code)]
//! nomadish's ACL policy language and authorization (placeholder doc, replaced below).

pub mod audit;
pub mod caps;
pub mod compiled;
mod glob;
pub mod policy;
pub mod secret;

pub use compiled::Acl;
pub use policy::{Level, Policy, PolicyError, parse_policy};
