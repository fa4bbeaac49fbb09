//! A test-only fault: make the scheduler panic on purpose (scenario 12 of RELIABILITY.md).
//!
//! The hook is armed only when the agent process was started with [`PANIC_HOOK_ENV`] set to
//! `1` (integration tests do that for one server); then an evaluation of a job whose `meta`
//! (or one of its groups' `meta`) has [`PANIC_META_KEY`] panics inside the worker's guarded scheduler call. Without the
//! variable the check is one cached boolean and jobs' meta is never looked at.

use std::sync::OnceLock;

use nomadish_proto::model::Evaluation;

use crate::state::StateView;

/// Environment variable that arms the hook.
pub const PANIC_HOOK_ENV: &str = "NOMADISH_TEST_SCHEDULER_PANIC";
/// Job meta key that makes scheduling the job's evaluations panic (when armed).
pub const PANIC_META_KEY: &str = "nomadish_test_scheduler_panic";

fn armed() -> bool {
    static ARMED: OnceLock<bool> = OnceLock::new();
    *ARMED.get_or_init(|| std::env::var(PANIC_HOOK_ENV).is_ok_and(|v| v == "1"))
}

/// Panics when the hook is armed and the evaluation's job asks for it.
pub fn maybe_panic(view: &StateView, eval: &Evaluation) {
    if !armed() {
        return;
    }
    let asks = view.job(&eval.namespace, &eval.job_id).is_some_and(|j| {
        j.meta.contains_key(PANIC_META_KEY)
            || j.task_groups
                .iter()
                .any(|g| g.meta.contains_key(PANIC_META_KEY))
    });
    if asks {
        panic!("test-only scheduler panic for job {:?}", eval.job_id);
    }
}
