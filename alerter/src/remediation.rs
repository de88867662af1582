//! Periodic replay of `mutt:dlq:alerter` (v2.5's remediation service, now a task of the
//! alerter): when PostgreSQL and Redis both answer, the oldest dead-lettered events go back
//! to the ingest queue, a batch at a time. Events replayed more than `MAX_POISON_RETRIES`
//! times are retired to `mutt:dlq:dead`. Unlike v2.5 it never posts test events to Moog.

use crate::metrics::AlerterMetrics;
use shared::config::RemediationConfig;
use shared::queue::dead_letter::{Dlq, DlqName};
use shared::redis::RedisConn;
use shared::redis::keys::RedisKeys;
use shared::store::Pool;
use tokio_util::sync::CancellationToken;

pub async fn run(
    config: RemediationConfig,
    mut redis: RedisConn,
    pool: Pool,
    keys: RedisKeys,
    metrics: AlerterMetrics,
    shutdown: CancellationToken,
) {
    if !config.enabled {
        return;
    }
    let mut tick = tokio::time::interval(config.interval);
    tick.tick().await; // the first tick is immediate; wait one interval first
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        metrics.remediation_loops.inc();
        let healthy = async {
            redis::cmd("PING")
                .query_async::<()>(&mut redis.clone())
                .await
                .ok()?;
            pool.get().await.ok()?.simple_query("SELECT 1").await.ok()
        };
        if healthy.await.is_none() {
            tracing::debug!("dependencies unhealthy, not replaying the alerter DLQ now");
            continue;
        }
        let dlq = Dlq::new(&keys);
        match dlq
            .replay(
                &mut redis,
                DlqName::Alerter,
                Some(config.batch_size as u64),
                config.max_poison_retries,
            )
            .await
        {
            Ok(report) => {
                metrics.remediation_replayed.inc_by(report.replayed);
                metrics.remediation_poison.inc_by(report.dead);
                if report.replayed + report.dead > 0 {
                    tracing::info!(
                        replayed = report.replayed,
                        retired = report.dead,
                        "replayed the alerter DLQ"
                    );
                }
            }
            Err(error) => tracing::warn!(error = %error, "alerter DLQ replay failed, will retry"),
        }
    }
}
