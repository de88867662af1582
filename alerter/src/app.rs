//! The alerter's face: `build` connects to Redis and PostgreSQL, checks the schema, loads
//! the rules and binds the admin listener; `run_until` runs the worker with its heartbeat,
//! janitor and rule reloads, and on shutdown finishes the batch in hand.

use crate::cache::{self, RoutingCache};
use crate::hits::RuleHits;
use crate::metrics::AlerterMetrics;
use crate::pressure::{Pressure, Thresholds};
use crate::sample::Sample;
use crate::worker::{DYNAMIC_SETTINGS, Settings, Worker};
use anyhow::Context;
use prometheus::Registry;
use shared::config::AlerterConfig;
use shared::dynamic_config::{DynamicConfig, DynamicSetting};
use shared::lifecycle::RetentionMetrics;
use shared::process::admin::AdminServer;
use shared::process::upkeep::Upkeep;
use shared::queue::{Heartbeat, InFlight, Janitor, ReliableQueue};
use shared::redis::connection::RedisConnector;
use shared::redis::flush;
use shared::redis::keys::WorkerRole;
use shared::store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Alerter {
    config: AlerterConfig,
    /// `ALERTER_CONCURRENCY` loops (at least one per queue shard), each on one shard; the
    /// loops of a shard share its processing list: each item is acknowledged on its own, so
    /// they never step on each other's batches.
    workers: Vec<Worker>,
    connector: RedisConnector,
    upkeep: Upkeep,
    retention: RetentionMetrics,
}

impl Alerter {
    /// Connects, checks the schema, loads the rules and binds the admin listener on both
    /// v2.5 ports; starts no work.
    pub async fn build(config: AlerterConfig, registry: &Registry) -> anyhow::Result<Self> {
        let connector = RedisConnector::connect(&config.redis).await?;
        let redis = connector.shared().await?;
        let pool = store::connect(&config.db).await?;
        store::check_schema(&pool).await?;
        let metrics = AlerterMetrics::new(registry);
        let retention = RetentionMetrics::new(registry);
        let cache = Arc::new(RoutingCache::new(pool.clone(), metrics.clone()));
        cache.reload().await.context("loading the rules")?;
        let dynamic = DynamicConfig::new(config.dynamic_config.0);
        dynamic
            .refresh(&mut redis.clone(), &config.redis.keys, DYNAMIC_SETTINGS)
            .await
            .context("reading dynamic config")?;

        let keys = config.redis.keys.clone();
        let pod = config.identity.pod_name.clone();
        let ready = shared::process::admin::redis_and_db_ready(redis.clone(), Some(pool.clone()));
        let addrs = [
            SocketAddr::new(config.listen_host, config.metrics_port),
            SocketAddr::new(config.listen_host, config.health_port),
        ];
        let admin = AdminServer::bind(&addrs, "mutt-alerter", registry.clone(), ready)
            .context("binding the admin listener")?;
        let settings = Settings {
            batch_size: config.batch_size,
            pop_timeout: config.pop_timeout,
            max_retries: config.max_retries,
            audit_unhandled: config.audit_unhandled,
            default_team: config.unhandled_default_team.clone(),
            unhandled_threshold: config.unhandled_threshold,
            unhandled_expiry_secs: config.unhandled_expiry.as_secs(),
        };
        let pressure = Pressure::new(
            dynamic.clone(),
            Thresholds {
                warn: config.queue_warn_threshold,
                shed: config.queue_shed_threshold,
                defer_sleep: config.defer_sleep,
            },
        );
        let hits = RuleHits::default();
        let sample = Sample::new(config.backtest_sample_size);
        let shards = keys.shards();
        // Every shard gets a loop of its own, so that none waits for another's turn.
        let loops = config.concurrency.max(shards.len());
        let take_turns: Vec<Arc<tokio::sync::Mutex<()>>> =
            shards.iter().map(|_| Arc::default()).collect();
        let queues: Vec<ReliableQueue> = shards
            .iter()
            .map(|shard| {
                ReliableQueue::new(shard, WorkerRole::Alerter, &pod, "alerter")
                    .confirmed_by(config.replication)
            })
            .collect();
        let in_flight = InFlight::default();
        let mut workers = Vec::with_capacity(loops);
        for n in 0..loops {
            let shard = n % shards.len();
            workers.push(Worker {
                queue: queues[shard].clone(),
                in_flight: in_flight.clone(),
                keys: shards[shard].clone(),
                redis: redis.clone(),
                // Each loop blocks in BLMOVE on a connection of its own.
                blocking: connector.blocking(config.pop_timeout).await?,
                pool: pool.clone(),
                cache: cache.clone(),
                dynamic: dynamic.clone(),
                settings: settings.clone(),
                metrics: metrics.clone(),
                pressure: pressure.clone(),
                hits: hits.clone(),
                sample: sample.clone(),
                take_turn: Arc::clone(&take_turns[shard]),
            });
        }
        let upkeep = Upkeep {
            queues,
            in_flight,
            heartbeat: Heartbeat::new(
                &keys,
                WorkerRole::Alerter,
                &pod,
                config.heartbeat_interval,
                config.janitor_timeout,
            ),
            janitors: shards
                .iter()
                .map(|shard| Janitor::new(shard, WorkerRole::Alerter, &pod))
                .collect(),
            interval: config.heartbeat_interval,
            dynamic,
            settings: DYNAMIC_SETTINGS,
            admin,
            keys,
        };
        Ok(Self {
            config,
            workers,
            connector,
            upkeep,
            retention,
        })
    }

    /// The admin listener's addresses: metrics port, then health port.
    pub fn admin_addrs(&self) -> &[SocketAddr] {
        self.upkeep.admin.addrs()
    }

    pub fn pod_name(&self) -> &str {
        &self.config.identity.pod_name
    }

    /// Runs until `shutdown`; then finishes the batch in hand, returns anything left in the
    /// processing list to the queue and removes the heartbeat.
    /// With Sentinel, also stops when the sentinels name another Redis master, and then
    /// answers with an error so that the process exits and is restarted against it.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let connector = self.connector.clone();
        shared::redis::connection::run_following_master(&connector, shutdown, |stop| {
            self.serve(stop)
        })
        .await
    }

    /// The service itself, until `shutdown` (which a Sentinel failover cancels too).
    async fn serve(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            config,
            workers,
            connector,
            upkeep,
            retention,
        } = self;
        let worker = &workers[0];
        let redis = worker.redis.clone();
        let mut running = upkeep.start(redis.clone(), &shutdown).await?;
        tracing::info!(worker_id = %config.identity.pod_name, rules = worker.cache.current().rules.len(), "alerter running");

        let background = running.stop_token();
        let (dynamic, static_reload) = (worker.dynamic.clone(), config.cache_reload_interval);
        running.spawn(worker.cache.clone().run(
            move || {
                Duration::from_secs(
                    dynamic
                        .get(DynamicSetting::CacheReloadInterval, static_reload.as_secs())
                        .max(1),
                )
            },
            background.clone(),
        ));
        running.spawn(cache::listen_for_changes(
            connector.redis_client().clone(),
            worker.keys.rules_changed_channel(),
            worker.cache.clone(),
            background.clone(),
        ));
        running.spawn(cache::reload_on_sighup(
            worker.cache.clone(),
            background.clone(),
        ));
        running.spawn(crate::remediation::run(
            config.remediation.clone(),
            redis.clone(),
            worker.pool.clone(),
            worker.keys.clone(),
            worker.metrics.clone(),
            background.clone(),
        ));
        // Partitions ahead, and retention when enabled; other instances skip while one runs.
        running.spawn(shared::lifecycle::run_periodically(
            worker.pool.clone(),
            redis.clone(),
            worker.keys.clone(),
            config.retention.clone(),
            retention,
            background.clone(),
        ));
        running.spawn(
            worker.pressure.clone().run(
                redis.clone(),
                worker
                    .keys
                    .shards()
                    .into_iter()
                    .map(|shard| shard.alert_queue)
                    .collect(),
                worker.queue.dlq().to_owned(),
                worker.metrics.clone(),
                background.clone(),
            ),
        );
        running.spawn(flush::every_second(
            worker.hits.clone(),
            redis.clone(),
            worker.keys.clone(),
            background.clone(),
        ));
        running.spawn(flush::every_second(
            worker.metrics.activity.clone(),
            redis.clone(),
            worker.keys.clone(),
            background.clone(),
        ));
        running.spawn(flush::every_second(
            worker.sample.clone(),
            redis.clone(),
            worker.keys.clone(),
            background.clone(),
        ));

        let mut loops = tokio::task::JoinSet::new();
        for worker in workers {
            loops.spawn(worker.run(shutdown.clone()));
        }
        while loops.join_next().await.is_some() {}
        running.finish().await
    }
}
