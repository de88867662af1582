//! The shared circuit breaker's transitions, against a real Redis under a test prefix:
//! opening at the threshold, waiting out the timeout, one half-open trial across
//! forwarders, and closing or reopening on the trial's outcome.

use moog_forwarder::breaker::{BreakerState, CircuitBreaker, Transition};
use shared::testing::TestRedis;
use std::time::Duration;

fn transition(from: BreakerState, to: BreakerState) -> Option<Transition> {
    Some(Transition { from, to })
}

#[tokio::test]
async fn opens_at_the_threshold_and_closes_after_a_successful_trial() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let timeout = Duration::from_millis(300);
    let breaker = CircuitBreaker::new(&redis.keys, 3, timeout, Duration::from_secs(5));
    // Another forwarder: the same keys, its own handle.
    let other = CircuitBreaker::new(&redis.keys, 3, timeout, Duration::from_secs(5));

    let closed = breaker.allow(&mut conn).await.expect("allow");
    assert!(closed.allowed && closed.state == BreakerState::Closed);
    assert_eq!(breaker.record_success(&mut conn).await.expect("note"), None);

    for _ in 0..2 {
        assert_eq!(breaker.record_failure(&mut conn).await.expect("note"), None);
    }
    assert_eq!(
        other.record_failure(&mut conn).await.expect("note"),
        transition(BreakerState::Closed, BreakerState::Open),
        "the third consecutive failure, from any forwarder, opens it"
    );
    assert_eq!(
        breaker.snapshot(&mut conn).await.expect("snapshot"),
        (BreakerState::Open, 3)
    );
    let open = other.allow(&mut conn).await.expect("allow");
    assert!(!open.allowed && open.state == BreakerState::Open);

    tokio::time::sleep(timeout + Duration::from_millis(100)).await;
    let trial = breaker.allow(&mut conn).await.expect("allow");
    assert!(trial.allowed, "the timeout passed: one trial");
    assert_eq!(trial.state, BreakerState::HalfOpen);
    assert_eq!(
        trial.transition,
        transition(BreakerState::Open, BreakerState::HalfOpen)
    );
    let second = other.allow(&mut conn).await.expect("allow");
    assert!(
        !second.allowed && second.state == BreakerState::HalfOpen,
        "only one trial at a time, across forwarders"
    );

    assert_eq!(
        breaker.record_success(&mut conn).await.expect("note"),
        transition(BreakerState::HalfOpen, BreakerState::Closed)
    );
    assert_eq!(
        breaker.snapshot(&mut conn).await.expect("snapshot"),
        (BreakerState::Closed, 0)
    );
    assert!(other.allow(&mut conn).await.expect("allow").allowed);
}

#[tokio::test]
async fn a_failed_trial_reopens_it_and_a_success_resets_the_count() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let timeout = Duration::from_millis(200);
    let breaker = CircuitBreaker::new(&redis.keys, 2, timeout, Duration::from_secs(5));

    // Failures must be consecutive: a success in between starts the count again.
    breaker.record_failure(&mut conn).await.expect("note");
    breaker.record_success(&mut conn).await.expect("note");
    assert_eq!(breaker.record_failure(&mut conn).await.expect("note"), None);
    assert_eq!(
        breaker.record_failure(&mut conn).await.expect("note"),
        transition(BreakerState::Closed, BreakerState::Open)
    );

    tokio::time::sleep(timeout + Duration::from_millis(100)).await;
    assert!(breaker.allow(&mut conn).await.expect("allow").allowed);
    assert_eq!(
        breaker.record_failure(&mut conn).await.expect("note"),
        transition(BreakerState::HalfOpen, BreakerState::Open),
        "one failed trial is enough"
    );
    let reopened = breaker.allow(&mut conn).await.expect("allow");
    assert!(!reopened.allowed && reopened.state == BreakerState::Open);
}

#[tokio::test]
async fn a_trial_whose_forwarder_died_is_taken_over_after_its_lease() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let lease = Duration::from_millis(300);
    let breaker = CircuitBreaker::new(&redis.keys, 1, Duration::from_millis(100), lease);
    breaker.record_failure(&mut conn).await.expect("note");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(breaker.allow(&mut conn).await.expect("allow").allowed);
    // Its forwarder dies without telling: nobody may try until the lease runs out.
    assert!(!breaker.allow(&mut conn).await.expect("allow").allowed);
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    assert!(breaker.allow(&mut conn).await.expect("allow").allowed);
}
