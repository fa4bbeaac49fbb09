//! Registry and rendering tests.

use super::*;

#[test]
fn the_same_name_and_labels_share_one_metric_whatever_the_label_order() {
    let r = Registry::new();
    r.counter("nomad.x", &[("a", "1"), ("b", "2")]).add(1.0);
    r.counter("nomad.x", &[("b", "2"), ("a", "1")]).add(2.0);
    r.counter("nomad.x", &[("a", "other")]).add(5.0);
    let snap = r.snapshot();
    assert_eq!(snap.counters.len(), 2);
    let c = &snap.counters[0];
    assert_eq!(
        c.labels,
        vec![("a".into(), "1".into()), ("b".into(), "2".into())]
    );
    assert_eq!((c.stats.count, c.stats.sum), (2, 3.0));
    assert_eq!(snap.counters[1].stats.sum, 5.0);
}

#[test]
fn a_name_taken_by_another_kind_records_nowhere_instead_of_failing() {
    let r = Registry::new();
    r.gauge("nomad.g", &[]).set(3.0);
    r.counter("nomad.g", &[]).add(1.0);
    let snap = r.snapshot();
    assert_eq!(snap.gauges.len(), 1);
    assert!(snap.counters.is_empty());
}

#[test]
fn summaries_report_stats_and_quantiles() {
    let r = Registry::new();
    let s = r.summary("nomad.raft.commitTime", &[]);
    for v in 1..=100 {
        s.observe(f64::from(v));
    }
    let snap = r.snapshot();
    let sample = &snap.samples[0];
    assert_eq!(sample.stats.count, 100);
    assert_eq!((sample.stats.min, sample.stats.max), (1.0, 100.0));
    assert_eq!(sample.stats.mean, 50.5);
    assert_eq!(
        sample.quantiles,
        vec![(0.5, 50.0), (0.9, 90.0), (0.99, 99.0)]
    );
}

#[test]
fn counters_are_safe_to_share_across_threads() {
    let r = std::sync::Arc::new(Registry::new());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let r = r.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    r.counter("nomad.c", &[("t", "x")]).add(1.0);
                    r.summary("nomad.s", &[]).observe(1.0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let snap = r.snapshot();
    assert_eq!(snap.counters[0].stats.count, 4000);
    assert_eq!(snap.samples[0].stats.sum, 4000.0);
}

#[test]
fn json_has_nomads_shape() {
    let r = Registry::new();
    r.gauge("nomad.nomad.broker.total_ready", &[]).set(2.0);
    r.counter("nomad.raft.apply", &[]).add(1.0);
    r.summary("nomad.http.request", &[("route", "/v1/jobs")])
        .observe(4.0);
    let v = r.snapshot().to_nomad_json("2026-01-01 00:00:00 +0000 UTC");
    assert_eq!(v["Timestamp"], "2026-01-01 00:00:00 +0000 UTC");
    assert_eq!(v["Gauges"][0]["Name"], "nomad.nomad.broker.total_ready");
    assert_eq!(v["Gauges"][0]["Value"], 2.0);
    assert_eq!(v["Gauges"][0]["Labels"], serde_json::json!({}));
    let c = &v["Counters"][0];
    for field in [
        "Name", "Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels",
    ] {
        assert!(!c[field].is_null(), "counter field {field} missing: {c}");
    }
    assert_eq!(c["Count"], 1);
    assert_eq!(v["Samples"][0]["Labels"]["route"], "/v1/jobs");
    assert_eq!(v["Samples"][0]["Mean"], 4.0);
}

#[test]
fn prometheus_text_names_types_and_escapes() {
    let r = Registry::new();
    r.gauge("nomad.nomad.job_status.running", &[]).set(1.0);
    r.counter("nomad.raft.apply", &[]).add(3.0);
    let s = r.summary(
        "nomad.http.request",
        &[("method", "GET"), ("route", "/v1/job/{id}\"x\\")],
    );
    s.observe(2.0);
    s.observe(4.0);
    let text = r.snapshot().to_prometheus();
    let expected = [
        "# TYPE nomad_nomad_job_status_running gauge",
        "nomad_nomad_job_status_running 1",
        "# TYPE nomad_raft_apply counter",
        "nomad_raft_apply 3",
        "# TYPE nomad_http_request summary",
        r#"nomad_http_request{quantile="0.5",method="GET",route="/v1/job/{id}\"x\\"} 2"#,
        r#"nomad_http_request{quantile="0.99",method="GET",route="/v1/job/{id}\"x\\"} 4"#,
        r#"nomad_http_request_sum{method="GET",route="/v1/job/{id}\"x\\"} 6"#,
        r#"nomad_http_request_count{method="GET",route="/v1/job/{id}\"x\\"} 2"#,
    ];
    for line in expected {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // One HELP/TYPE pair per family, even with several label sets.
    assert_eq!(text.matches("# TYPE nomad_http_request ").count(), 1);
}

#[test]
fn prometheus_names_replace_what_the_format_does_not_allow() {
    assert_eq!(
        prometheus_name("nomad.raft.commitTime"),
        "nomad_raft_commitTime"
    );
    assert_eq!(
        prometheus_name("nomad.client.allocs.raw-exec"),
        "nomad_client_allocs_raw_exec"
    );
    assert_eq!(prometheus_name("9lives"), "_9lives");
}

#[test]
fn an_empty_window_renders_nan_quantiles() {
    let mut snap = Snapshot::default();
    snap.samples.push(Stats {
        name: "nomad.s".into(),
        labels: Vec::new(),
        stats: AggregateStats {
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            mean: 0.0,
            stddev: 0.0,
        },
        rate: 0.0,
        quantiles: vec![(0.5, f64::NAN)],
    });
    assert!(
        snap.to_prometheus()
            .contains("nomad_s{quantile=\"0.5\"} NaN")
    );
}
