//! A [`Snapshot`] as Nomad's `/v1/metrics` JSON and as Prometheus text (format 0.0.4).
//!
//! Prometheus names are the dotted names with every character outside `[a-zA-Z0-9_:]` turned
//! into `_` (`nomad.raft.apply` → `nomad_raft_apply`); counters are exposed with their total,
//! gauges with their value, samples as summaries (quantiles, `_sum`, `_count`).

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::{GaugePoint, Snapshot, Stats};

/// The content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn labels_json(labels: &[(String, String)]) -> Value {
    let map: Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Value::Object(map)
}

fn stats_json(s: &Stats) -> Value {
    json!({
        "Name": s.name,
        "Count": s.stats.count,
        "Rate": s.rate,
        "Sum": s.stats.sum,
        "Min": s.stats.min,
        "Max": s.stats.max,
        "Mean": s.stats.mean,
        "Stddev": s.stats.stddev,
        "Labels": labels_json(&s.labels),
    })
}

/// A Prometheus metric or label name for a dotted name.
pub fn prometheus_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `{a="1",b="2"}` (with `extra` first), or nothing without labels.
fn label_set(labels: &[(String, String)], extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    parts.extend(
        labels
            .iter()
            .map(|(k, v)| format!("{}=\"{}\"", prometheus_name(k), escape(v))),
    );
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// A float as Prometheus writes it (`NaN`, `+Inf`, `-Inf`, or the number).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        v.to_string()
    }
}

/// Writes `# HELP` and `# TYPE` once per family (entries come sorted by name).
fn header(out: &mut String, last: &mut String, name: &str, dotted: &str, kind: &str) {
    if last != name {
        let _ = writeln!(out, "# HELP {name} {dotted}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        *last = name.to_string();
    }
}

impl Snapshot {
    /// Nomad's `/v1/metrics` JSON, stamped with `timestamp`.
    pub fn to_nomad_json(&self, timestamp: &str) -> Value {
        let gauges: Vec<Value> = self
            .gauges
            .iter()
            .map(|g: &GaugePoint| {
                json!({ "Name": g.name, "Value": g.value, "Labels": labels_json(&g.labels) })
            })
            .collect();
        json!({
            "Timestamp": timestamp,
            "Gauges": gauges,
            "Points": [],
            "Counters": self.counters.iter().map(stats_json).collect::<Vec<_>>(),
            "Samples": self.samples.iter().map(stats_json).collect::<Vec<_>>(),
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let mut last = String::new();
        for g in &self.gauges {
            let name = prometheus_name(&g.name);
            header(&mut out, &mut last, &name, &g.name, "gauge");
            let labels = label_set(&g.labels, None);
            let _ = writeln!(out, "{name}{labels} {}", number(g.value));
        }
        for c in &self.counters {
            let name = prometheus_name(&c.name);
            header(&mut out, &mut last, &name, &c.name, "counter");
            let labels = label_set(&c.labels, None);
            let _ = writeln!(out, "{name}{labels} {}", number(c.stats.sum));
        }
        for s in &self.samples {
            let name = prometheus_name(&s.name);
            header(&mut out, &mut last, &name, &s.name, "summary");
            for (q, v) in &s.quantiles {
                let labels = label_set(&s.labels, Some(("quantile", q.to_string())));
                let _ = writeln!(out, "{name}{labels} {}", number(*v));
            }
            let labels = label_set(&s.labels, None);
            let _ = writeln!(out, "{name}_sum{labels} {}", number(s.stats.sum));
            let _ = writeln!(out, "{name}_count{labels} {}", s.stats.count);
        }
        out
    }
}
