//! A cloneable stop signal for the client's long-running loops: one [`StopSource`] is
//! triggered when the agent shuts down, and every loop holds a [`Stop`] it can await,
//! poll, or race a sleep against.

use std::time::Duration;

use tokio::sync::watch;

/// The side that triggers the stop.
#[derive(Debug)]
pub struct StopSource(watch::Sender<bool>);

/// The side that observes the stop; cheap to clone.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl StopSource {
    /// A new, untriggered stop signal.
    pub fn new() -> Self {
        Self(watch::channel(false).0)
    }

    /// A receiver for loops to watch.
    pub fn subscribe(&self) -> Stop {
        Stop(self.0.subscribe())
    }

    /// Triggers the stop; every [`Stop`] sees it.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Default for StopSource {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    /// Whether the stop was triggered (or its source dropped).
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Resolves once the stop is triggered (or its source dropped).
    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps for `d` unless stopped first; returns true when stopped.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            () = self.stopped() => true,
            () = tokio::time::sleep(d) => self.is_stopped(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_wakes_sleepers() {
        let source = StopSource::new();
        let mut stop = source.subscribe();
        assert!(!stop.is_stopped());
        let sleeper = tokio::spawn(async move { stop.sleep(Duration::from_secs(60)).await });
        source.stop();
        let stopped = tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .unwrap()
            .unwrap();
        assert!(stopped);
    }

    #[tokio::test]
    async fn dropped_source_counts_as_stopped() {
        let source = StopSource::new();
        let mut stop = source.subscribe();
        drop(source);
        assert!(stop.is_stopped());
        tokio::time::timeout(Duration::from_secs(5), stop.stopped())
            .await
            .unwrap();
    }
}
