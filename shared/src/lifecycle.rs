//! The data lifecycle in one place (issue #9): audit partitions ahead, retention of the
//! audit tables (by whole months, see [`crate::store::retention`]) and of the DLQs (by
//! `failed_at`).
//!
//! [`run_once`] is what `webui retention` runs (a CronJob, or an operator by hand) and what
//! [`run_periodically`] runs in-process (the alerter does, every `RETENTION_INTERVAL`). Any
//! number of instances may call it: one run at a time holds a PostgreSQL advisory lock, and
//! the others skip. Partitions ahead are always kept; the rest runs only when
//! `RETENTION_ENFORCEMENT_ENABLED` (v2.5's switch), and changes nothing with
//! `RETENTION_DRY_RUN`.

use crate::config::RetentionConfig;
use crate::process::metrics::register;
use crate::queue::dead_letter::{Dlq, DlqName, ExpiryReport};
use crate::redis::keys::RedisKeys;
use crate::store::retention::{AuditRetention, AuditRetentionReport};
use crate::store::{self, Pool};
use chrono::{DateTime, Utc};
use prometheus::{Gauge, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};
use redis::aio::ConnectionLike;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// The advisory lock that serialises retention runs across every instance; per schema,
/// since advisory locks are database-wide and one database may hold several MUTTs.
const LOCK: &str = "hashtext('mutt_retention:' || current_schema())";

/// What one run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LifecycleReport {
    pub now: Option<DateTime<Utc>>,
    pub dry_run: bool,
    /// Another instance held the lock: this run did nothing.
    pub skipped_locked: bool,
    /// Partitions created (in a dry run: missing ones that would be).
    pub partitions_created: Vec<String>,
    /// `None` when `RETENTION_ENFORCEMENT_ENABLED=false`.
    pub audit: Option<AuditRetentionReport>,
    pub dlq: BTreeMap<&'static str, ExpiryReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("partition upkeep failed: {0}")]
    Partitions(String),
    #[error("audit retention failed: {0}")]
    Audit(String),
    #[error("DLQ retention failed: {0}")]
    Dlq(String),
}

impl LifecycleError {
    /// The `task` label of `mutt_retention_errors_total`.
    fn task(&self) -> &'static str {
        match self {
            Self::Partitions(_) => "partitions",
            Self::Audit(_) => "enforce_all",
            Self::Dlq(_) => "dlq",
        }
    }
}

/// v2.5's retention metrics, from both of its scripts.
#[derive(Clone)]
pub struct RetentionMetrics {
    pub events_archived: IntCounter,
    /// Audit rows removed for good: dropped months, DEFAULT rows when not archiving, and
    /// archive rows past `EVENT_ARCHIVE_RETENTION_YEARS`.
    pub events_deleted: IntCounter,
    pub config_audits_deleted: IntCounter,
    pub errors: IntCounterVec,
    pub last_run: Gauge,
    pub duration: Gauge,
    /// `type` = config_audit, event_audit, dlq.
    pub records_deleted: IntCounterVec,
    pub policy_days: IntGaugeVec,
    pub partitions_created: IntCounter,
}

impl RetentionMetrics {
    pub fn new(registry: &Registry) -> Self {
        let counter = |name: &str, help: &str| {
            register(
                registry,
                &IntCounter::new(name, help).expect("valid metric"),
            )
        };
        Self {
            events_archived: counter(
                "mutt_retention_events_archived_total",
                "Audit rows moved into event_audit_log_archive",
            ),
            events_deleted: counter(
                "mutt_retention_events_deleted_total",
                "Audit rows removed for good (dropped months, expired archive rows)",
            ),
            config_audits_deleted: counter(
                "mutt_retention_config_audits_deleted_total",
                "config_audit_log rows past CONFIG_AUDIT_RETENTION_DAYS deleted",
            ),
            errors: {
                let errors = register(
                    registry,
                    &IntCounterVec::new(
                        Opts::new("mutt_retention_errors_total", "Failed retention tasks"),
                        &["task"],
                    )
                    .expect("valid metric"),
                );
                // Exported at 0 from the start, so that alert rules see the first failure
                // as an increase.
                for task in ["partitions", "enforce_all", "dlq"] {
                    errors.with_label_values(&[task]);
                }
                errors
            },
            last_run: register(
                registry,
                &Gauge::new(
                    "mutt_retention_last_run_timestamp",
                    "Unix time of the last completed retention run",
                )
                .expect("valid metric"),
            ),
            duration: register(
                registry,
                &Gauge::new(
                    "mutt_retention_enforcement_duration_seconds",
                    "Seconds the last retention run took",
                )
                .expect("valid metric"),
            ),
            records_deleted: register(
                registry,
                &IntCounterVec::new(
                    Opts::new(
                        "mutt_retention_cleanup_records_deleted_total",
                        "Records removed by retention, by type",
                    ),
                    &["type"],
                )
                .expect("valid metric"),
            ),
            policy_days: register(
                registry,
                &IntGaugeVec::new(
                    Opts::new("mutt_retention_policy_days", "Configured retention in days"),
                    &["type"],
                )
                .expect("valid metric"),
            ),
            partitions_created: counter(
                "mutt_retention_partitions_created_total",
                "Monthly audit partitions created ahead",
            ),
        }
    }

    fn record(&self, config: &RetentionConfig, report: &LifecycleReport, seconds: f64) {
        for (kind, days) in [
            ("event_audit", config.event_retention_days),
            ("event_archive", config.archive_retention_years * 365),
            ("config_audit", config.config_audit_retention_days),
            ("dlq", config.dlq_retention_days),
        ] {
            self.policy_days
                .with_label_values(&[kind])
                .set(i64::from(days));
        }
        if report.skipped_locked || report.dry_run {
            return;
        }
        self.partitions_created
            .inc_by(report.partitions_created.len() as u64);
        if let Some(audit) = &report.audit {
            self.events_archived.inc_by(audit.archived);
            self.events_deleted
                .inc_by(audit.deleted + audit.archive_rows_deleted);
            self.config_audits_deleted
                .inc_by(audit.config_audits_deleted);
            self.records_deleted
                .with_label_values(&["event_audit"])
                .inc_by(audit.archived + audit.deleted);
            self.records_deleted
                .with_label_values(&["config_audit"])
                .inc_by(audit.config_audits_deleted);
        }
        let dlq: u64 = report.dlq.values().map(|r| r.expired).sum();
        self.records_deleted.with_label_values(&["dlq"]).inc_by(dlq);
        self.last_run.set(Utc::now().timestamp() as f64);
        self.duration.set(seconds);
    }
}

/// Holds the advisory lock on one connection; all the database work runs on it. If the
/// run is abandoned half-way (shutdown), the connection is closed rather than returned
/// to the pool, which releases the lock.
struct Locked {
    conn: Option<deadpool_postgres::Object>,
}

impl Locked {
    async fn try_acquire(pool: &Pool) -> Result<Option<Self>, String> {
        let conn = pool.get().await.map_err(|e| e.to_string())?;
        let got: bool = conn
            .query_one(&format!("SELECT pg_try_advisory_lock({LOCK})"), &[])
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        Ok(got.then_some(Self { conn: Some(conn) }))
    }

    fn client(&self) -> &tokio_postgres::Client {
        self.conn.as_ref().expect("present until release")
    }

    async fn release(mut self) {
        let conn = self.conn.take().expect("present until release");
        if conn
            .execute(&format!("SELECT pg_advisory_unlock({LOCK})"), &[])
            .await
            .is_err()
        {
            drop(deadpool_postgres::Object::take(conn));
        }
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(deadpool_postgres::Object::take(conn));
        }
    }
}

/// Runs partition upkeep, then (when enabled) audit and DLQ retention, as of `now`.
pub async fn run_once<C: ConnectionLike + Send>(
    pool: &Pool,
    redis: &mut C,
    keys: &RedisKeys,
    config: &RetentionConfig,
    now: DateTime<Utc>,
) -> Result<LifecycleReport, LifecycleError> {
    let mut report = LifecycleReport {
        now: Some(now),
        dry_run: config.dry_run,
        ..Default::default()
    };
    let Some(locked) = Locked::try_acquire(pool)
        .await
        .map_err(LifecycleError::Partitions)?
    else {
        report.skipped_locked = true;
        return Ok(report);
    };
    report.partitions_created = if config.dry_run {
        store::missing_partitions(locked.client(), now, config.precreate_months).await
    } else {
        store::ensure_partitions_with(locked.client(), now, config.precreate_months).await
    }
    .map_err(|e| LifecycleError::Partitions(store::describe(&e)))?;

    if config.enforcement_enabled {
        let policy = AuditRetention {
            event_days: config.event_retention_days,
            archive_years: config.archive_retention_years,
            config_audit_days: config.config_audit_retention_days,
            archive: config.archive_enabled,
            batch_size: config.batch_size,
            dry_run: config.dry_run,
        };
        let audit = store::retention::enforce(locked.client(), &policy, now)
            .await
            .map_err(|e| LifecycleError::Audit(store::describe(&e)))?;
        report.audit = Some(audit);
        let dlq_cutoff = now - chrono::Duration::days(i64::from(config.dlq_retention_days));
        let dlq = Dlq::new(keys);
        for name in DlqName::ALL {
            let expiry = dlq
                .expire(redis, name, dlq_cutoff, config.dry_run)
                .await
                .map_err(|e| LifecycleError::Dlq(e.to_string()))?;
            report.dlq.insert(name.as_str(), expiry);
        }
    }
    locked.release().await;
    Ok(report)
}

/// [`run_once`] every `config.interval` (the first run at once) until `shutdown`,
/// counting what it did in `metrics`.
pub async fn run_periodically<C: ConnectionLike + Send + Clone>(
    pool: Pool,
    redis: C,
    keys: RedisKeys,
    config: RetentionConfig,
    metrics: RetentionMetrics,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let started = Instant::now();
        let mut conn = redis.clone();
        let run = run_once(&pool, &mut conn, &keys, &config, Utc::now());
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            result = run => result,
        };
        match result {
            Ok(report) => {
                metrics.record(&config, &report, started.elapsed().as_secs_f64());
                tracing::debug!(report = ?report, "retention run finished");
            }
            Err(error) => {
                metrics.errors.with_label_values(&[error.task()]).inc();
                tracing::warn!(error = %error, "retention run failed, will retry next interval");
            }
        }
    }
}
