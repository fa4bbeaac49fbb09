use super::*;

fn eval(id: &str, job: &str, priority: i64) -> Evaluation {
    Evaluation {
        id: id.into(),
        namespace: "default".into(),
        job_id: job.into(),
        priority,
        ..Evaluation::default()
    }
}

fn broker() -> BrokerCore {
    let mut b = BrokerCore::default();
    b.set_enabled(true);
    b
}

const LEASE: i64 = 60_000_000_000;

#[test]
fn disabled_broker_accepts_nothing() {
    let mut b = BrokerCore::default();
    assert!(!b.enqueue(eval("e1", "a", 50), 0));
    assert_eq!(b.stats(), BrokerStats::default());
}

#[test]
fn highest_priority_first_then_arrival_order() {
    let mut b = broker();
    b.enqueue(eval("low", "a", 10), 0);
    b.enqueue(eval("high", "b", 90), 0);
    b.enqueue(eval("mid1", "c", 50), 0);
    b.enqueue(eval("mid2", "d", 50), 0);
    let order: Vec<String> =
        std::iter::from_fn(|| b.dequeue(0, LEASE, "t".into()).map(|(e, _)| e.id)).collect();
    assert_eq!(order, ["high", "mid1", "mid2", "low"]);
}

#[test]
fn one_evaluation_per_job_in_flight() {
    let mut b = broker();
    assert!(b.enqueue(eval("e1", "a", 50), 0));
    assert!(
        !b.enqueue(eval("e2", "a", 50), 0),
        "second waits for the first"
    );
    let (e, tok) = b.dequeue(0, LEASE, "t1".into()).expect("e1");
    assert_eq!(e.id, "e1");
    assert!(b.dequeue(0, LEASE, "t2".into()).is_none());
    assert!(b.ack("e1", &tok, 0).expect("acked"), "e2 becomes ready");
    assert_eq!(
        b.dequeue(0, LEASE, "t3".into()).map(|(e, _)| e.id),
        Some("e2".into())
    );
}

#[test]
fn duplicate_ids_are_ignored() {
    let mut b = broker();
    assert!(b.enqueue(eval("e1", "a", 50), 0));
    assert!(!b.enqueue(eval("e1", "a", 50), 0));
    assert_eq!(b.stats().ready, 1);
}

#[test]
fn ack_checks_token_and_outstanding() {
    let mut b = broker();
    b.enqueue(eval("e1", "a", 50), 0);
    let (_, tok) = b.dequeue(0, LEASE, "tok".into()).expect("dequeued");
    assert_eq!(
        b.ack("e1", "wrong", 0),
        Err(BrokerError::TokenMismatch("e1".into()))
    );
    assert!(b.ack("e1", &tok, 0).is_ok());
    assert_eq!(
        b.ack("e1", &tok, 0),
        Err(BrokerError::NotOutstanding("e1".into()))
    );
}

#[test]
fn nack_requeues_with_delay_then_fails_after_delivery_limit() {
    let mut b = broker();
    b.enqueue(eval("e1", "a", 50), 0);
    b.enqueue(eval("e2", "a", 50), 0);
    let mut now = 0;
    for delivery in 1..=DELIVERY_LIMIT {
        let (e, tok) = b
            .dequeue(now, LEASE, format!("t{delivery}"))
            .expect("offered again");
        assert_eq!(e.id, "e1");
        let outcome = b.nack("e1", &tok, now).expect("nacked");
        if delivery < DELIVERY_LIMIT {
            assert_eq!(outcome, NackOutcome::Requeued);
            assert!(
                b.dequeue(now, LEASE, "early".into()).is_none(),
                "delayed, and e2 must not overtake"
            );
            now = b.next_due().expect("delayed");
            assert!(b.promote_due(now));
        } else {
            assert!(matches!(outcome, NackOutcome::Failed(ref e) if e.id == "e1"));
        }
    }
    assert_eq!(
        b.dequeue(now, LEASE, "t".into()).map(|(e, _)| e.id),
        Some("e2".into())
    );
}

#[test]
fn expired_leases_are_nacked() {
    let mut b = broker();
    b.enqueue(eval("e1", "a", 50), 0);
    b.dequeue(0, 100, "t".into()).expect("dequeued");
    assert!(b.expire_leases(99).is_empty());
    assert_eq!(b.expire_leases(100), vec![NackOutcome::Requeued]);
    assert_eq!(b.stats().delayed, 1);
}

#[test]
fn wait_until_delays_until_due() {
    let mut b = broker();
    let mut e = eval("later", "a", 50);
    e.wait_until = 500;
    assert!(!b.enqueue(e, 0));
    assert!(!b.promote_due(499));
    assert!(b.promote_due(500));
    assert!(b.dequeue(500, LEASE, "t".into()).is_some());
}

#[test]
fn blocked_evals_replace_per_job_and_unblock() {
    let mut b = broker();
    assert!(b.block(eval("b1", "a", 50)).is_none());
    assert_eq!(
        b.block(eval("b2", "a", 50)).map(|e| e.id),
        Some("b1".into())
    );
    b.block(eval("b3", "c", 50));
    assert_eq!(b.stats().blocked, 2);
    assert!(b.unblock_all(0));
    assert_eq!(b.stats().ready, 2);
}

#[test]
fn disabling_flushes_everything() {
    let mut b = broker();
    b.enqueue(eval("e1", "a", 50), 0);
    b.block(eval("b1", "c", 50));
    b.set_enabled(false);
    assert_eq!(b.stats(), BrokerStats::default());
}

#[test]
fn a_blocked_eval_scheduled_before_a_seen_capacity_change_is_offered_at_once() {
    // The evaluation ran on a snapshot at index 2 and saw no room; a node became ready at
    // index 3 (already passed to the broker) before the blocked evaluation was written.
    let shared = super::super::EvalBroker::new();
    shared.set_enabled(true);
    shared.unblock_all(3);
    let mut missed = eval("b1", "a", 50);
    missed.snapshot_index = 2;
    assert!(shared.block(missed).is_none());
    assert_eq!((shared.stats().blocked, shared.stats().ready), (0, 1));
    // One scheduled after the change waits for the next.
    let mut current = eval("b2", "c", 50);
    current.snapshot_index = 3;
    shared.block(current);
    assert_eq!((shared.stats().blocked, shared.stats().ready), (1, 1));
    shared.unblock_all(4);
    assert_eq!((shared.stats().blocked, shared.stats().ready), (0, 2));
}
