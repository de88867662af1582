//! A worker's proof of life: `SET mutt:heartbeat:<role>:<pod> alive EX <ttl>`, renewed every
//! interval from the moment the worker starts (v2.5 wrote the first beat only after 10 s,
//! leaving a window in which a fresh worker looked dead).
//!
//! With queue shards, the worker beats once per shard, in one pipeline: the janitor's
//! script checks a heartbeat and moves a processing list in one step, so each shard's
//! heartbeat lives in that shard's slot.

use crate::redis::keys::{RedisKeys, WorkerRole};
use redis::aio::ConnectionLike;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug)]
pub struct Heartbeat {
    /// One per queue shard.
    keys: Vec<String>,
    ttl: Duration,
    interval: Duration,
}

impl Heartbeat {
    /// `ttl` is how long silence means death (`*_JANITOR_TIMEOUT`); `interval` how often to
    /// beat (`*_HEARTBEAT_INTERVAL`), which must be well below the TTL.
    pub fn new(
        keys: &RedisKeys,
        role: WorkerRole,
        pod: &str,
        interval: Duration,
        ttl: Duration,
    ) -> Self {
        Self {
            keys: keys
                .shards()
                .iter()
                .map(|shard| shard.heartbeat(role, pod))
                .collect(),
            ttl,
            interval,
        }
    }

    /// The heartbeat keys, one per queue shard.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    pub async fn beat<C: ConnectionLike + Send>(&self, conn: &mut C) -> redis::RedisResult<()> {
        let ttl_ms = u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut pipe = redis::pipe();
        for key in &self.keys {
            pipe.cmd("SET")
                .arg(key)
                .arg("alive")
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
        }
        pipe.query_async(conn).await
    }

    /// Removes the key at a clean shutdown, so that nobody waits for the TTL.
    pub async fn stop<C: ConnectionLike + Send>(&self, conn: &mut C) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        for key in &self.keys {
            pipe.cmd("DEL").arg(key).ignore();
        }
        pipe.query_async(conn).await
    }

    /// Beats now and then every interval until `shutdown`. A failed beat is logged and
    /// retried at the next tick: the worker keeps working, and if Redis stays away long
    /// enough for the key to expire, its in-flight items may be re-delivered elsewhere,
    /// which the idempotent audit and `event_id` de-duplication absorb.
    pub async fn run<C: ConnectionLike + Send>(self, mut conn: C, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.beat(&mut conn).await {
                tracing::warn!(key = %self.keys[0], error = %error, "heartbeat failed, will retry");
            }
        }
    }
}
