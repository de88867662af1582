//! Many workers on one queue (issue #14), as production runs them: two alerters and two
//! forwarders share the work, each event is audited once and each alert delivered; a
//! crashed alerter and forwarder are replaced under new pod names and the periodic janitor
//! (not the owner's own restart) returns their processing lists; and the Redis commands
//! per event, counted by a private Redis' `INFO commandstats`, stay within the budget.

mod support;

use serde_json::Value;
use shared::redis::keys::WorkerRole;
use shared::testing::{PrivateRedis, TestRedis, eventually};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};
use support::*;

/// The i-th event of a mix like a NOC's, under the v2.5 sample rules: one in five paged
/// and forwarded (LINK-DOWN on a production router), the rest matched but not forwarded
/// (dev hosts, whose handling is Ignore), and with `unhandled`, one in five matching no
/// rule.
fn mixed_event(run: &str, i: usize, unhandled: bool) -> Value {
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
async fn send_paced(
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
async fn audit_of(sandbox: &Sandbox, run: &str) -> (Vec<(i64, String, bool)>, BTreeMap<i64, i64>) {
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
async fn all_audited_once_and_delivered(
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_alerters_and_two_forwarders_share_the_work_and_each_event_is_audited_once() {
    let sandbox = Sandbox::start().await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    send_paced(
        &sandbox,
        &run,
        0..1_000,
        10,
        Duration::from_millis(5),
        false,
    )
    .await;
    all_audited_once_and_delivered(&sandbox, &run, 1_000).await;

    let mut shares = Vec::new();
    for pod in ALERTERS {
        let url = sandbox.worker_metrics(pod).to_owned();
        let handled = sandbox
            .counter(
                &url,
                "mutt_alerter_events_processed_total",
                "status=\"handled\"",
            )
            .await;
        shares.push((pod, handled));
    }
    for pod in FORWARDERS {
        let url = sandbox.worker_metrics(pod).to_owned();
        let sent = sandbox
            .counter(
                &url,
                "mutt_moog_alerts_processed_total",
                "status=\"success\"",
            )
            .await;
        shares.push((pod, sent));
    }
    println!("shares: {shares:?}");
    for (pod, done) in &shares {
        assert!(*done > 0.0, "{pod} did a share of the work: {shares:?}");
    }
    let handled: f64 = shares[..2].iter().map(|(_, n)| n).sum();
    assert_eq!(
        handled, 1_000.0,
        "the alerters handled each event once: {shares:?}"
    );
    sandbox.stop().await;
}

/// Length of a Redis list.
async fn llen(redis: &TestRedis, key: &str) -> u64 {
    redis::cmd("LLEN")
        .arg(key)
        .query_async(&mut redis.conn().await)
        .await
        .expect("LLEN")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_workers_replaced_under_new_names_lose_nothing_the_janitor_returns_their_work() {
    let mut sandbox = Sandbox::start().await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let keys = sandbox.redis.keys.clone();
    let dead_alerter = keys.processing_list(WorkerRole::Alerter, ALERTERS[0]);
    let dead_forwarder = keys.processing_list(WorkerRole::Moog, FORWARDERS[0]);

    // Audit writes block behind a table lock and the webhook answers slowly, so that both
    // alerters hold batches and both forwarders hold alerts when the crashes come.
    let mut locker = sandbox.db.pool.get().await.expect("connection");
    let lock = locker.transaction().await.expect("begin");
    lock.batch_execute("LOCK TABLE event_audit_log IN EXCLUSIVE MODE")
        .await
        .expect("lock");
    send_paced(&sandbox, &run, 0..400, 10, Duration::from_millis(5), false).await;
    eventually(WAIT, "the first alerter to hold a batch", || async {
        (llen(&sandbox.redis, &dead_alerter).await > 0).then_some(())
    })
    .await;
    sandbox.crash(ALERTERS[0]).await;
    let held = llen(&sandbox.redis, &dead_alerter).await;
    assert!(held > 0, "the crashed alerter left items behind");
    sandbox.start_alerter("e2e-alerter-3").await;

    sandbox.moog.set_behaviour(mutt_tools::receiver::Behaviour {
        delay_ms: 300,
        ..Default::default()
    });
    lock.rollback().await.expect("unlock");
    eventually(WAIT, "the first forwarder to hold alerts", || async {
        (llen(&sandbox.redis, &dead_forwarder).await > 0).then_some(())
    })
    .await;
    sandbox.crash(FORWARDERS[0]).await;
    assert!(
        llen(&sandbox.redis, &dead_forwarder).await > 0,
        "the crashed forwarder left alerts behind"
    );
    sandbox.start_forwarder("e2e-forwarder-3").await;
    sandbox.answer(200);

    // More traffic while the replacements run; the dead workers' lists come back through
    // the janitor once their heartbeats expire.
    send_paced(
        &sandbox,
        &run,
        400..1_200,
        10,
        Duration::from_millis(5),
        false,
    )
    .await;
    let started = Instant::now();
    eventually(
        Duration::from_secs(30),
        "the janitor to empty the dead workers' lists",
        || async {
            (llen(&sandbox.redis, &dead_alerter).await == 0
                && llen(&sandbox.redis, &dead_forwarder).await == 0)
                .then_some(())
        },
    )
    .await;
    println!(
        "dead lists returned {:.1}s after the last send ({held} items held by the dead alerter)",
        started.elapsed().as_secs_f64()
    );
    // Every event sent before the crashes and after them.
    all_audited_once_and_delivered(&sandbox, &run, 1_200).await;
    sandbox.stop().await;
}

/// The Redis commands per event that issue #14 budgets: at most this many, amortised over
/// ingest, alerter and forwarder (heartbeats, janitor and other timers left out).
const COMMANDS_PER_EVENT_BUDGET: f64 = 10.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_commands_per_event_stay_within_budget_under_a_paced_load() {
    // A private Redis, so that INFO commandstats counts this pipeline's commands only.
    let private = PrivateRedis::start().await;
    let sandbox = Sandbox::start_on(private.test_redis().await).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    // Warm up: every script loaded, every connection made.
    send_paced(
        &sandbox,
        &format!("{run}-warm"),
        0..50,
        10,
        Duration::from_millis(10),
        true,
    )
    .await;
    drained(&sandbox).await;

    // What the services cost while idle (timers: heartbeats, janitors, samplers, …).
    let idle_window = Duration::from_secs(3);
    let before = private.command_calls().await;
    tokio::time::sleep(idle_window).await;
    let after = private.command_calls().await;
    let idle_per_sec = (total(&after) - total(&before)) as f64 / idle_window.as_secs_f64();

    // 2,000 events at 500 events/s, 10 per request, one in five unhandled.
    let count = 2_000;
    let before = private.command_calls().await;
    let started = Instant::now();
    send_paced(
        &sandbox,
        &run,
        0..count,
        10,
        Duration::from_millis(20),
        true,
    )
    .await;
    let forwarded = eventually(
        Duration::from_secs(60),
        "the load to be processed",
        || async {
            let (rows, _) = audit_of(&sandbox, &run).await;
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
    let after = private.command_calls().await;
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
    assert!(
        per_event <= COMMANDS_PER_EVENT_BUDGET,
        "{per_event:.2} Redis commands per event, budget {COMMANDS_PER_EVENT_BUDGET}: {by_command:?}"
    );
    sandbox.stop().await;
}

fn total(calls: &BTreeMap<String, u64>) -> u64 {
    calls.values().sum()
}

/// Waits until both queues are empty and no worker holds anything.
async fn drained(sandbox: &Sandbox) {
    let keys = sandbox.redis.keys.clone();
    eventually(Duration::from_secs(30), "the warm-up to drain", || async {
        let mut waiting = llen(&sandbox.redis, &keys.ingest_queue).await
            + llen(&sandbox.redis, &keys.alert_queue).await;
        for pod in ALERTERS {
            waiting += llen(
                &sandbox.redis,
                &keys.processing_list(WorkerRole::Alerter, pod),
            )
            .await;
        }
        for pod in FORWARDERS {
            waiting += llen(&sandbox.redis, &keys.processing_list(WorkerRole::Moog, pod)).await;
        }
        (waiting == 0).then_some(())
    })
    .await;
}
