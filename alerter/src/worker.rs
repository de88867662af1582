//! One batch at a time: take → decode → decide → audit → alerts → ack.
//!
//! Order is what makes a crash harmless: the audit insert (idempotent on `event_id`)
//! commits before the alerts are pushed, and both happen before the ack. A crash anywhere
//! leaves the batch in this worker's processing list; the janitor (or this worker's
//! restart) returns it, and re-processing writes no second audit row and pushes the alerts
//! again at worst (the webhook de-duplicates on `external_id`).
//!
//! Failures: PostgreSQL or Redis unavailable → the same batch is retried with backoff and
//! nothing new is taken. Rows PostgreSQL refuses are isolated one by one; only their
//! events are requeued (`_retry_count` + 1) or, past `ALERTER_MAX_RETRIES`, dead-lettered.
//! An item that is not an event is dead-lettered at once. Nothing is dropped.

use crate::cache::{RoutingCache, Snapshot};
use crate::decide::{self, Action, Plan};
use crate::hits::RuleHits;
use crate::metrics::AlerterMetrics;
use crate::pressure::Pressure;
use crate::sample::Sample;
use crate::unhandled;
use chrono::Utc;
use shared::dynamic_config::{DynamicConfig, DynamicSetting};
use shared::event::Alert;
use shared::process::retry::{Backoff, pause, until_ok};
use shared::queue::{Failure, InFlight, Item, ReliableQueue, push_batch};
use shared::redis::RedisConn;
use shared::redis::activity::Activity;
use shared::redis::keys::RedisKeys;
use shared::store::Pool;
use shared::store::audit::{AuditError, AuditRow, insert_batch};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Between attempts while Redis or PostgreSQL is away.
const BACKOFF: Backoff = Backoff::doubling(Duration::from_millis(100), Duration::from_secs(30));

/// The dynamic settings the alerter reads.
pub const DYNAMIC_SETTINGS: &[DynamicSetting] = &[
    DynamicSetting::CacheReloadInterval,
    DynamicSetting::UnhandledThreshold,
    DynamicSetting::UnhandledExpirySeconds,
    DynamicSetting::AlerterQueueWarnThreshold,
    DynamicSetting::AlerterQueueShedThreshold,
    DynamicSetting::AlerterDeferSleepMs,
];

#[derive(Clone)]
pub struct Settings {
    pub batch_size: usize,
    pub pop_timeout: Duration,
    pub max_retries: u32,
    pub audit_unhandled: bool,
    pub default_team: String,
    pub unhandled_threshold: u64,
    pub unhandled_expiry_secs: u64,
}

pub struct Worker {
    pub queue: ReliableQueue,
    /// What the loops of this alerter hold of their shared processing list.
    pub in_flight: InFlight,
    pub keys: RedisKeys,
    pub redis: RedisConn,
    pub blocking: RedisConn,
    pub pool: Pool,
    pub cache: Arc<RoutingCache>,
    pub dynamic: DynamicConfig,
    pub settings: Settings,
    pub metrics: AlerterMetrics,
    pub pressure: Pressure,
    pub hits: RuleHits,
    pub sample: Sample,
    /// Held by the loop that is taking; shared by the loops of this alerter.
    pub take_turn: Arc<tokio::sync::Mutex<()>>,
}

impl Worker {
    /// Takes and processes batches until `shutdown`. A batch that has been taken is
    /// finished unless its dependencies stay down through the shutdown, in which case it
    /// stays in the processing list for recovery.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            if let Some(defer) = self.pressure.defer() {
                self.metrics.shed_events.with_label_values(&["defer"]).inc();
                if !pause(defer, &shutdown).await {
                    return;
                }
                continue;
            }
            // BLMOVE keeps what it takes in our processing list until we ack, so stopping
            // here, before a batch is taken, loses nothing.
            // One loop of this alerter waits in BLMOVE at a time (the others process): Redis
            // hands one item of a push to each waiting client, so more waiters would split
            // every push into batches of one, each paying a whole take's round trips.
            let taken = tokio::select! {
                _ = shutdown.cancelled() => return,
                taken = async {
                    let _turn = self.take_turn.lock().await;
                    self.queue.take_batch(&mut self.blocking, self.settings.batch_size, self.settings.pop_timeout).await
                } => taken,
            };
            match taken {
                Ok(items) if items.is_empty() => {}
                Ok(items) => {
                    self.in_flight.hold(&items);
                    self.process(&items, &shutdown).await;
                    // Done with the batch: each item is acked, requeued or dead-lettered,
                    // or (on shutdown) left for `Presence::leave` to return.
                    self.in_flight.release(items.iter().map(|i| i.as_slice()));
                }
                Err(error) => {
                    tracing::warn!(error = %error, queue = %self.queue.source(), "cannot take from the queue, retrying");
                    if !pause(Duration::from_secs(1), &shutdown).await {
                        return;
                    }
                }
            }
        }
    }

    /// One batch, step by step; each step returns `None` when shutdown came while Redis or
    /// PostgreSQL was away, and the batch then stays in the processing list for recovery.
    async fn process(&self, items: &[Item], shutdown: &CancellationToken) {
        let started = Instant::now();
        self.metrics.processing_list_depth.set(items.len() as i64);
        self.metrics.batch_events.observe(items.len() as f64);
        let snapshot = self.cache.current();
        // Items dead-lettered or requeued on their own: not acknowledged with the batch.
        let mut settled = vec![false; items.len()];
        let Some(plans) = self.decode(items, &snapshot, &mut settled, shutdown).await else {
            return;
        };
        let Some(refused) = self.audit(&plans, shutdown).await else {
            return;
        };
        if self
            .settle_refused(items, &plans, &refused, &mut settled, shutdown)
            .await
            .is_none()
        {
            return;
        }
        let written: Vec<&Plan> = plans
            .iter()
            .enumerate()
            .filter(|(i, _)| !refused.iter().any(|(r, _)| r == i))
            .map(|(_, p)| p)
            .collect();
        let Some(meta_alerts) = self.count_unhandled(&written, &snapshot, shutdown).await else {
            return;
        };
        let alerts: Vec<String> = written
            .iter()
            .filter_map(|p| match &p.action {
                Action::Handled {
                    alert: Some(alert), ..
                } => Some(alert.as_ref()),
                _ => None,
            })
            .chain(meta_alerts.iter())
            .map(|a| serde_json::to_string(a).expect("alerts serialize"))
            .collect();
        if self
            .push_and_ack(items, &settled, &alerts, shutdown)
            .await
            .is_none()
        {
            return;
        }
        self.hits.record(
            written.iter().filter_map(|p| p.action.rule_id()),
            Utc::now(),
        );
        self.sample.record(written.iter().map(|p| &items[p.item]));
        let count = |wanted: fn(&Action) -> bool| {
            written.iter().filter(|p| wanted(&p.action)).count() as u64
        };
        let processed = &self.metrics.events_processed;
        processed
            .with_label_values(&["handled"])
            .inc_by(count(|a| matches!(a, Action::Handled { .. })));
        processed
            .with_label_values(&["silenced"])
            .inc_by(count(|a| matches!(a, Action::Silenced { .. })));
        processed
            .with_label_values(&["unhandled"])
            .inc_by(count(|a| matches!(a, Action::Unhandled)));
        self.metrics.alerts_forwarded.inc_by(alerts.len() as u64);
        self.metrics
            .unhandled_meta_alerts
            .inc_by(meta_alerts.len() as u64);
        self.metrics.processing_list_depth.set(0);
        self.metrics
            .processing_latency
            .observe(started.elapsed().as_secs_f64());
    }

    /// Decodes and decides every item; what is not an event is dead-lettered at once.
    async fn decode(
        &self,
        items: &[Item],
        snapshot: &Snapshot,
        settled: &mut [bool],
        shutdown: &CancellationToken,
    ) -> Option<Vec<Plan>> {
        let mut plans = Vec::with_capacity(items.len());
        let now = Utc::now();
        for (index, item) in items.iter().enumerate() {
            match decide::plan(index, item, snapshot, self.settings.max_retries, now) {
                Ok(plan) => plans.push(plan),
                Err(failure) => {
                    self.count("poison");
                    self.dead_letter(item, &failure, shutdown).await?;
                    settled[index] = true;
                }
            }
        }
        Some(plans)
    }

    /// The events whose audit rows PostgreSQL refused: requeued with `_retry_count` + 1,
    /// or dead-lettered past `ALERTER_MAX_RETRIES`.
    async fn settle_refused(
        &self,
        items: &[Item],
        plans: &[Plan],
        refused: &[(usize, String)],
        settled: &mut [bool],
        shutdown: &CancellationToken,
    ) -> Option<()> {
        for (p, reason) in refused {
            let plan = &plans[*p];
            let item = &items[plan.item];
            let attempts = plan.event.retry_count + 1;
            if attempts > self.settings.max_retries {
                self.count("poison");
                let reason = format!("postgresql refused the audit row: {reason}");
                self.dead_letter(item, &Failure::new(reason, attempts), shutdown)
                    .await?;
            } else {
                self.count("error");
                until_ok("requeueing", BACKOFF, shutdown, || {
                    let mut redis = self.redis.clone();
                    async move { self.queue.requeue(&mut redis, item, "_retry_count").await }
                })
                .await?;
            }
            settled[plan.item] = true;
        }
        Some(())
    }

    /// Pushes the alerts in one `LPUSH`, then acknowledges what was not settled on its own.
    async fn push_and_ack(
        &self,
        items: &[Item],
        settled: &[bool],
        alerts: &[String],
        shutdown: &CancellationToken,
    ) -> Option<()> {
        let alert_queue = &self.keys.alert_queue;
        let depth = until_ok("pushing alerts", BACKOFF, shutdown, || {
            let mut redis = self.redis.clone();
            async move { push_batch(&mut redis, alert_queue, alerts).await }
        })
        .await?;
        if let Some(depth) = depth {
            // The push tells the alert queue's depth: backpressure sees it before the next take.
            self.pressure.observe(depth);
        }
        let to_ack: &Vec<&Item> = &items
            .iter()
            .zip(settled)
            .filter(|(_, settled)| !**settled)
            .map(|(item, _)| item)
            .collect();
        until_ok("acknowledging", BACKOFF, shutdown, || {
            let mut redis = self.redis.clone();
            async move { self.queue.ack(&mut redis, to_ack).await }
        })
        .await
    }

    async fn dead_letter(
        &self,
        item: &Item,
        failure: &Failure,
        shutdown: &CancellationToken,
    ) -> Option<()> {
        until_ok("dead-lettering", BACKOFF, shutdown, || {
            let mut redis = self.redis.clone();
            async move { self.queue.dead_letter(&mut redis, item, failure).await }
        })
        .await
    }

    fn count(&self, outcome: &str) {
        self.metrics
            .events_processed
            .with_label_values(&[outcome])
            .inc();
    }

    /// Writes the audit rows; returns the indices (into `plans`) of rows PostgreSQL
    /// refused with its reason, or `None` if shutdown came while PostgreSQL was down.
    async fn audit(
        &self,
        plans: &[Plan],
        shutdown: &CancellationToken,
    ) -> Option<Vec<(usize, String)>> {
        let rows: Vec<(usize, AuditRow)> = plans
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.audit_row(self.settings.audit_unhandled).map(|r| (i, r)))
            .collect();
        let batch: Vec<AuditRow> = rows.iter().map(|(_, r)| r.clone()).collect();
        match self.insert(&batch, shutdown).await? {
            Ok(()) => {
                self.metrics
                    .activity
                    .add(Activity::Audited, batch.len() as u64);
                Some(Vec::new())
            }
            Err(refusal) => {
                tracing::warn!(error = %refusal, rows = rows.len(), "postgresql refused the batch, isolating the rows it refuses");
                let mut refused = Vec::new();
                for (plan, row) in rows {
                    if let Err(reason) = self.insert(std::slice::from_ref(&row), shutdown).await? {
                        refused.push((plan, reason));
                    }
                }
                Some(refused)
            }
        }
    }

    /// One insert, retried while PostgreSQL is unavailable. Outer `None`: shutdown;
    /// inner `Err`: PostgreSQL refused the rows.
    async fn insert(
        &self,
        rows: &[AuditRow],
        shutdown: &CancellationToken,
    ) -> Option<Result<(), String>> {
        until_ok("audit write", BACKOFF, shutdown, || async {
            let started = Instant::now();
            match insert_batch(&self.pool, rows).await {
                Ok(_) => {
                    self.metrics
                        .db_write_latency_ms
                        .observe(started.elapsed().as_secs_f64() * 1000.0);
                    Ok(Ok(()))
                }
                Err(AuditError::Refused(reason)) => Ok(Err(reason)),
                Err(AuditError::Transient(reason)) => Err(reason),
            }
        })
        .await
    }

    /// Counts the unhandled events and returns the meta-alerts they trigger.
    async fn count_unhandled(
        &self,
        written: &[&Plan],
        snapshot: &Snapshot,
        shutdown: &CancellationToken,
    ) -> Option<Vec<Alert>> {
        let unhandled: Vec<&&Plan> = written
            .iter()
            .filter(|p| matches!(p.action, Action::Unhandled))
            .collect();
        if unhandled.is_empty() {
            return Some(Vec::new());
        }
        let threshold = self
            .dynamic
            .get(
                DynamicSetting::UnhandledThreshold,
                self.settings.unhandled_threshold,
            )
            .max(1);
        let expiry = self
            .dynamic
            .get(
                DynamicSetting::UnhandledExpirySeconds,
                self.settings.unhandled_expiry_secs,
            )
            .max(1);
        let keys: Vec<String> = unhandled
            .iter()
            .map(|p| decide::unhandled_key(&self.keys, &p.event.hostname, &p.event.message))
            .collect();
        let keys = &keys;
        let triggered = until_ok("counting unhandled events", BACKOFF, shutdown, || {
            let mut redis = self.redis.clone();
            async move { unhandled::count(&mut redis, keys, threshold, expiry).await }
        })
        .await?;
        Some(
            unhandled
                .iter()
                .zip(triggered)
                .filter(|(_, fired)| *fired)
                .map(|(p, _)| {
                    let team = snapshot
                        .teams
                        .get(&p.event.hostname)
                        .unwrap_or(&self.settings.default_team);
                    decide::meta_alert(&p.event, p.event_id, team, threshold, expiry, &p.raw)
                })
                .collect(),
        )
    }
}
