//! The shared ingest limiter against a real Redis.

use shared::rate_limit::{Admission, SlidingWindowLimiter};
use shared::testing::TestRedis;
use std::time::Duration;

#[tokio::test]
async fn at_most_limit_admissions_per_window_are_shared_by_all_callers() {
    let redis = TestRedis::new().await;
    let key = redis.keys.ingest_rate_limit.clone();
    let a = SlidingWindowLimiter::new(&key, 5, Duration::from_secs(60));
    let b = SlidingWindowLimiter::new(&key, 5, Duration::from_secs(60));
    let (mut c1, mut c2) = (redis.conn().await, redis.conn().await);
    let mut admitted = 0;
    for i in 0..8 {
        let (limiter, conn) = if i % 2 == 0 {
            (&a, &mut c1)
        } else {
            (&b, &mut c2)
        };
        match limiter.admit(conn).await.expect("redis") {
            Admission::Admitted => admitted += 1,
            Admission::Limited(wait) => assert!(
                wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
                "{wait:?}"
            ),
        }
    }
    assert_eq!(admitted, 5, "two ingestors share one limit");
}

#[tokio::test]
async fn the_window_slides() {
    let redis = TestRedis::new().await;
    let limiter =
        SlidingWindowLimiter::new(&redis.keys.ingest_rate_limit, 2, Duration::from_millis(300));
    let mut conn = redis.conn().await;
    assert_eq!(
        limiter.admit(&mut conn).await.expect("redis"),
        Admission::Admitted
    );
    assert_eq!(
        limiter.admit(&mut conn).await.expect("redis"),
        Admission::Admitted
    );
    assert!(matches!(
        limiter.admit(&mut conn).await.expect("redis"),
        Admission::Limited(_)
    ));
    tokio::time::sleep(Duration::from_millis(350)).await; // the window itself is the subject here
    assert_eq!(
        limiter.admit(&mut conn).await.expect("redis"),
        Admission::Admitted
    );
}
