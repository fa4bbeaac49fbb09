//! nomadish-metrics: the agent's telemetry registry, in the spirit of Nomad's go-metrics.
//!
//! ```text
//!   hot paths ── incr / set_gauge / measure_since(name, labels) ──> Registry (process-wide)
//!                 (atomics only, a read lock to find the metric)      │
//!   GET /v1/metrics ── snapshot() + gauges collected at scrape ───────┘
//!                      └─> Nomad JSON {Timestamp, Gauges, Counters, Samples}
//!                      └─> Prometheus text (dots become underscores; samples are summaries)
//! ```
//!
//! Every agent's listener (servers, and client-only agents) answers `/v1/metrics` through
//! [`Format::from_param`] and [`Snapshot::render`], so the two cannot drift apart.
//!
//! Names follow Nomad's (`nomad.raft.apply`, `nomad.nomad.broker.total_ready`); timings are
//! milliseconds, as go-metrics records them. Unlike Nomad's 10-second intervals, the
//! statistics cover the process's life (Prometheus computes rates itself); quantiles cover
//! the last [`WINDOW`] observations of each sample.
//!
//! No crate was taken for this: the well-kept ones (`metrics`, `prometheus-client`) expose
//! histograms for Prometheus but not the min/max/mean/stddev Nomad's JSON reports, and the
//! registry is small.
#![forbid(unsafe_code)]

mod aggregate;
mod format;
mod render;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Instant;

use aggregate::{Aggregate, AtomicF64, Window};
pub use aggregate::{AggregateStats, WINDOW, quantile};
pub use format::{Format, JSON_CONTENT_TYPE, Rendered, UnknownFormat, go_timestamp};
pub use render::{PROMETHEUS_CONTENT_TYPE, prometheus_name};

/// The quantiles summaries report.
pub const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

/// Metric labels, sorted by name.
pub type Labels = Vec<(String, String)>;

/// A counter: how often it was incremented and by how much in total.
#[derive(Debug, Default)]
pub struct Counter(Aggregate);

impl Counter {
    /// Adds `v` (one increment).
    pub fn add(&self, v: f64) {
        self.0.record(v);
    }
}

/// A gauge: the last value set.
#[derive(Debug)]
pub struct Gauge(AtomicF64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: f64) {
        self.0.store(v);
    }
}

/// A timing (or other) sample: running statistics plus a window for quantiles.
#[derive(Debug, Default)]
pub struct Summary {
    aggregate: Aggregate,
    window: Window,
}

impl Summary {
    /// Records one observation.
    pub fn observe(&self, v: f64) {
        self.aggregate.record(v);
        self.window.push(v);
    }
}

#[derive(Debug, Clone)]
enum Metric {
    Counter(Arc<Counter>),
    Gauge(Arc<Gauge>),
    Summary(Arc<Summary>),
}

#[derive(Debug)]
struct Entry {
    name: String,
    labels: Labels,
    metric: Metric,
}

/// A set of named, labelled metrics.
#[derive(Debug)]
pub struct Registry {
    started: Instant,
    entries: RwLock<HashMap<String, Entry>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            entries: RwLock::default(),
        }
    }
}

/// The registry key: the name alone, or the name and sorted labels joined by NULs.
fn key(name: &str, labels: &[(&str, &str)]) -> (String, Labels) {
    let mut sorted: Labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    sorted.sort();
    let mut key = name.to_string();
    for (k, v) in &sorted {
        key.push('\0');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    (key, sorted)
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The metric under `name`/`labels`, made by `make` on first use. A name already used
    /// by another kind of metric gets a detached metric (recorded nowhere) instead.
    fn get<T>(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        pick: fn(&Metric) -> Option<Arc<T>>,
        make: fn(Arc<T>) -> Metric,
        fresh: fn() -> Arc<T>,
    ) -> Arc<T> {
        let fast = labels.is_empty().then(|| {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            entries.get(name).map(|e| pick(&e.metric))
        });
        if let Some(Some(found)) = fast {
            return found.unwrap_or_else(fresh);
        }
        let (key, labels) = key(name, labels);
        if let Some(e) = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return pick(&e.metric).unwrap_or_else(fresh);
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let entry = entries.entry(key).or_insert_with(|| Entry {
            name: name.to_string(),
            labels,
            metric: make(fresh()),
        });
        pick(&entry.metric).unwrap_or_else(fresh)
    }

    /// The counter `name` with `labels`.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Arc<Counter> {
        self.get(
            name,
            labels,
            |m| match m {
                Metric::Counter(c) => Some(c.clone()),
                _ => None,
            },
            Metric::Counter,
            Arc::default,
        )
    }

    /// The gauge `name` with `labels`.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Arc<Gauge> {
        self.get(
            name,
            labels,
            |m| match m {
                Metric::Gauge(g) => Some(g.clone()),
                _ => None,
            },
            Metric::Gauge,
            || Arc::new(Gauge(AtomicF64::new(0.0))),
        )
    }

    /// The summary `name` with `labels`.
    pub fn summary(&self, name: &str, labels: &[(&str, &str)]) -> Arc<Summary> {
        self.get(
            name,
            labels,
            |m| match m {
                Metric::Summary(s) => Some(s.clone()),
                _ => None,
            },
            Metric::Summary,
            Arc::default,
        )
    }

    /// Every metric's current value, sorted by name and labels.
    pub fn snapshot(&self) -> Snapshot {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let mut snap = Snapshot::default();
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        for e in entries.values() {
            let stats = |a: &Aggregate, quantiles: Vec<(f64, f64)>| {
                let s = a.stats();
                Stats {
                    name: e.name.clone(),
                    labels: e.labels.clone(),
                    rate: s.sum / elapsed,
                    stats: s,
                    quantiles,
                }
            };
            match &e.metric {
                Metric::Counter(c) => snap.counters.push(stats(&c.0, Vec::new())),
                Metric::Gauge(g) => snap.push_gauge(&e.name, e.labels.clone(), g.0.load()),
                Metric::Summary(s) => {
                    let window = s.window.sorted();
                    let q = QUANTILES.iter().map(|q| (*q, quantile(&window, *q)));
                    snap.samples.push(stats(&s.aggregate, q.collect()));
                }
            }
        }
        drop(entries);
        snap.sort();
        snap
    }
}

/// One gauge's value.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugePoint {
    /// Dotted name.
    pub name: String,
    /// Labels, sorted.
    pub labels: Labels,
    /// Value.
    pub value: f64,
}

/// A counter's or sample's statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Dotted name.
    pub name: String,
    /// Labels, sorted.
    pub labels: Labels,
    /// Count, sum, min, max, mean, stddev.
    pub stats: AggregateStats,
    /// Sum per second since the registry started.
    pub rate: f64,
    /// `(quantile, value)` over the recent window (samples only).
    pub quantiles: Vec<(f64, f64)>,
}

/// Every metric at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Gauges.
    pub gauges: Vec<GaugePoint>,
    /// Counters.
    pub counters: Vec<Stats>,
    /// Samples (timings).
    pub samples: Vec<Stats>,
}

impl Snapshot {
    /// Adds a gauge computed at scrape time (counts read from the state, say).
    pub fn push_gauge(&mut self, name: &str, labels: Labels, value: f64) {
        self.gauges.push(GaugePoint {
            name: name.to_string(),
            labels,
            value,
        });
    }

    /// Sorts every list by name, then labels.
    pub fn sort(&mut self) {
        self.gauges
            .sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        for list in [&mut self.counters, &mut self.samples] {
            list.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        }
    }
}

/// The process-wide registry the agent records into.
pub fn global() -> &'static Registry {
    static GLOBAL: LazyLock<Registry> = LazyLock::new(Registry::new);
    &GLOBAL
}

/// Increments the global counter `name` by one.
pub fn incr(name: &str, labels: &[(&str, &str)]) {
    global().counter(name, labels).add(1.0);
}

/// Sets the global gauge `name`.
pub fn set_gauge(name: &str, labels: &[(&str, &str)], value: f64) {
    global().gauge(name, labels).set(value);
}

/// Records the milliseconds since `start` in the global sample `name`.
pub fn measure_since(name: &str, labels: &[(&str, &str)], start: Instant) {
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    global().summary(name, labels).observe(ms);
}

#[cfg(test)]
mod tests;
