//! The shared circuit breaker against a real Redis.

use moog_forwarder::breaker::{BreakerState, CircuitBreaker, Transition};
use shared::testing::{TestRedis, eventually};
use std::time::Duration;

fn breaker(redis: &TestRedis) -> CircuitBreaker {
    CircuitBreaker::new(
        &redis.keys,
        10,
        Duration::from_millis(300),
        Duration::from_secs(5),
    )
}

#[tokio::test]
async fn ten_consecutive_failures_open_it_and_a_success_in_between_resets_the_count() {
    let redis = TestRedis::new().await;
    let mut conn = redis.conn().await;
    let b = breaker(&redis);
    for _ in 0..9 {
        assert_eq!(b.record_failure(&mut conn).await.expect("redis"), None);
    }
    assert_eq!(
        b.record_success(&mut conn).await.expect("redis"),
        None,
        "closed stays closed"
    );
    for _ in 0..9 {
        assert_eq!(
            b.record_failure(&mut conn).await.expect("redis"),
            None,
            "the count restarted"
        );
    }
    assert_eq!(
        b.record_failure(&mut conn).await.expect("redis"),
        Some(Transition {
            from: BreakerState::Closed,
            to: BreakerState::Open
        })
    );
    let permission = b.allow(&mut conn).await.expect("redis");
    assert!(!permission.allowed);
    assert_eq!(permission.state, BreakerState::Open);
    let stored: String = redis::cmd("GET")
        .arg(redis.keys.circuit_breaker("moogsoft", "state"))
        .query_async(&mut conn)
        .await
        .expect("GET");
    assert_eq!(stored, "OPEN", "v2.5's key and value");
}

#[tokio::test]
async fn after_the_timeout_exactly_one_caller_across_forwarders_gets_the_trial() {
    let redis = TestRedis::new().await;
    let b = breaker(&redis);
    let mut conn = redis.conn().await;
    for _ in 0..10 {
        b.record_failure(&mut conn).await.expect("redis");
    }
    tokio::time::sleep(Duration::from_millis(350)).await; // the breaker's own timeout
    let mut attempts = Vec::new();
    for _ in 0..8 {
        let (b, mut conn) = (b.clone(), redis.conn().await);
        attempts.push(tokio::spawn(async move {
            b.allow(&mut conn).await.expect("redis")
        }));
    }
    let mut allowed = 0;
    let mut to_half_open = 0;
    for attempt in attempts {
        let p = attempt.await.expect("join");
        assert_eq!(p.state, BreakerState::HalfOpen);
        allowed += usize::from(p.allowed);
        to_half_open += usize::from(
            p.transition
                == Some(Transition {
                    from: BreakerState::Open,
                    to: BreakerState::HalfOpen,
                }),
        );
    }
    assert_eq!((allowed, to_half_open), (1, 1), "one trial, one transition");

    // The trial fails: open again, for another full timeout.
    assert_eq!(
        b.record_failure(&mut conn).await.expect("redis"),
        Some(Transition {
            from: BreakerState::HalfOpen,
            to: BreakerState::Open
        })
    );
    assert!(!b.allow(&mut conn).await.expect("redis").allowed);
    // The next trial succeeds: closed, and everyone may send.
    let trial = eventually(Duration::from_secs(2), "the next trial", || {
        let (b, mut conn) = (b.clone(), conn.clone());
        async move { b.allow(&mut conn).await.ok().filter(|p| p.allowed) }
    })
    .await;
    assert_eq!(trial.state, BreakerState::HalfOpen);
    assert_eq!(
        b.record_success(&mut conn).await.expect("redis"),
        Some(Transition {
            from: BreakerState::HalfOpen,
            to: BreakerState::Closed
        })
    );
    assert!(b.allow(&mut conn).await.expect("redis").allowed);
    assert_eq!(
        b.snapshot(&mut conn).await.expect("redis"),
        (BreakerState::Closed, 0)
    );
}
