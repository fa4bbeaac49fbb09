//! Ending spawned tasks: wait a grace period for them to finish on their own, then abort
//! what is left (a task may be stuck on a write that can no longer commit).

use std::time::Duration;

use tokio::task::JoinHandle;

/// Waits until `grace` has passed for every task, then aborts the ones still running;
/// returns how many were aborted.
pub async fn join_or_abort<T>(tasks: Vec<JoinHandle<T>>, grace: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + grace;
    let mut aborted = 0;
    for mut task in tasks {
        if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
            aborted += 1;
        }
    }
    aborted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn stuck_tasks_are_aborted_after_the_grace_period() {
        let quick = tokio::spawn(async {});
        let stuck = tokio::spawn(std::future::pending::<()>());
        let started = tokio::time::Instant::now();
        let aborted = join_or_abort(vec![quick, stuck], Duration::from_secs(3)).await;
        assert_eq!(aborted, 1);
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn finished_tasks_return_at_once() {
        let tasks = (0..3).map(|_| tokio::spawn(async {})).collect();
        let started = tokio::time::Instant::now();
        assert_eq!(join_or_abort(tasks, Duration::from_secs(3)).await, 0);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
