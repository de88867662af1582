//! Three forwarders sharing one rate limit send at that rate, together, and lose nothing.

mod support;

use shared::testing::{TestRedis, eventually};
use std::collections::HashSet;
use std::time::Duration;
use support::*;

#[tokio::test]
async fn three_forwarders_sharing_20_per_second_send_200_in_10_seconds_and_the_rest_later() {
    let (redis, moog) = (TestRedis::new().await, Moog::start().await);
    let alerts: Vec<_> = (0..260).map(alert).collect();
    push(&redis, &alerts).await;
    let limited = [("MOOG_RATE_LIMIT", "20"), ("MOOG_RATE_PERIOD", "1")];
    let mut forwarders = Vec::new();
    for pod in ["f1", "f2", "f3"] {
        forwarders.push(start(config(&redis, &moog, pod, &limited)).await);
    }
    let started = tokio::time::Instant::now();
    eventually(WAIT, "the first delivery", || async {
        (!moog.delivered().is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep_until(started + Duration::from_secs(10)).await;
    let in_ten_seconds = moog.delivered().len();
    assert!(
        (190..=210).contains(&in_ten_seconds),
        "delivered {in_ten_seconds} in 10 s, expected 200 ± 10"
    );
    eventually(
        Duration::from_secs(20),
        "the rest, delivered later",
        || async {
            let delivered: HashSet<String> = moog.delivered().into_iter().collect();
            ids(&alerts)
                .iter()
                .all(|id| delivered.contains(id))
                .then_some(())
        },
    )
    .await;
    assert!(
        dlq(&redis).await.is_empty(),
        "a limited alert waits; it is never dropped"
    );
    for f in forwarders {
        f.stop().await;
    }
}
