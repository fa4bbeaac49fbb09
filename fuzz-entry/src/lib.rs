//! The bodies of nomadish's fuzz targets, as plain functions of the input bytes.
//!
//! ```text
//!   fuzz/fuzz_targets/<target>.rs ──> TARGETS[<target>](bytes) <── tests/corpus.rs
//!   (cargo +nightly fuzz run, libFuzzer)                           (stable `cargo test`: every
//!                                                                   file of fuzz/corpus/<target>/
//!                                                                   and fuzz/regressions/<target>/)
//! ```
//!
//! Each function returns normally for every input, whether the input is accepted or rejected;
//! it panics only when nomadish breaks one of its own promises (a panic inside the code under
//! test, an error without a position, a job the parser accepts but the server rejects). The
//! fuzz crate (`fuzz/`, nightly, outside the workspace) and the stable corpus test call the
//! same functions, so every crash a fuzzer finds becomes a unit test by copying its input into
//! `fuzz/regressions/<target>/`.
#![forbid(unsafe_code)]

pub mod acl_policy;
pub mod http_job;
pub mod jobspec;
pub mod schedule;

/// A fuzz target: its name (the file under `fuzz/fuzz_targets/` and the corpus directory) and
/// its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target, by name.
pub const TARGETS: [Target; 4] = [
    ("jobspec", jobspec::run),
    ("acl_policy", acl_policy::run),
    ("http_job_json", http_job::run),
    ("schedule", schedule::run),
];
