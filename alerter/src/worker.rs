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
use crate::decide::{self, Decision};
use crate::hits::RuleHits;
use crate::metrics::AlerterMetrics;
use crate::pressure::Pressure;
use crate::unhandled;
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use serde_json::Value;
use shared::dynamic_config::{DynamicConfig, DynamicSetting};
use shared::event::{Alert, Event, EventId};
use shared::queue::{Failure, InFlight, Item, ReliableQueue, push_batch};
use shared::redis::keys::RedisKeys;
use shared::store::Pool;
use shared::store::audit::{AuditError, AuditRow, insert_batch};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Ids for events queued by a v2.5 ingestor (no `_event_id`): derived from the item's
/// bytes, so that re-processing the same item gives the same id.
const LEGACY_EVENT_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6d75_7474_2d72_732d_6576_656e_7400_0001);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

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
    pub redis: ConnectionManager,
    pub blocking: ConnectionManager,
    pub pool: Pool,
    pub cache: Arc<RoutingCache>,
    pub dynamic: DynamicConfig,
    pub settings: Settings,
    pub metrics: AlerterMetrics,
    pub pressure: Pressure,
    pub hits: RuleHits,
    /// Held by the loop that is taking; shared by the loops of this alerter.
    pub take_turn: Arc<tokio::sync::Mutex<()>>,
}

/// An event that decoded, with what to do about it.
struct Plan {
    item: usize,
    event: Event,
    raw: Value,
    event_id: EventId,
    time: DateTime<Utc>,
    action: Action,
}

enum Action {
    Handled {
        rule_id: i32,
        handling: String,
        alert: Option<Box<Alert>>,
    },
    Unhandled,
}

/// Retries an operation with exponential backoff until it succeeds; `None` when shutdown
/// came first. A macro rather than a function taking an async closure: the operation's
/// future borrows locals, and spelling that as a closure makes the task's `Send` unprovable.
macro_rules! until_ok {
    ($what:expr, $shutdown:expr, $op:expr) => {{
        let mut delay = Duration::from_millis(100);
        loop {
            match $op.await {
                Ok(value) => break Some(value),
                Err(error) => {
                    tracing::warn!(error = %error, retry_in_ms = delay.as_millis() as u64, "{} failed, retrying", $what);
                    tokio::select! {
                        _ = $shutdown.cancelled() => break None,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(MAX_BACKOFF);
                }
            }
        }
    }};
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
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(defer) => continue,
                }
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
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    async fn process(&mut self, items: &[Item], shutdown: &CancellationToken) {
        let started = Instant::now();
        self.metrics.processing_list_depth.set(items.len() as i64);
        self.metrics.batch_events.observe(items.len() as f64);
        let snapshot = self.cache.current();
        let mut plans = Vec::with_capacity(items.len());
        let mut settled = vec![false; items.len()];
        for (index, item) in items.iter().enumerate() {
            match self.plan(index, item, &snapshot) {
                Ok(plan) => plans.push(plan),
                Err(failure) => {
                    self.metrics
                        .events_processed
                        .with_label_values(&["poison"])
                        .inc();
                    let mut redis = self.redis.clone();
                    if until_ok!(
                        "dead-lettering",
                        shutdown,
                        self.queue.dead_letter(&mut redis, item, &failure)
                    )
                    .is_none()
                    {
                        return;
                    }
                    settled[index] = true;
                }
            }
        }

        let Some(refused) = self.audit(&plans, shutdown).await else {
            return;
        };
        for (p, reason) in &refused {
            let plan = &plans[*p];
            let item = &items[plan.item];
            let (reason, attempts) = (
                format!("postgresql refused the audit row: {reason}"),
                plan.event.retry_count + 1,
            );
            let mut redis = self.redis.clone();
            let done = if attempts > self.settings.max_retries {
                self.metrics
                    .events_processed
                    .with_label_values(&["poison"])
                    .inc();
                let failure = Failure::new(reason, attempts);
                until_ok!(
                    "dead-lettering",
                    shutdown,
                    self.queue.dead_letter(&mut redis, item, &failure)
                )
            } else {
                self.metrics
                    .events_processed
                    .with_label_values(&["error"])
                    .inc();
                until_ok!(
                    "requeueing",
                    shutdown,
                    self.queue.requeue(&mut redis, item, "_retry_count")
                )
                .map(|_| ())
            };
            if done.is_none() {
                return;
            }
            settled[plan.item] = true;
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
        let alert_queue = self.keys.alert_queue.clone();
        let mut redis = self.redis.clone();
        let Some(depth) = until_ok!(
            "pushing alerts",
            shutdown,
            push_batch(&mut redis, &alert_queue, &alerts)
        ) else {
            return;
        };
        if let Some(depth) = depth {
            // The push tells the alert queue's depth: backpressure sees it before the next take.
            self.pressure.observe(depth);
        }

        let to_ack: Vec<&Item> = items
            .iter()
            .enumerate()
            .filter(|(i, _)| !settled[*i])
            .map(|(_, item)| item)
            .collect();
        if until_ok!(
            "acknowledging",
            shutdown,
            self.queue.ack(&mut redis, &to_ack)
        )
        .is_none()
        {
            return;
        }
        self.hits.record(
            written.iter().filter_map(|p| match p.action {
                Action::Handled { rule_id, .. } => Some(rule_id),
                Action::Unhandled => None,
            }),
            Utc::now(),
        );
        let handled = written
            .iter()
            .filter(|p| matches!(p.action, Action::Handled { .. }))
            .count();
        self.metrics
            .events_processed
            .with_label_values(&["handled"])
            .inc_by(handled as u64);
        self.metrics
            .events_processed
            .with_label_values(&["unhandled"])
            .inc_by((written.len() - handled) as u64);
        self.metrics.alerts_forwarded.inc_by(alerts.len() as u64);
        self.metrics
            .unhandled_meta_alerts
            .inc_by(meta_alerts.len() as u64);
        self.metrics.processing_list_depth.set(0);
        self.metrics
            .processing_latency
            .observe(started.elapsed().as_secs_f64());
    }

    /// Decodes and decides one item; `Err` is why it must go to the DLQ now.
    fn plan(&self, index: usize, item: &[u8], snapshot: &Snapshot) -> Result<Plan, Failure> {
        let raw: Value = serde_json::from_slice(item)
            .map_err(|e| Failure::new(format!("invalid JSON: {e}"), 1))?;
        let event: Event = serde_json::from_value(raw.clone())
            .map_err(|e| Failure::new(format!("not an event: {e}"), 1))?;
        if event.retry_count > self.settings.max_retries {
            return Err(Failure::new(
                "exceeded ALERTER_MAX_RETRIES",
                event.retry_count,
            ));
        }
        let time = event
            .time()
            .ok_or_else(|| Failure::new("unreadable timestamp", event.retry_count + 1))?;
        let event_id = event
            .event_id
            .unwrap_or_else(|| EventId(uuid::Uuid::new_v5(&LEGACY_EVENT_NAMESPACE, item)));
        let action = match decide::decide(snapshot, &event) {
            Decision::Handled {
                rule,
                handling,
                forward,
                ..
            } => Action::Handled {
                rule_id: rule.id,
                handling: handling.to_owned(),
                alert: forward.then(|| Box::new(decide::alert_for(&event, event_id, rule, &raw))),
            },
            Decision::Unhandled => Action::Unhandled,
        };
        Ok(Plan {
            item: index,
            event,
            raw,
            event_id,
            time,
            action,
        })
    }

    fn row(&self, plan: &Plan, items_raw: &str) -> Option<AuditRow> {
        let (rule, handling, forwarded) = match &plan.action {
            Action::Handled {
                rule_id,
                handling,
                alert,
            } => (Some(*rule_id), handling.clone(), alert.is_some()),
            Action::Unhandled if self.settings.audit_unhandled => {
                (None, "unhandled".to_owned(), false)
            }
            Action::Unhandled => return None,
        };
        Some(AuditRow {
            event_id: plan.event_id.0,
            event_timestamp: plan.time,
            hostname: plan.event.hostname.clone(),
            matched_rule_id: rule,
            handling_decision: handling,
            forwarded_to_moog: forwarded,
            raw_message: items_raw.to_owned(),
        })
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
            .filter_map(|(i, p)| self.row(p, &p.raw.to_string()).map(|r| (i, r)))
            .collect();
        let batch: Vec<AuditRow> = rows.iter().map(|(_, r)| r.clone()).collect();
        match self.insert(&batch, shutdown).await? {
            Ok(()) => Some(Vec::new()),
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
        let mut delay = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            match insert_batch(&self.pool, rows).await {
                Ok(_) => {
                    self.metrics
                        .db_write_latency_ms
                        .observe(started.elapsed().as_secs_f64() * 1000.0);
                    return Some(Ok(()));
                }
                Err(AuditError::Refused(reason)) => return Some(Err(reason)),
                Err(AuditError::Transient(reason)) => {
                    tracing::warn!(error = %reason, retry_in_ms = delay.as_millis() as u64, "audit write failed, retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(MAX_BACKOFF);
                }
            }
        }
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
        let mut redis = self.redis.clone();
        let triggered = until_ok!(
            "counting unhandled events",
            shutdown,
            unhandled::count(&mut redis, &keys, threshold, expiry)
        )?;
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
