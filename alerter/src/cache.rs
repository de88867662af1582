//! The alerter's routing data (compiled rules, dev hosts, teams, silences), swapped
//! atomically.
//!
//! Reloaded when the web UI announces a change on `mutt:config:reload` (Pub/Sub, so within
//! a second), every `cache_reload_interval` as a safety net, and on SIGHUP. A reload that
//! fails (database down, a rule that does not compile) keeps the previous snapshot and is
//! counted; the alerter never runs with half a rule set.

use crate::metrics::AlerterMetrics;
use futures_util::StreamExt;
use shared::process::retry::Backoff;
pub use shared::rules::routing::Snapshot;
use shared::store::{Pool, rules::load_routing};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub struct RoutingCache {
    current: RwLock<Arc<Snapshot>>,
    pool: Pool,
    metrics: AlerterMetrics,
    /// Wakes the reload loop (Pub/Sub notice, SIGHUP).
    pub reload_now: Notify,
}

impl RoutingCache {
    pub fn new(pool: Pool, metrics: AlerterMetrics) -> Self {
        Self {
            current: RwLock::new(Arc::new(Snapshot::empty())),
            pool,
            metrics,
            reload_now: Notify::new(),
        }
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Loads and compiles; on success swaps the new snapshot in.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let timer = self.metrics.cache_reload_latency.start_timer();
        let result = async {
            let data = load_routing(&self.pool).await?;
            anyhow::Ok(Snapshot::compile(data)?)
        }
        .await;
        timer.observe_duration();
        match result {
            Ok(snapshot) => {
                self.metrics.cache_rules.set(snapshot.rules.len() as i64);
                self.metrics
                    .cache_dev_hosts
                    .set(snapshot.dev_hosts.len() as i64);
                self.metrics.cache_teams.set(snapshot.teams.len() as i64);
                self.metrics
                    .cache_silences
                    .set(snapshot.silences.len() as i64);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
                Ok(())
            }
            Err(error) => {
                self.metrics.cache_reload_failures.inc();
                Err(error)
            }
        }
    }

    /// Reloads on every trigger until `shutdown`. `interval` is re-read each cycle.
    pub async fn run(
        self: Arc<Self>,
        interval: impl Fn() -> Duration,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.reload_now.notified() => {}
                _ = tokio::time::sleep(interval()) => {}
            }
            if let Err(error) = self.reload().await {
                tracing::warn!(error = %format!("{error:#}"), "rule reload failed, keeping the previous rules");
            }
        }
    }
}

/// Turns Pub/Sub notices on `channel` into reloads, resubscribing after any error.
pub async fn listen_for_changes(
    client: redis::Client,
    channel: String,
    cache: Arc<RoutingCache>,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::doubling(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            redis::RedisResult::Ok(pubsub)
        };
        let pubsub = tokio::select! {
            _ = shutdown.cancelled() => return,
            result = subscribed => result,
        };
        match pubsub {
            Ok(mut pubsub) => {
                backoff.reset();
                // A change may have happened while we were not subscribed.
                cache.reload_now.notify_one();
                let mut messages = pubsub.on_message();
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        message = messages.next() => match message {
                            Some(_) => cache.reload_now.notify_one(),
                            None => break,
                        },
                    }
                }
                tracing::warn!(channel = %channel, "rule-change subscription lost, resubscribing");
            }
            Err(error) => {
                tracing::warn!(channel = %channel, error = %error, "cannot subscribe to rule changes, will retry")
            }
        }
        if !backoff.wait(&shutdown).await {
            return;
        }
    }
}

/// SIGHUP reloads the rules, as in v2.5.
pub async fn reload_on_sighup(cache: Arc<RoutingCache>, shutdown: CancellationToken) {
    let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = hangup.recv() => cache.reload_now.notify_one(),
        }
    }
}
