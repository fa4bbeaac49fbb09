#![forbid(unsafe_code)]
//! TEMPORARY STUB (replaced by the real crate on merge).
pub mod caps {
    pub const LIST_JOBS: &str = "list-jobs";
    pub const PARSE_JOB: &str = "parse-job";
    pub const READ_JOB: &str = "read-job";
    pub const SUBMIT_JOB: &str = "submit-job";
    pub const DISPATCH_JOB: &str = "dispatch-job";
    pub const READ_LOGS: &str = "read-logs";
    pub const READ_FS: &str = "read-fs";
    pub const ALLOC_EXEC: &str = "alloc-exec";
    pub const ALLOC_LIFECYCLE: &str = "alloc-lifecycle";
    pub const SCALE_JOB: &str = "scale-job";
    pub const READ_JOB_SCALING: &str = "read-job-scaling";
    pub const VAR_READ: &str = "read";
    pub const VAR_WRITE: &str = "write";
    pub const VAR_LIST: &str = "list";
    pub const VAR_DESTROY: &str = "destroy";
}
pub mod policy {
    #[derive(Debug, Clone, Default)]
    pub struct Policy;
    #[derive(Debug, Clone)]
    pub struct PolicyError { pub line: usize, pub col: usize, pub message: String }
    impl std::fmt::Display for PolicyError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}:{}: {}", self.line, self.col, self.message)
        }
    }
    pub fn parse_policy(_src: &str) -> Result<Policy, PolicyError> { Ok(Policy) }
}
pub mod compiled {
    use super::policy::Policy;
    #[derive(Debug, Clone)]
    pub struct Acl { m: bool }
    impl Acl {
        pub fn management() -> Acl { Acl { m: true } }
        pub fn deny_all() -> Acl { Acl { m: false } }
        pub fn compile(_p: &[&Policy]) -> Acl { Acl { m: false } }
        pub fn is_management(&self) -> bool { self.m }
        pub fn allow_namespace_op(&self, _ns: &str, _cap: &str) -> bool { self.m }
        pub fn allow_namespace(&self, _ns: &str) -> bool { self.m }
        pub fn allow_variable_op(&self, _ns: &str, _p: &str, _op: &str) -> bool { self.m }
        pub fn allow_node_read(&self) -> bool { self.m }
        pub fn allow_node_write(&self) -> bool { self.m }
        pub fn allow_agent_read(&self) -> bool { self.m }
        pub fn allow_agent_write(&self) -> bool { self.m }
        pub fn allow_operator_read(&self) -> bool { self.m }
        pub fn allow_operator_write(&self) -> bool { self.m }
    }
}
pub mod secret {
    pub fn hash_secret(_salt: &[u8], secret: &str) -> String { format!("h{secret}") }
}
pub mod audit {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct AuditRecord { pub time: String, pub accessor: String, pub remote: String, pub method: String, pub path: String, pub namespace: String, pub outcome: String, pub status: u16 }
    pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    pub fn chain_line(prev: &str, rec: &AuditRecord) -> (String, String) { (format!("{prev}{rec:?}"), prev.to_string()) }
    pub fn line_hash(line: &str) -> String { line.to_string() }
    #[derive(Debug)]
    pub struct VerifyError { pub line: usize, pub reason: String }
    pub fn verify(_t: &str) -> Result<usize, VerifyError> { Ok(0) }
}
pub use compiled::Acl;
pub use policy::{Policy, PolicyError, parse_policy};
