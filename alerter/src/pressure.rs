//! Backpressure: while `mutt:alert_queue` is over the shed threshold, alerters
//! defer taking events, never drop them.
//!
//! v2.5 read the depth before every batch; with many alerters taking small batches that
//! is two `LLEN`s per take, paid by Redis for every worker. Here one task per alerter
//! samples the alert queue and the DLQ every [`SAMPLE_INTERVAL`], every push of alerts
//! reports the depth Redis answered it with, and every loop reads the latest of the two
//! before it takes. A loop already waiting in `BLMOVE` may take one more batch.

use crate::metrics::AlerterMetrics;
use shared::dynamic_config::{DynamicConfig, DynamicSetting};
use shared::queue::total_length;
use shared::redis::RedisConn;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(250);
/// A backlog is worth one warning a minute, not one per sample.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The thresholds, static defaults overridable through dynamic config.
#[derive(Clone, Debug)]
pub struct Thresholds {
    pub warn: u64,
    pub shed: u64,
    pub defer_sleep: Duration,
}

/// The last sampled depth of the alert queue; cloning shares it.
#[derive(Clone)]
pub struct Pressure {
    alert_queue_depth: Arc<AtomicU64>,
    dynamic: DynamicConfig,
    thresholds: Thresholds,
}

impl Pressure {
    pub fn new(dynamic: DynamicConfig, thresholds: Thresholds) -> Self {
        Self {
            alert_queue_depth: Arc::default(),
            dynamic,
            thresholds,
        }
    }

    /// The alert queue's depth as a push of alerts just found it.
    pub fn observe(&self, alert_queue_depth: u64) {
        self.alert_queue_depth
            .store(alert_queue_depth, Ordering::Relaxed);
    }

    /// How long to wait before taking more, when the alert queue is over the shed
    /// threshold.
    pub fn defer(&self) -> Option<Duration> {
        let shed = self.dynamic.get(
            DynamicSetting::AlerterQueueShedThreshold,
            self.thresholds.shed,
        );
        (self.alert_queue_depth.load(Ordering::Relaxed) > shed).then(|| {
            let ms = self.dynamic.get(
                DynamicSetting::AlerterDeferSleepMs,
                self.thresholds.defer_sleep.as_millis() as u64,
            );
            Duration::from_millis(ms.max(1))
        })
    }

    /// Samples the alert queue (the sum of its shards, `alert_queues`) and `dlq` until
    /// `stop`, mirroring them into the gauges.
    pub async fn run(
        self,
        mut redis: RedisConn,
        alert_queues: Vec<String>,
        dlq: String,
        metrics: AlerterMetrics,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut last_warning, mut last_error): (Option<Instant>, Option<Instant>) = (None, None);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let sampled = async {
                let alerts = total_length(&mut redis, &alert_queues).await?;
                let dead: u64 = redis::cmd("LLEN").arg(&dlq).query_async(&mut redis).await?;
                redis::RedisResult::Ok((alerts, dead))
            }
            .await;
            let (alerts, dead) = match sampled {
                Ok(depths) => depths,
                Err(error) => {
                    if last_error.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        last_error = Some(Instant::now());
                        tracing::warn!(error = %error, "cannot read queue depths");
                    }
                    continue;
                }
            };
            self.alert_queue_depth.store(alerts, Ordering::Relaxed);
            metrics.queue_depth.set(alerts as i64);
            metrics.dlq_depth.set(dead as i64);
            let warn_at = self.dynamic.get(
                DynamicSetting::AlerterQueueWarnThreshold,
                self.thresholds.warn,
            );
            if alerts > warn_at && last_warning.is_none_or(|t| t.elapsed() >= WARNING_INTERVAL) {
                last_warning = Some(Instant::now());
                tracing::warn!(queue = %alert_queues[0], depth = alerts, threshold = warn_at, "alert queue is backing up");
            }
        }
    }
}
