//! Many workers on one queue (issue #14), as production runs them: two alerters and two
//! forwarders share the work, each event is audited once and each alert delivered; a
//! crashed alerter and forwarder are replaced under new pod names and the periodic janitor
//! (not the owner's own restart) returns their processing lists; and the Redis commands
//! per event, counted by a private Redis' `INFO commandstats`, stay within the budget.

mod support;

use shared::redis::keys::WorkerRole;
use shared::testing::{PrivateRedis, eventually};
use std::time::{Duration, Instant};
use support::load::*;
use support::*;

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
    let cost = commands_per_event(&sandbox, || private.command_calls()).await;
    assert!(
        cost.per_event <= COMMANDS_PER_EVENT_BUDGET,
        "{:.2} Redis commands per event, budget {COMMANDS_PER_EVENT_BUDGET}: {cost:?}",
        cost.per_event
    );
    sandbox.stop().await;
}
