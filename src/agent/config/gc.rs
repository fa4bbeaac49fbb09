//! `server { eval_gc_threshold batch_eval_gc_threshold job_gc_threshold node_gc_threshold
//! deployment_gc_threshold }`:
//! how long finished objects are kept before the leader's garbage collector deletes them.

use std::time::Duration;

use nomadish_server::gc::GcThresholds;

/// The GC thresholds given in a `server` block (unset ones keep Nomad's defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcBlock {
    /// `eval_gc_threshold` (Nomad: 1h).
    pub eval: Option<Duration>,
    /// `batch_eval_gc_threshold` (Nomad: 24h).
    pub batch_eval: Option<Duration>,
    /// `job_gc_threshold` (Nomad: 4h).
    pub job: Option<Duration>,
    /// `node_gc_threshold` (Nomad: 24h).
    pub node: Option<Duration>,
    /// `deployment_gc_threshold` (Nomad: 1h).
    pub deployment: Option<Duration>,
}

/// The attribute names this block reads.
pub const GC_ATTRIBUTES: [&str; 5] = [
    "eval_gc_threshold",
    "batch_eval_gc_threshold",
    "job_gc_threshold",
    "node_gc_threshold",
    "deployment_gc_threshold",
];

impl GcBlock {
    /// Records one `*_gc_threshold` attribute.
    pub fn set(&mut self, key: &str, value: Duration) {
        let slot = match key {
            "eval_gc_threshold" => &mut self.eval,
            "batch_eval_gc_threshold" => &mut self.batch_eval,
            "job_gc_threshold" => &mut self.job,
            "deployment_gc_threshold" => &mut self.deployment,
            _ => &mut self.node,
        };
        *slot = Some(value);
    }

    /// A later file's values override this one's.
    pub fn merge(&self, later: &GcBlock) -> GcBlock {
        GcBlock {
            eval: later.eval.or(self.eval),
            batch_eval: later.batch_eval.or(self.batch_eval),
            job: later.job.or(self.job),
            node: later.node.or(self.node),
            deployment: later.deployment.or(self.deployment),
        }
    }

    /// The thresholds, Nomad's defaults where unset.
    pub fn resolve(&self) -> GcThresholds {
        let d = GcThresholds::default();
        let ns = |v: Option<Duration>, default: i64| {
            v.map_or(default, |v| i64::try_from(v.as_nanos()).unwrap_or(i64::MAX))
        };
        GcThresholds {
            eval: ns(self.eval, d.eval),
            batch_eval: ns(self.batch_eval, d.batch_eval),
            job: ns(self.job, d.job),
            node: ns(self.node, d.node),
            deployment: ns(self.deployment, d.deployment),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_str, resolve};

    const NS_PER_HOUR: i64 = 3_600_000_000_000;

    #[test]
    fn thresholds_parse_merge_and_default_to_nomads() {
        let ip = "10.1.1.1".parse().unwrap();
        let cfg = parse_str(
            "a",
            "data_dir = \"/tmp/x\"\nserver {\n  enabled = true\n  bootstrap_expect = 1\n  eval_gc_threshold = \"2h\"\n  node_gc_threshold = \"30m\"\n}\n",
        )
        .unwrap();
        let later = parse_str("b", "server {\n  job_gc_threshold = \"1h\"\n}\n").unwrap();
        let server = resolve(&cfg.merge(&later), false, None, ip)
            .unwrap()
            .server
            .expect("server");
        assert_eq!(server.gc.eval, 2 * NS_PER_HOUR);
        assert_eq!(server.gc.batch_eval, 24 * NS_PER_HOUR, "default kept");
        assert_eq!(server.gc.job, NS_PER_HOUR);
        assert_eq!(server.gc.node, NS_PER_HOUR / 2);
        let err = parse_str("c", "server {\n  job_gc_threshold = \"soon\"\n}\n").unwrap_err();
        assert!(err.to_string().contains("job_gc_threshold"), "{err}");
    }
}
