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

#[tokio::test]
async fn three_callers_sharing_a_bucket_get_the_rate_and_no_more() {
    use shared::rate_limit::TokenBucket;
    let redis = TestRedis::new().await;
    let key = redis.keys.moog_rate_limit.clone();
    let (limit, period, run_for) = (40u64, Duration::from_secs(1), Duration::from_secs(3));
    let deadline = tokio::time::Instant::now() + run_for;
    let mut callers = Vec::new();
    for _ in 0..3 {
        let (bucket, mut conn) = (TokenBucket::new(&key), redis.conn().await);
        callers.push(tokio::spawn(async move {
            let mut admitted = 0u64;
            while tokio::time::Instant::now() < deadline {
                match bucket
                    .acquire(&mut conn, limit, period)
                    .await
                    .expect("redis")
                {
                    Admission::Admitted => admitted += 1,
                    // A limited caller waits as long as the bucket says, never longer.
                    Admission::Limited(wait) => {
                        tokio::time::sleep(wait.min(deadline - tokio::time::Instant::now())).await
                    }
                }
            }
            admitted
        }));
    }
    let mut total = 0;
    for caller in callers {
        total += caller.await.expect("join");
    }
    // 40/s for 3 s = 120; a new bucket starts empty, so there is no initial burst.
    assert!(
        (114..=126).contains(&total),
        "admitted {total}, expected 120 ± 5 %"
    );
}

#[tokio::test]
async fn a_batch_takes_what_is_there_and_never_more_than_the_capacity() {
    use shared::rate_limit::{TokenBucket, Tokens};
    let redis = TestRedis::new().await;
    let (bucket, mut conn) = (
        TokenBucket::new(&redis.keys.moog_rate_limit),
        redis.conn().await,
    );
    let (limit, period) = (10u64, Duration::from_secs(1));
    // A new bucket is empty: the first token is a tenth of a second away.
    match bucket
        .acquire_up_to(&mut conn, limit, period, 100)
        .await
        .expect("redis")
    {
        Tokens::Wait(wait) => assert!(wait <= Duration::from_millis(100), "{wait:?}"),
        granted => panic!("a new bucket granted {granted:?}"),
    }
    // 1.2 s accrue 12 tokens, capped at the capacity of 10.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let first = bucket
        .acquire_up_to(&mut conn, limit, period, 100)
        .await
        .expect("redis");
    assert_eq!(first, Tokens::Granted(10));
    let second = bucket
        .acquire_up_to(&mut conn, limit, period, 3)
        .await
        .expect("redis");
    assert!(matches!(second, Tokens::Wait(_)), "{second:?}");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let third = bucket
        .acquire_up_to(&mut conn, limit, period, 2)
        .await
        .expect("redis");
    assert_eq!(third, Tokens::Granted(2), "3.5 tokens accrued, 2 asked for");
}
