#![forbid(unsafe_code)]
//! nomadish's ACL system, as a pure library (no I/O): the policy language, the compiled ACL
//! that authorizes requests, the hashing of token secrets and the hash-chained audit log.
//!
//! ```text
//! policy text --parse_policy--> Policy --Acl::compile(&[&Policy])--> Acl --allow_*()--> bool
//! token secret --secret::hash_secret(salt, ..)--> stored hash
//! request outcome --audit::chain_line(prev, ..)--> JSON line (verify with audit::verify)
//! ```
//!
//! # The policy language
//!
//! Policies are Nomad's ACL policies, written in HCL. A policy is a list of rule blocks:
//!
//! ```hcl
//! namespace "default" {            # a namespace name, or a glob: "prod-*", "*"
//!   policy       = "write"         # deny | read | write | scale
//!   capabilities = ["alloc-node-exec"]
//!   variables {
//!     path "app/*" {               # a variables path glob (no leading "/")
//!       capabilities = ["read", "write"]   # read | write | list | destroy | deny
//!     }
//!   }
//! }
//! node_pool "gpu-*" { policy = "read" }          # capabilities: read, write, delete, deny
//! host_volume "certs" { policy = "read" }        # capabilities: mount-readonly, mount-readwrite, deny
//! node     { policy = "read" }                   # deny | read | write
//! agent    { policy = "read" }
//! operator { policy = "read" }                   # also capabilities: snapshot-save, keyring-read, ...
//! quota    { policy = "read" }
//! plugin   { policy = "list" }                   # deny | read | list | write
//! ```
//!
//! - `policy` is a shorthand for a set of capabilities ([`caps::namespace_level`] lists
//!   Nomad's expansions: `read` lets one list and read jobs, `write` adds submitting,
//!   dispatching, logs, file system, exec and lifecycle, `scale` covers scaling).
//!   `capabilities` grants further ones by name; both may be combined.
//! - Globs: `*` matches any run of characters (`/` included). For a concrete name the exact
//!   rule wins, else the closest glob (fewest characters matched by `*`), as in Nomad.
//! - Deny: a `deny` policy or capability on *any* rule matching a name wins over every grant,
//!   in every policy of the token (nomadish is stricter here than Nomad, which lets a closer
//!   rule override a wider deny). A namespace deny also denies the namespace's variables.
//! - Variables are governed only by `variables` blocks: a namespace `policy` grants no access
//!   to them (as in Nomad); `read` implies `list`.
//! - Several policies of one token are merged: capabilities are united, and for the
//!   `node`/`agent`/`operator`/`quota`/`plugin` levels the most privileged wins, except deny.
//! - Everything is case-sensitive; unknown blocks, attributes, levels and capabilities are
//!   errors with a 1-based `line:col` ([`PolicyError`]). The Enterprise `sentinel` block is
//!   rejected. Like HCL 2 (and unlike Nomad's HCL 1 parser), two attributes may not share a
//!   line, and a one-line block cannot hold another block.

pub mod audit;
pub mod caps;
pub mod compiled;
mod glob;
pub mod policy;
pub mod secret;

pub use compiled::Acl;
pub use policy::{Level, Policy, PolicyError, parse_policy};
