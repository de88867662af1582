//! The forwarder's face: `build` connects and binds the admin listener; `run_until` takes
//! alerts while delivery slots are free, runs the retry promoter, heartbeat and janitor,
//! and on shutdown lets deliveries finish (or give up waiting) before returning leftovers
//! to the queue.

use crate::ack::{self, Acker};
use crate::breaker::{CircuitBreaker, NAME};
use crate::coalesce::{self, Group};
use crate::deliver::{Courier, Endpoint};
use crate::gate::Gate;
use crate::metrics::ForwarderMetrics;
use crate::outcome::RetryPolicy;
use crate::retry;
use anyhow::Context;
use prometheus::Registry;
use shared::config::ForwarderConfig;
use shared::dynamic_config::{DynamicConfig, DynamicSetting};
use shared::process::admin::AdminServer;
use shared::process::retry::pause;
use shared::process::upkeep::Upkeep;
use shared::queue::{Heartbeat, InFlight, Janitor, ReliableQueue, total_length};
use shared::rate_limit::MoogLimiter;
use shared::redis::RedisConn;
use shared::redis::connection::RedisConnector;
use shared::redis::keys::WorkerRole;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

const DYNAMIC_SETTINGS: &[DynamicSetting] = &[
    DynamicSetting::MoogRateLimit,
    DynamicSetting::MoogRatePeriod,
];
/// With coalescing, the most alerts a lane holds to group at once (beyond its slots): a
/// storm's copies meet only if enough of them are taken together.
const COALESCE_TAKE: usize = 10_000;

/// How long the taker waits for more free delivery slots before taking a smaller batch.
const GATHER_WAIT: Duration = Duration::from_millis(2);
/// How often due retries are moved back to the alert queue: a retry waits at most this
/// much longer than its delay, and an idle forwarder costs Redis three commands per tick.
const PROMOTE_INTERVAL: Duration = Duration::from_millis(250);
const GAUGE_INTERVAL: Duration = Duration::from_secs(2);

pub struct Forwarder {
    config: ForwarderConfig,
    gate: Arc<Gate>,
    /// One per queue shard.
    lanes: Vec<Lane>,
    connector: RedisConnector,
    upkeep: Upkeep,
}

/// What takes and delivers the alerts of one queue shard: its own blocking connection,
/// courier (the shard's processing list and retry set) and acker. Lanes share the gate and
/// the delivery slots, so the rate limit and `MOOG_MAX_IN_FLIGHT` hold for the forwarder
/// as a whole, and each lane waits its turn for slots (tokio's semaphore is fair), so no
/// shard starves.
struct Lane {
    courier: Arc<Courier>,
    acker: Acker,
    blocking: RedisConn,
}

impl Forwarder {
    pub async fn build(config: ForwarderConfig, registry: &Registry) -> anyhow::Result<Self> {
        let connector = RedisConnector::connect(&config.redis).await?;
        let redis = connector.shared().await?;
        let metrics = ForwarderMetrics::new(registry);
        shared::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .connect_timeout(config.webhook_timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(config.max_in_flight)
            .build()
            .context("building the webhook client")?;
        let keys = config.redis.keys.clone();
        let pod = config.identity.pod_name.clone();
        let breaker = config.circuit_breaker_enabled.then(|| {
            CircuitBreaker::new(
                &keys,
                config.circuit_breaker_threshold,
                config.circuit_breaker_timeout,
                config.webhook_timeout + Duration::from_secs(5),
            )
        });
        let dynamic = DynamicConfig::new(config.dynamic_config.0);
        dynamic
            .refresh(&mut redis.clone(), &keys, DYNAMIC_SETTINGS)
            .await
            .context("reading dynamic config")?;
        let in_flight = InFlight::default();
        let gate = Arc::new(Gate {
            redis: redis.clone(),
            breaker: breaker.clone(),
            limiter: MoogLimiter::new(config.rate_limiter, &keys.moog_rate_limit),
            dynamic: dynamic.clone(),
            rate_limit: config.rate_limit,
            rate_period: config.rate_period,
            metrics: metrics.clone(),
        });
        let endpoint = Endpoint {
            client,
            // Parsed once: reqwest would otherwise parse (and IDNA-map) it per request.
            url: reqwest::Url::parse(&config.webhook_url).context("MOOG_WEBHOOK_URL")?,
            api_key: config.moog_api_key.clone(),
            signature_template: config.signature_template.clone(),
        };
        let shards = keys.shards();
        let mut lanes = Vec::with_capacity(shards.len());
        for shard in &shards {
            let queue = ReliableQueue::new(shard, WorkerRole::Moog, &pod, "moog-forwarder")
                .confirmed_by(config.replication);
            let courier = Arc::new(Courier {
                endpoint: endpoint.clone(),
                policy: RetryPolicy {
                    max_retries: config.max_retries,
                    base: config.retry_base_delay,
                    max: config.retry_max_delay,
                },
                queue: queue.clone(),
                in_flight: in_flight.clone(),
                keys: shard.clone(),
                redis: redis.clone(),
                breaker: breaker.clone(),
                metrics: metrics.clone(),
            });
            let acker = Acker {
                queue,
                in_flight: in_flight.clone(),
                redis: redis.clone(),
                breaker: breaker.clone(),
                metrics: metrics.clone(),
            };
            let blocking = connector.blocking(config.pop_timeout).await?;
            lanes.push(Lane {
                courier,
                acker,
                blocking,
            });
        }
        // Readiness asks Redis only; it never posts to the webhook (v2.5's remediation did).
        let ready = shared::process::admin::redis_and_db_ready(redis, None);
        let addrs = [
            SocketAddr::new(config.listen_host, config.metrics_port),
            SocketAddr::new(config.listen_host, config.health_port),
        ];
        let admin = AdminServer::bind(&addrs, "mutt-moog-forwarder", registry.clone(), ready)
            .context("binding the admin listener")?;
        let upkeep = Upkeep {
            queues: lanes.iter().map(|l| l.courier.queue.clone()).collect(),
            in_flight,
            heartbeat: Heartbeat::new(
                &keys,
                WorkerRole::Moog,
                &pod,
                config.heartbeat_interval,
                config.janitor_timeout,
            ),
            janitors: shards
                .iter()
                .map(|shard| Janitor::new(shard, WorkerRole::Moog, &pod))
                .collect(),
            interval: config.heartbeat_interval,
            dynamic,
            settings: DYNAMIC_SETTINGS,
            admin,
            keys,
        };
        Ok(Self {
            config,
            gate,
            lanes,
            connector,
            upkeep,
        })
    }

    /// Metrics port, then health port.
    pub fn admin_addrs(&self) -> &[SocketAddr] {
        self.upkeep.admin.addrs()
    }

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
            gate,
            lanes,
            connector: _,
            upkeep,
        } = self;
        let redis = lanes[0].courier.redis.clone();
        let mut running = upkeep.start(redis.clone(), &shutdown).await?;
        tracing::info!(worker_id = %config.identity.pod_name, webhook = %config.webhook_url, shards = lanes.len(), "moog forwarder running");
        for lane in &lanes {
            running.spawn(promote_retries(
                redis.clone(),
                lane.courier.keys.clone(),
                running.stop_token(),
            ));
        }
        running.spawn(shared::redis::flush::every_second(
            lanes[0].courier.metrics.activity.clone(),
            redis.clone(),
            lanes[0].courier.keys.clone(),
            running.stop_token(),
        ));
        let couriers = lanes.iter().map(|l| l.courier.clone()).collect();
        running.spawn(sample_gauges(couriers, running.stop_token()));

        // A slot per alert: MOOG_MAX_IN_FLIGHT POSTs of up to MOOG_BATCH_SIZE alerts each.
        let alert_slots = config.max_in_flight * config.batch_size;
        let slots = Arc::new(Semaphore::new(alert_slots));
        let mut lane_tasks = tokio::task::JoinSet::new();
        for lane in lanes {
            let settings = LaneSettings {
                alert_slots,
                batch_size: config.batch_size,
                coalesce_window: config.coalesce_window,
                pop_timeout: config.pop_timeout,
            };
            lane_tasks.spawn(lane.run(gate.clone(), slots.clone(), settings, shutdown.clone()));
        }
        while let Some(done) = lane_tasks.join_next().await {
            done.context("a delivery lane")??;
        }
        running.finish().await
    }
}

#[derive(Clone, Copy)]
struct LaneSettings {
    /// `MOOG_COALESCE_WINDOW`; zero: no coalescing.
    coalesce_window: Duration,
    /// Alerts in flight at most, over all lanes.
    alert_slots: usize,
    batch_size: usize,
    pop_timeout: Duration,
}

impl Lane {
    /// Takes alerts while delivery slots are free and delivers them, until `shutdown`;
    /// then lets the deliveries finish and acks what they delivered.
    async fn run(
        self,
        gate: Arc<Gate>,
        slots: Arc<Semaphore>,
        settings: LaneSettings,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let Self {
            courier,
            acker,
            mut blocking,
        } = self;
        let (acks, delivered) = ack::channel();
        let deliveries_done = CancellationToken::new();
        let acker = tokio::spawn(acker.run(delivered, deliveries_done.clone()));
        let mut deliveries = tokio::task::JoinSet::new();
        loop {
            // Wait for one alert holding one delivery slot (so that a lane waiting on an
            // idle shard keeps no slots from the others), then take as many more as there
            // are free slots: the rest wait in the queue, where any forwarder can take them.
            let mut slot = tokio::select! {
                _ = shutdown.cancelled() => break,
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            };
            let first = tokio::select! {
                _ = shutdown.cancelled() => break,
                taken = courier.queue.take_batch(&mut blocking, 1, settings.pop_timeout) => taken,
            };
            let mut items = match first {
                Ok(items) if items.is_empty() => continue,
                Ok(items) => items,
                Err(error) => {
                    tracing::warn!(error = %error, queue = %courier.queue.source(), "cannot take from the alert queue, retrying");
                    drop(slot);
                    if !pause(Duration::from_secs(1), &shutdown).await {
                        break;
                    }
                    continue;
                }
            };
            // Under load slots free up one at a time; wait a moment for a quarter of them,
            // so that one take, one clearance and one ack serve many alerts.
            let gather = (settings.alert_slots / 4).saturating_sub(1) as u32;
            if gather > 0 && slots.available_permits() < gather as usize {
                let more = slots.clone().acquire_many_owned(gather);
                if let Ok(Ok(more)) = tokio::time::timeout(GATHER_WAIT, more).await {
                    slot.merge(more);
                }
            }
            let free = slots.available_permits() as u32;
            if let Ok(more) = slots.clone().try_acquire_many_owned(free) {
                slot.merge(more);
            }
            // A failure here leaves the first alert to be delivered alone: the rest stay
            // in the queue.
            let wanted = slot.num_permits() - items.len();
            match courier.queue.take_waiting(&mut blocking, wanted).await {
                Ok(more) => items.extend(more),
                Err(error) => {
                    tracing::warn!(error = %error, queue = %courier.queue.source(), "cannot take more from the alert queue")
                }
            }
            let coalescing = !settings.coalesce_window.is_zero();
            if coalescing {
                // Take what else is waiting, so that a storm's copies meet and go as one.
                let more = COALESCE_TAKE.saturating_sub(items.len());
                match courier.queue.take_waiting(&mut blocking, more).await {
                    Ok(more) => items.extend(more),
                    Err(error) => {
                        tracing::warn!(error = %error, queue = %courier.queue.source(), "cannot take more to coalesce")
                    }
                }
            }
            courier.in_flight.hold(&items);
            let groups: Vec<Group> = if coalescing {
                let now = chrono::Utc::now().timestamp();
                let template = &courier.endpoint.signature_template;
                coalesce::group(items, template, settings.coalesce_window, now)
            } else {
                items.into_iter().map(|item| vec![item]).collect()
            };
            // A slot per group while the slots taken last (one per alert taken, so without
            // coalescing always); a group beyond them waits for a slot when its turn comes.
            // The slots left over go back when `slot` is dropped.
            let mut pending: VecDeque<_> = groups
                .into_iter()
                .map(|group| (group, slot.split(1)))
                .collect();
            drop(slot);
            while !pending.is_empty() {
                // Until shutdown, wait for the breaker and for tokens; on shutdown what is
                // left stays in the processing list and `leave` returns it to the queue.
                let Some(cleared) = gate.clearance(pending.len(), &shutdown).await else {
                    break;
                };
                // One POST per MOOG_BATCH_SIZE cleared alerts, holding their slots.
                let mut cleared = pending.drain(..cleared.min(pending.len()));
                'post: while let Some((group, permit)) = cleared.next() {
                    let Some(mut permits) = slot_for(permit, &slots, &shutdown).await else {
                        break 'post;
                    };
                    let mut batch = vec![group];
                    for (group, permit) in cleared.by_ref().take(settings.batch_size - 1) {
                        let Some(permit) = slot_for(permit, &slots, &shutdown).await else {
                            break 'post;
                        };
                        batch.push(group);
                        permits.merge(permit);
                    }
                    let (courier, acks, stop) = (courier.clone(), acks.clone(), shutdown.clone());
                    deliveries.spawn(async move {
                        courier.deliver(batch, &acks, stop).await;
                        drop(permits);
                    });
                }
            }
            while deliveries.try_join_next().is_some() {}
        }

        while deliveries.join_next().await.is_some() {}
        deliveries_done.cancel();
        acker.await.context("acknowledging task")
    }
}

/// `given`, or a slot once one is free; `None` if shutdown came first.
async fn slot_for(
    given: Option<OwnedSemaphorePermit>,
    slots: &Arc<Semaphore>,
    shutdown: &CancellationToken,
) -> Option<OwnedSemaphorePermit> {
    if given.is_some() {
        return given;
    }
    tokio::select! {
        _ = shutdown.cancelled() => None,
        permit = slots.clone().acquire_owned() => permit.ok(),
    }
}

async fn promote_retries(
    mut redis: shared::redis::RedisConn,
    keys: shared::redis::keys::RedisKeys,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(PROMOTE_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = retry::promote_due(&mut redis, &keys, 1000).await {
            tracing::debug!(error = %error, "cannot promote due retries, will try again");
        }
    }
}

async fn sample_gauges(couriers: Vec<Arc<Courier>>, stop: CancellationToken) {
    let courier = couriers[0].clone();
    let processing_lists: Vec<String> = couriers
        .iter()
        .map(|c| c.queue.processing_list().to_owned())
        .collect();
    let mut redis = courier.redis.clone();
    let mut tick = tokio::time::interval(GAUGE_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let depths = async {
            let dlq: u64 = redis::cmd("LLEN")
                .arg(courier.queue.dlq())
                .query_async(&mut redis)
                .await?;
            let processing = total_length(&mut redis, &processing_lists).await?;
            redis::RedisResult::Ok((dlq, processing))
        }
        .await;
        if let Ok((dlq, processing)) = depths {
            courier.metrics.dlq_depth.set(dlq as i64);
            courier.metrics.processing_list_depth.set(processing as i64);
        }
        if let Some(breaker) = &courier.breaker
            && let Ok((state, failures)) = breaker.snapshot(&mut redis).await
        {
            courier
                .metrics
                .breaker_state
                .with_label_values(&[NAME])
                .set(state.gauge());
            courier
                .metrics
                .breaker_failures
                .with_label_values(&[NAME])
                .set(failures as i64);
        }
    }
}
