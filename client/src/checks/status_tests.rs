use super::*;

fn check(before_passing: i64, before_warning: i64, before_critical: i64) -> ServiceCheck {
    ServiceCheck {
        success_before_passing: before_passing,
        failures_before_warning: before_warning,
        failures_before_critical: before_critical,
        ..ServiceCheck::default()
    }
}

#[test]
fn without_thresholds_the_last_result_is_the_status() {
    let mut s = CheckState::new(&check(0, 0, 0));
    assert_eq!(s.status, Status::Critical, "checks start critical");
    s.record(Status::Passing, "HTTP 200".into(), 5);
    assert_eq!((s.status, s.timestamp), (Status::Passing, 5));
    s.record(Status::Warning, "HTTP 429".into(), 6);
    assert_eq!(s.status, Status::Warning);
    s.record(Status::Critical, "HTTP 404".into(), 7);
    assert_eq!(s.status, Status::Critical);
    assert_eq!(s.output, "HTTP 404");
}

#[test]
fn thresholds_need_consecutive_results() {
    let mut s = CheckState::new(&ServiceCheck {
        initial_status: "passing".into(),
        ..check(2, 1, 3)
    });
    assert_eq!(s.status, Status::Passing);
    s.record(Status::Critical, String::new(), 1);
    assert_eq!(s.status, Status::Warning, "one failure: warning");
    s.record(Status::Critical, String::new(), 2);
    assert_eq!(s.status, Status::Warning);
    s.record(Status::Critical, String::new(), 3);
    assert_eq!(s.status, Status::Critical, "three failures: critical");
    s.record(Status::Passing, String::new(), 4);
    assert_eq!(s.status, Status::Critical, "one success is not enough");
    s.record(Status::Passing, String::new(), 5);
    assert_eq!(s.status, Status::Passing);
}

#[test]
fn restart_after_limit_unhealthy_results_past_grace() {
    let policy = CheckRestart {
        limit: 2,
        grace: 10,
        ignore_warnings: true,
    };
    assert!(RestartWatch::new(None, 0).is_none());
    assert!(RestartWatch::new(Some(&CheckRestart::default()), 0).is_none());
    let mut w = RestartWatch::new(Some(&policy), 100).expect("on");
    assert!(!w.observe(Status::Critical, 105), "in grace");
    assert!(!w.observe(Status::Critical, 109), "in grace");
    assert!(!w.observe(Status::Critical, 110));
    assert!(
        !w.observe(Status::Warning, 111),
        "warnings ignored reset the count"
    );
    assert!(!w.observe(Status::Critical, 112));
    assert!(
        w.observe(Status::Critical, 113),
        "second consecutive failure"
    );
    assert!(
        !w.observe(Status::Critical, 114),
        "grace again after the restart"
    );
}

#[test]
fn health_follows_on_update() {
    assert!(check_healthy("require_healthy", Status::Passing));
    assert!(!check_healthy("require_healthy", Status::Warning));
    assert!(check_healthy("ignore_warnings", Status::Warning));
    assert!(!check_healthy("ignore_warnings", Status::Critical));
    assert!(check_healthy("ignore", Status::Critical));
}
