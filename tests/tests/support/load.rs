//! Load for the many-worker tests: a NOC-like mix of events sent at a pace, and the checks
//! that every event was audited once and every forwarded one delivered.

use super::*;
use serde_json::Value;
use shared::redis::keys::WorkerRole;
use shared::testing::{TestRedis, eventually};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// The i-th event of a mix like a NOC's, under the v2.5 sample rules: one in five paged
/// and forwarded (LINK-DOWN on a production router), the rest matched but not forwarded
/// (dev hosts, whose handling is Ignore), and with `unhandled`, one in five matching no
/// rule.
pub fn mixed_event(run: &str, i: usize, unhandled: bool) -> Value {
    let (host, message) = match i % 5 {
        0 => (
            format!("core-r{}", i % 40),
            format!("%LINK-3-UPDOWN: LINK-DOWN on Gi0/{}", i % 48),
        ),
        1 | 2 => ("test-switch1".to_owned(), format!("ERROR parity {}", i % 9)),
        3 => (
            "dev-router1".to_owned(),
            format!("DOT1X-FIRMWARE-RUNNING {}", i % 5),
        ),
        _ if unhandled => (
            format!("edge-{}", i % 20),
            format!("interface flap counter {}", i % 7),
        ),
        _ => ("test-switch1".to_owned(), format!("ERROR ecc {}", i % 3)),
    };
    let mut event = event(&host, &message);
    event["load_run"] = run.into();
    event["seq"] = i.into();
    event
}

/// Sends the events numbered `seqs` in requests of `per_request`, one request every `every`.
pub async fn send_paced(
    sandbox: &Sandbox,
    run: &str,
    seqs: std::ops::Range<usize>,
    per_request: usize,
    every: Duration,
    unhandled: bool,
) {
    let mut tick = tokio::time::interval(every);
    for start in seqs.clone().step_by(per_request) {
        tick.tick().await;
        let batch: Vec<Value> = (start..(start + per_request).min(seqs.end))
            .map(|i| mixed_event(run, i, unhandled))
            .collect();
        let response = sandbox
            .client
            .post(format!("http://{}/ingest", sandbox.http))
            .header("X-API-KEY", INGEST_KEY)
            .json(&batch)
            .send()
            .await
            .expect("ingest");
        assert_eq!(response.status(), 200, "the batch is accepted");
    }
}

/// The run's audit rows: (seq, event_id, forwarded), and how many rows each seq has.
pub async fn audit_of(
    sandbox: &Sandbox,
    run: &str,
) -> (Vec<(i64, String, bool)>, BTreeMap<i64, i64>) {
    let conn = sandbox.db.pool.get().await.expect("connection");
    let rows: Vec<(i64, String, bool)> = conn
        .query(
            "SELECT (raw_message::jsonb->>'seq')::bigint, event_id::text, forwarded_to_moog \
             FROM event_audit_log WHERE raw_message::jsonb->>'load_run' = $1",
            &[&run],
        )
        .await
        .expect("audit rows")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut per_seq = BTreeMap::new();
    for (seq, _, _) in &rows {
        *per_seq.entry(*seq).or_insert(0) += 1;
    }
    (rows, per_seq)
}

/// Waits until every one of `count` events has an audit row and every forwarded one was
/// delivered; asserts each is audited exactly once. Returns the forwarded event ids.
pub async fn all_audited_once_and_delivered(
    sandbox: &Sandbox,
    run: &str,
    count: usize,
) -> HashSet<String> {
    let rows = eventually(
        Duration::from_secs(60),
        &format!("{count} events of run {run} audited"),
        || async {
            let (rows, per_seq) = audit_of(sandbox, run).await;
            (per_seq.len() == count).then_some(rows)
        },
    )
    .await;
    let (_, per_seq) = audit_of(sandbox, run).await;
    let twice: Vec<_> = per_seq.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "audited more than once: {twice:?}");
    let forwarded: HashSet<String> = rows
        .iter()
        .filter(|(_, _, f)| *f)
        .map(|(_, id, _)| id.clone())
        .collect();
    assert!(!forwarded.is_empty(), "the mix forwards some events");
    eventually(
        Duration::from_secs(60),
        &format!("{} forwarded events delivered", forwarded.len()),
        || async {
            let delivered: HashSet<String> = sandbox
                .delivered(|b| b["custom_info"]["load_run"] == run)
                .into_iter()
                .filter(|r| (200..300).contains(&r.answered))
                .filter_map(|r| r.body["external_id"].as_str().map(str::to_owned))
                .collect();
            forwarded.is_subset(&delivered).then_some(())
        },
    )
    .await;
    forwarded
}

/// Length of a Redis list.
pub async fn llen(redis: &TestRedis, key: &str) -> u64 {
    redis::cmd("LLEN")
        .arg(key)
        .query_async(&mut redis.conn().await)
        .await
        .expect("LLEN")
}

pub fn total(calls: &BTreeMap<String, u64>) -> u64 {
    calls.values().sum()
}

/// Waits until both queues are empty and no worker holds anything.
pub async fn drained(sandbox: &Sandbox) {
    let keys = sandbox.redis.keys.clone();
    eventually(Duration::from_secs(30), "the warm-up to drain", || async {
        let mut waiting = 0;
        for shard in keys.shards() {
            waiting += llen(&sandbox.redis, &shard.ingest_queue).await
                + llen(&sandbox.redis, &shard.alert_queue).await;
            for pod in ALERTERS {
                waiting += llen(
                    &sandbox.redis,
                    &shard.processing_list(WorkerRole::Alerter, pod),
                )
                .await;
            }
            for pod in FORWARDERS {
                waiting += llen(
                    &sandbox.redis,
                    &shard.processing_list(WorkerRole::Moog, pod),
                )
                .await;
            }
        }
        (waiting == 0).then_some(())
    })
    .await;
}

/// Sends the events numbered `seqs` as [`send_paced`] does, but as a careful sender does:
/// a request that is refused (503: not queued, or not known to be safe) is sent again
/// until it is acknowledged. Returns how many times a request was refused.
pub async fn send_until_acknowledged(
    sandbox: &Sandbox,
    run: &str,
    seqs: std::ops::Range<usize>,
    per_request: usize,
    every: Duration,
) -> usize {
    let refused = std::sync::atomic::AtomicUsize::new(0);
    let mut tick = tokio::time::interval(every);
    for start in seqs.clone().step_by(per_request) {
        tick.tick().await;
        let batch: Vec<Value> = (start..(start + per_request).min(seqs.end))
            .map(|i| mixed_event(run, i, false))
            .collect();
        eventually(
            Duration::from_secs(60),
            "the batch to be acknowledged",
            || async {
                let response = sandbox
                    .client
                    .post(format!("http://{}/ingest", sandbox.http))
                    .header("X-API-KEY", INGEST_KEY)
                    .json(&batch)
                    .send()
                    .await
                    .ok()?;
                match response.status().as_u16() {
                    200 => Some(()),
                    503 => {
                        refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        None
                    }
                    other => panic!("the ingestor answered {other}"),
                }
            },
        )
        .await;
    }
    refused.into_inner()
}

/// What a paced load cost Redis.
#[derive(Debug)]
pub struct CommandCost {
    /// Commands per event, timers (what the services cost while idle) left out.
    pub per_event: f64,
    /// Commands run during the load, most first.
    pub by_command: Vec<(String, u64)>,
}

/// The Redis commands per event of 2,000 events at 500 events/s, 10 per request, one in five
/// unhandled, amortised over ingest, alerters and forwarders, counted by `calls` (the
/// servers' `INFO commandstats`, which counts the commands scripts run too); the idle rate
/// of the services' timers, measured just before, is left out.
pub async fn commands_per_event<F, Fut>(sandbox: &Sandbox, calls: F) -> CommandCost
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = BTreeMap<String, u64>>,
{
    let run = uuid::Uuid::new_v4().simple().to_string();
    // Warm up: every script loaded, every connection made.
    send_paced(
        sandbox,
        &format!("{run}-warm"),
        0..50,
        10,
        Duration::from_millis(10),
        true,
    )
    .await;
    drained(sandbox).await;

    // What the services cost while idle (timers: heartbeats, janitors, samplers, …).
    let idle_window = Duration::from_secs(3);
    let before = calls().await;
    tokio::time::sleep(idle_window).await;
    let after = calls().await;
    let idle_per_sec = (total(&after) - total(&before)) as f64 / idle_window.as_secs_f64();

    // 2,000 events at 500 events/s, 10 per request, one in five unhandled.
    let count = 2_000;
    let before = calls().await;
    let started = Instant::now();
    send_paced(sandbox, &run, 0..count, 10, Duration::from_millis(20), true).await;
    let forwarded = eventually(
        Duration::from_secs(60),
        "the load to be processed",
        || async {
            let (rows, _) = audit_of(sandbox, &run).await;
            // Unhandled events are not audited: 4 of 5 are.
            if rows.len() < count * 4 / 5 {
                return None;
            }
            let forwarded = rows.iter().filter(|r| r.2).count();
            let delivered = sandbox
                .delivered(|b| b["custom_info"]["load_run"] == run.as_str())
                .len();
            (delivered >= forwarded).then_some(forwarded)
        },
    )
    .await;
    let after = calls().await;
    let elapsed = started.elapsed().as_secs_f64();
    let used = total(&after) - total(&before);
    let timers = idle_per_sec * elapsed;
    let per_event = (used as f64 - timers) / count as f64;
    let mut by_command: Vec<(String, u64)> = after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    by_command.sort_by_key(|c| std::cmp::Reverse(c.1));
    println!(
        "{count} events ({forwarded} forwarded) in {elapsed:.1}s: {used} Redis commands, \
         {timers:.0} of them timers ({idle_per_sec:.0}/s idle) = {per_event:.2} per event; \
         by command: {by_command:?}"
    );
    CommandCost {
        per_event,
        by_command,
    }
}
