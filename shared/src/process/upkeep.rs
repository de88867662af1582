//! One skeleton for every queue worker (alerter, forwarder): what it runs beside its work,
//! started by one call and stopped as one set.
//!
//! [`Upkeep::start`] announces the worker (its heartbeat, and taking back what an earlier
//! run under the same `POD_NAME` left in its processing list) and starts the heartbeat,
//! the janitor (returning dead workers' lists), the orphan sweep (items of its own list
//! that no loop holds), the dynamic-settings refresh and the admin listener. The service
//! adds tasks of its own with [`Running::spawn`]. Once its work has stopped,
//! [`Running::finish`] returns what is left in the processing list to the queue, removes
//! the heartbeat and stops every background task.

use crate::dynamic_config::{DynamicConfig, DynamicSetting};
use crate::process::admin::AdminServer;
use crate::process::retry::{Backoff, until_ok};
use crate::queue::{
    Heartbeat, InFlight, Janitor, Presence, ReliableQueue, return_orphans_periodically,
};
use crate::redis::RedisConn;
use crate::redis::keys::RedisKeys;
use anyhow::Context;
use std::future::Future;
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// Who the worker is, and what its background tasks need.
pub struct Upkeep {
    pub keys: RedisKeys,
    /// The worker's queue on each shard (one without sharding).
    pub queues: Vec<ReliableQueue>,
    /// What the worker's loops hold of its processing lists.
    pub in_flight: InFlight,
    pub heartbeat: Heartbeat,
    /// One per shard.
    pub janitors: Vec<Janitor>,
    /// How often the heartbeat beats, the janitor sweeps and orphans are looked for.
    pub interval: Duration,
    pub dynamic: DynamicConfig,
    /// The dynamic settings the worker reads.
    pub settings: &'static [DynamicSetting],
    pub admin: AdminServer,
}

/// The background tasks of a started worker.
pub struct Running {
    redis: RedisConn,
    queues: Vec<ReliableQueue>,
    heartbeat: Heartbeat,
    stop: CancellationToken,
    tasks: JoinSet<()>,
    admin: JoinHandle<std::io::Result<()>>,
}

impl Upkeep {
    /// Announces the worker and starts its background tasks. Redis that cannot be reached
    /// (a primary failing over) is asked again until it answers or `shutdown` comes: a
    /// worker starting during a failover waits for it instead of exiting.
    pub async fn start(
        self,
        redis: RedisConn,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Running> {
        let Self {
            keys,
            queues,
            in_flight,
            heartbeat,
            janitors,
            interval,
            dynamic,
            settings,
            admin,
        } = self;
        let presence = Presence {
            queues: &queues,
            heartbeat: &heartbeat,
        };
        let arrive = || {
            let (presence, mut redis) = (&presence, redis.clone());
            async move { presence.arrive(&mut redis).await }
        };
        let backoff = Backoff::doubling(Duration::from_millis(200), Duration::from_secs(2));
        until_ok("announcing this worker in redis", backoff, shutdown, arrive)
            .await
            .context("stopped before this worker could announce itself in redis")?;
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        tasks.spawn(heartbeat.clone().run(redis.clone(), stop.clone()));
        for janitor in janitors {
            tasks.spawn(janitor.run(redis.clone(), interval, stop.clone()));
        }
        for queue in &queues {
            tasks.spawn(return_orphans_periodically(
                queue.clone(),
                redis.clone(),
                in_flight.clone(),
                interval,
                stop.clone(),
            ));
        }
        tasks.spawn(dynamic.run(redis.clone(), keys, settings, stop.clone()));
        let admin = tokio::spawn(admin.run_until(stop.clone()));
        Ok(Running {
            redis,
            queues,
            heartbeat,
            stop,
            tasks,
            admin,
        })
    }
}

impl Running {
    /// The token the background tasks stop on, for the service's own.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Adds a background task of the service's own; it must end when
    /// [`Running::stop_token`] is cancelled.
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Call once the work has stopped: returns what is left in the processing list to
    /// the queue, removes the heartbeat, and stops and awaits every background task.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        Presence {
            queues: &self.queues,
            heartbeat: &self.heartbeat,
        }
        .leave(&mut self.redis)
        .await;
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
        self.admin
            .await
            .context("admin listener")?
            .context("admin listener")
    }
}
