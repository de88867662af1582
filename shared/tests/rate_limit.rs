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

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v25_and_mutt_rs_forwarders_share_one_limit_on_v25s_sliding_log() {
    use shared::rate_limit::{MoogLimiter, MoogLimiterKind, Tokens};
    let redis = TestRedis::new().await;
    let key = redis.keys.moog_rate_limit.clone();
    let (limit, period) = (20u64, Duration::from_millis(500));
    let run_for = Duration::from_millis(2_500);

    // A v2.5 forwarder, one alert at a time.
    let v25 = {
        let (mut conn, key) = (redis.conn().await, key.clone());
        tokio::spawn(async move {
            let mut admitted = Vec::new();
            let started = std::time::Instant::now();
            while started.elapsed() < run_for {
                let now = now_ms();
                let ok: i64 = redis::cmd("EVAL")
                    .arg(shared::testing::v25::V25_FORWARDER_LIMITER)
                    .arg(1)
                    .arg(&key)
                    .arg(limit)
                    .arg(period.as_millis() as u64)
                    .arg(now)
                    .query_async(&mut conn)
                    .await
                    .expect("v2.5's script never meets a WRONGTYPE");
                if ok == 1 {
                    admitted.push(now);
                } else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            admitted
        })
    };
    // A mutt-rs forwarder in compatibility mode, batches of up to 8.
    let ours = {
        let (mut conn, key) = (redis.conn().await, key.clone());
        tokio::spawn(async move {
            let limiter = MoogLimiter::new(MoogLimiterKind::V25SlidingLog, &key);
            let mut admitted = Vec::new();
            let started = std::time::Instant::now();
            while started.elapsed() < run_for {
                match limiter
                    .acquire_up_to(&mut conn, limit, period, 8)
                    .await
                    .expect("no WRONGTYPE either")
                {
                    Tokens::Granted(n) => {
                        admitted.extend(std::iter::repeat_n(now_ms(), n as usize))
                    }
                    Tokens::Wait(wait) => {
                        tokio::time::sleep(wait.min(Duration::from_millis(20))).await
                    }
                }
            }
            admitted
        })
    };
    let (v25, ours) = (v25.await.expect("v2.5 side"), ours.await.expect("our side"));
    assert!(
        !v25.is_empty() && !ours.is_empty(),
        "both got through: {} and {}",
        v25.len(),
        ours.len()
    );
    let all: Vec<i64> = v25.iter().chain(ours.iter()).map(|t| *t as i64).collect();
    // In any window of `period`, at most `limit` admissions between the two (a few ms of
    // slack: the v2.5 side stamps with this process's clock, ours with Redis').
    let window = period.as_millis() as i64 - 10;
    let worst = shared::testing::v25::most_in_any_window(&all, window);
    assert!(
        worst as u64 <= limit,
        "{worst} admissions within {window} ms, limit {limit}"
    );
    // And the limit was reached: about limit per period over the run, shared.
    let expected = limit as f64 * run_for.as_secs_f64() / period.as_secs_f64();
    assert!(
        all.len() as f64 >= expected * 0.8,
        "{} admissions, about {expected} expected",
        all.len()
    );
}

#[tokio::test]
async fn each_limiter_takes_over_what_the_other_left_at_the_key() {
    use shared::rate_limit::{MoogLimiter, MoogLimiterKind, Tokens};
    let redis = TestRedis::new().await;
    let key = redis.keys.moog_rate_limit.clone();
    let mut conn = redis.conn().await;
    // v2.5's sorted set left behind, then the token bucket (after the switch-over).
    let _: () = redis::cmd("ZADD")
        .arg(&key)
        .arg(1)
        .arg("1:0.5")
        .query_async(&mut conn)
        .await
        .expect("ZADD");
    let bucket = MoogLimiter::new(MoogLimiterKind::TokenBucket, &key);
    // A new bucket starts empty: it answers Wait, and no WRONGTYPE.
    let first = bucket
        .acquire_up_to(&mut conn, 10, Duration::from_secs(1), 1)
        .await
        .expect("the token bucket replaces the sorted set");
    assert!(matches!(first, Tokens::Wait(_)), "{first:?}");
    let kind: String = redis::cmd("TYPE")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("TYPE");
    assert_eq!(kind, "hash");
    // And the other way round (a rollback to compatibility mode).
    let log = MoogLimiter::new(MoogLimiterKind::V25SlidingLog, &key);
    let granted = log
        .acquire_up_to(&mut conn, 10, Duration::from_secs(1), 3)
        .await
        .expect("the sliding log replaces the hash");
    assert_eq!(granted, Tokens::Granted(3));
    let kind: String = redis::cmd("TYPE")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("TYPE");
    assert_eq!(kind, "zset");
}
