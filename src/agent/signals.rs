//! One shutdown signal for the whole agent: Ctrl-C or SIGTERM flips it once, and every
//! `run(...)` (server, client, `-run` follower) gets a clone of the future that resolves
//! then. A second signal exits at once.

use std::sync::Arc;

use tokio::sync::watch;

/// Exit code when a second signal forces the process down.
pub const FORCED_EXIT_CODE: i32 = 1;

/// Fires the shutdown signal.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

/// Waits for the shutdown signal; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// A connected trigger and signal.
pub fn shutdown_channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    /// Signals shutdown (idempotent).
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// A signal connected to this trigger.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            rx: self.tx.subscribe(),
        }
    }
}

impl Shutdown {
    /// Resolves once shutdown is signalled (or the trigger is gone).
    pub async fn wait(mut self) {
        let _ = self.rx.wait_for(|fired| *fired).await;
    }

    /// Whether shutdown has been signalled.
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }
}

/// Listens for Ctrl-C and SIGTERM: the first fires `trigger`, the second exits the process.
pub fn spawn_signal_listener(trigger: Arc<ShutdownTrigger>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        let mut caught = 0;
        loop {
            let name = tokio::select! {
                r = tokio::signal::ctrl_c() => match r {
                    Ok(()) => "interrupt",
                    Err(_) => return,
                },
                _ = term.recv() => "terminated",
            };
            caught += 1;
            if caught > 1 {
                eprintln!("==> Caught second signal: {name}; exiting now");
                std::process::exit(FORCED_EXIT_CODE);
            }
            eprintln!("==> Caught signal: {name}");
            eprintln!("==> Gracefully shutting down agent...");
            trigger.trigger();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_trigger() {
        let (trigger, shutdown) = shutdown_channel();
        let a = tokio::spawn(shutdown.clone().wait());
        let b = tokio::spawn(trigger.subscribe().wait());
        assert!(!shutdown.is_triggered());
        trigger.trigger();
        a.await.unwrap();
        b.await.unwrap();
        assert!(shutdown.is_triggered());
        // Waiting after the fact returns at once.
        shutdown.wait().await;
    }

    #[tokio::test]
    async fn dropping_the_trigger_releases_waiters() {
        let (trigger, shutdown) = shutdown_channel();
        drop(trigger);
        shutdown.wait().await;
    }
}
