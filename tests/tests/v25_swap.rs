//! A rolling swap of a MUTT v2.5 site to mutt-rs under load (issue #20): one Redis with a
//! password, the v2.5 database migrated in place, a v2.5 fleet simulated from its
//! documented behaviour (`support::v25`), and mutt-rs services replacing the ingestor, then
//! the alerter, then the forwarder while events keep coming, and then the forwarder step
//! rolled back. Every acknowledged event must be audited once and delivered, the combined
//! deliveries must stay within the one Moog limit, and v2.5's limiter must never meet a
//! `WRONGTYPE`.

mod support;

use serde_json::Value;
use shared::testing::{PrivateRedis, TestDatabase, eventually};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::*;

const LIMIT: u64 = 8;
const PERIOD: Duration = Duration::from_secs(1);
const RATE: u64 = 20; // events/s offered, half of them forwarded: more than the limit

/// The i-th event: even ones page (LINK-DOWN on a production host), odd ones are audited
/// only (ERROR on a dev host: Ignore), under v2.5's sample rules.
fn event(run: &str, seq: u64) -> Value {
    if seq.is_multiple_of(2) {
        v25::event(
            run,
            seq,
            "router1.prod.example.com",
            "%LINK-3-UPDOWN: LINK-DOWN Gi0/1",
        )
    } else {
        v25::event(run, seq, "test-switch1", "ERROR parity")
    }
}

enum Via {
    V25Ingestor,
    Ingestor,
}

/// Sends events at `RATE` for `seconds`, numbered from `*next`.
async fn send(sandbox: &Sandbox, via: Via, run: &str, next: &mut u64, seconds: u64) {
    let mut redis = sandbox.redis.conn().await;
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE));
    for _ in 0..RATE * seconds {
        tick.tick().await;
        let one = event(run, *next);
        *next += 1;
        match via {
            Via::V25Ingestor => v25::ingest(&mut redis, &sandbox.redis.keys, &[one]).await,
            Via::Ingestor => {
                let mut body = one;
                body.as_object_mut()
                    .expect("object")
                    .retain(|k, _| !k.starts_with('_'));
                sandbox.ingest(&body).await;
            }
        }
    }
}

async fn v25_alerter(sandbox: &Sandbox, pod: &str) -> v25::Worker {
    v25::alerter(
        sandbox.redis.conn().await,
        sandbox.redis.blocking_conn(Duration::from_secs(3)).await,
        sandbox.redis.keys.clone(),
        sandbox.db.pool.clone(),
        pod,
    )
    .await
}

async fn v25_forwarder(sandbox: &Sandbox, pod: &str) -> v25::Worker {
    v25::forwarder(
        sandbox.redis.conn().await,
        sandbox.redis.blocking_conn(Duration::from_secs(3)).await,
        sandbox.redis.keys.clone(),
        sandbox.moog_url.clone(),
        pod,
        LIMIT,
        PERIOD,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v25_site_is_swapped_service_by_service_under_load_and_one_step_rolled_back() {
    let private = PrivateRedis::start_with(Some("v25-site-secret")).await;
    let redis = private.test_redis().await;
    let db = TestDatabase::v25().await;
    shared::store::migrate(&db.pool)
        .await
        .expect("the v2.5 database, migrated in place");
    let (limit, period) = (LIMIT.to_string(), format!("{}", PERIOD.as_secs_f64()));
    let mut sandbox = Sandbox::start_with(
        redis,
        db,
        false,
        Settings {
            forwarder: &[
                ("MOOG_RATE_LIMIT", &limit),
                ("MOOG_RATE_PERIOD", &period),
                ("MOOG_RATE_LIMITER", "v25_sliding_log"),
            ],
            ..Settings::default()
        },
    )
    .await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut next = 0;

    // v2.5 everywhere; its workers have written their first heartbeat (10 s) before any
    // mutt-rs worker of their role, whose janitor would otherwise take them for dead, starts.
    let old_alerter = v25_alerter(&sandbox, "alerter-4c1d9e").await;
    let old_forwarder = v25_forwarder(&sandbox, "moog-forwarder-8a2b7f").await;
    send(&sandbox, Via::V25Ingestor, &run, &mut next, 6).await;
    // 1. The ingestor: senders move to mutt-rs's.
    send(&sandbox, Via::Ingestor, &run, &mut next, 5).await;
    // 2. The alerter: mutt-rs's start, v2.5's stops.
    sandbox.start_alerter("swap-alerter-1").await;
    sandbox.start_alerter("swap-alerter-2").await;
    old_alerter.stop().await;
    send(&sandbox, Via::Ingestor, &run, &mut next, 4).await;
    // 3. The forwarder: mutt-rs's (on v2.5's limiter) start, v2.5's stops.
    sandbox.start_forwarder("swap-forwarder-1").await;
    sandbox.start_forwarder("swap-forwarder-2").await;
    old_forwarder.stop().await;
    send(&sandbox, Via::Ingestor, &run, &mut next, 4).await;
    // 4. Rolled back: a v2.5 forwarder again, mutt-rs's stop.
    let rolled_back = v25_forwarder(&sandbox, "moog-forwarder-5e6f01").await;
    sandbox.stop_one("swap-forwarder-1").await;
    sandbox.stop_one("swap-forwarder-2").await;
    send(&sandbox, Via::Ingestor, &run, &mut next, 3).await;
    let sent = next;

    // Every event audited exactly once, by whichever alerter took it.
    let per_seq: BTreeMap<i64, (i64, bool)> = eventually(
        Duration::from_secs(30),
        &format!("{sent} events audited"),
        || async {
            let conn = sandbox.db.pool.get().await.expect("connection");
            let rows = conn
                .query(
                    "SELECT (raw_message::jsonb->>'seq')::bigint, count(*), bool_or(forwarded_to_moog) \
                     FROM event_audit_log WHERE raw_message::jsonb->>'load_run' = $1 GROUP BY 1",
                    &[&run],
                )
                .await
                .expect("audit rows");
            let per_seq: BTreeMap<i64, (i64, bool)> = rows
                .iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2))))
                .collect();
            (per_seq.len() as u64 == sent).then_some(per_seq)
        },
    )
    .await;
    let twice: Vec<_> = per_seq.iter().filter(|(_, (n, _))| *n != 1).collect();
    assert!(twice.is_empty(), "audited more than once: {twice:?}");
    let forwarded: Vec<u64> = per_seq
        .iter()
        .filter(|(_, (_, f))| *f)
        .map(|(seq, _)| *seq as u64)
        .collect();
    assert_eq!(forwarded.len() as u64, sent / 2, "every LINK-DOWN paged");

    // Every forwarded event delivered (the queue drains at the limit).
    let started = Instant::now();
    let arrivals = eventually(
        Duration::from_secs(60),
        "every forwarded event delivered",
        || async {
            let arrivals = sandbox.moog.arrivals_of(&run);
            forwarded
                .iter()
                .all(|seq| {
                    arrivals
                        .iter()
                        .any(|(s, status, _)| s == seq && *status < 300)
                })
                .then_some(arrivals)
        },
    )
    .await;
    rolled_back.stop().await;
    println!(
        "{sent} events, {} forwarded, {} deliveries, drained {:.1}s after the last send",
        forwarded.len(),
        arrivals.len(),
        started.elapsed().as_secs_f64()
    );

    // Never more than the one limit in any window, v2.5's and mutt-rs's deliveries together.
    let times: Vec<i64> = arrivals.iter().map(|(_, _, at)| *at).collect();
    let window = PERIOD.as_millis() as i64 - 20; // arrival is a little after admission
    let worst = shared::testing::v25::most_in_any_window(&times, window);
    assert!(
        worst as u64 <= LIMIT,
        "{worst} deliveries within {window} ms; the limit is {LIMIT} per {PERIOD:?}"
    );
    sandbox.stop().await;
}
