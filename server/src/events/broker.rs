//! The event broker: a bounded ring of recent batches and a signal when a new one lands.
//!
//! ```text
//!   publish(batches) ─> ring (oldest batches dropped past the capacity, in events) ─> watch(index)
//!   stream(cursor) ── batches after cursor ─> filter ─> NDJSON lines │ idle: `{}` heartbeat
//! ```
//!
//! Subscribers never block the FSM: they copy `Arc`s of the batches after their cursor out
//! of the ring and filter them outside the lock. One that falls behind the ring continues
//! from its oldest batch (as Nomad starts from the closest index still buffered).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::Stream;
use tokio::sync::watch;

use super::wire::{HEARTBEAT, batch_line};
use super::{EventBatch, Subscription};

/// Events kept for subscribers that resume from an index (whole batches are dropped, oldest
/// first, past this many events).
pub const DEFAULT_BUFFER_SIZE: usize = 10_000;

#[derive(Debug)]
struct Ring {
    batches: VecDeque<Arc<EventBatch>>,
    events: usize,
    capacity: usize,
}

/// The server's event broker.
#[derive(Debug)]
pub struct EventBroker {
    ring: Mutex<Ring>,
    latest: watch::Sender<u64>,
}

impl Default for EventBroker {
    fn default() -> Self {
        Self::new(DEFAULT_BUFFER_SIZE)
    }
}

impl EventBroker {
    /// A broker keeping about `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: Mutex::new(Ring {
                batches: VecDeque::new(),
                events: 0,
                capacity: capacity.max(1),
            }),
            latest: watch::channel(0).0,
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends batches (in index order) and wakes subscribers.
    pub fn publish(&self, batches: Vec<EventBatch>) {
        let Some(last) = batches.last().map(|b| b.index) else {
            return;
        };
        {
            let mut ring = self.ring();
            for batch in batches {
                ring.events += batch.events.len();
                ring.batches.push_back(Arc::new(batch));
            }
            while ring.events > ring.capacity && ring.batches.len() > 1 {
                if let Some(old) = ring.batches.pop_front() {
                    ring.events -= old.events.len();
                }
            }
        }
        self.latest.send_replace(last);
    }

    /// The buffered batches with an index above `cursor`.
    pub fn after(&self, cursor: u64) -> Vec<Arc<EventBatch>> {
        let ring = self.ring();
        let start = ring.batches.partition_point(|b| b.index <= cursor);
        ring.batches.range(start..).cloned().collect()
    }

    /// Events buffered now.
    pub fn len(&self) -> usize {
        self.ring().events
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The NDJSON lines of `sub`'s events from raft index `from` on (everything buffered when
    /// 0), then of every new one, with a heartbeat line after `heartbeat` of silence. Never
    /// ends by itself; the HTTP layer ends it when the client goes or the token does.
    pub fn stream(
        self: Arc<Self>,
        sub: Subscription,
        from: u64,
        heartbeat: Duration,
    ) -> impl Stream<Item = Vec<u8>> + Send + 'static {
        let state = Cursor {
            broker: self.clone(),
            rx: self.latest.subscribe(),
            sub,
            cursor: from.saturating_sub(1),
            queue: VecDeque::new(),
            heartbeat,
        };
        futures::stream::unfold(state, |mut c| async move {
            let line = c.next_line().await?;
            Some((line, c))
        })
    }
}

/// A subscriber's position in the broker.
struct Cursor {
    broker: Arc<EventBroker>,
    rx: watch::Receiver<u64>,
    sub: Subscription,
    /// The last raft index looked at.
    cursor: u64,
    /// Batches taken from the ring and not yet looked at.
    queue: VecDeque<Arc<EventBatch>>,
    heartbeat: Duration,
}

impl Cursor {
    /// The next line: the subscriber's events of one index, or a heartbeat; `None` once the
    /// broker is gone.
    async fn next_line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(batch) = self.queue.pop_front() {
                self.cursor = batch.index;
                let mut wanted = batch.events.iter().filter(|e| self.sub.wants(e)).peekable();
                if wanted.peek().is_some() {
                    return Some(batch_line(batch.index, wanted));
                }
                continue;
            }
            // Marked seen before reading, so a batch published meanwhile wakes the wait.
            self.rx.borrow_and_update();
            let fresh = self.broker.after(self.cursor);
            if !fresh.is_empty() {
                self.queue.extend(fresh);
                continue;
            }
            match tokio::time::timeout(self.heartbeat, self.rx.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return None,
                Err(_) => return Some(HEARTBEAT.to_vec()),
            }
        }
    }
}
