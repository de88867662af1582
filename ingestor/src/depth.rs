//! Queue depth, sampled: one `LLEN` per queue shard, in one pipeline (and, with dynamic
//! config, one `GET` of `max_ingest_queue_size`) every few hundred milliseconds, instead of an `LLEN` per
//! request as in v2.5. Requests compare against the last sample, so the cap is soft by at
//! most one sampling interval of traffic. With shards, the cap applies to their sum: it
//! bounds what the site holds, whichever shard holds it.

use shared::dynamic_config::DynamicSetting;
use shared::queue::total_length;
use shared::redis::RedisConn;
use shared::redis::keys::RedisKeys;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(200);

/// The last sample, shared by every handler.
#[derive(Debug)]
pub struct QueueDepth {
    depth: AtomicU64,
    cap: AtomicU64,
}

impl QueueDepth {
    pub fn new(cap: u64) -> Self {
        Self {
            depth: AtomicU64::new(0),
            cap: AtomicU64::new(cap),
        }
    }

    pub fn depth(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }

    pub fn cap(&self) -> u64 {
        self.cap.load(Ordering::Relaxed)
    }

    /// `Some((depth, cap))` when the queue is at or over its cap.
    pub fn over_cap(&self) -> Option<(u64, u64)> {
        let (depth, cap) = (self.depth(), self.cap());
        (depth >= cap).then_some((depth, cap))
    }

    /// Takes one sample. `dynamic` honours `mutt:config:max_ingest_queue_size`.
    pub async fn sample(
        &self,
        conn: &mut RedisConn,
        keys: &RedisKeys,
        static_cap: u64,
        dynamic: bool,
    ) -> redis::RedisResult<()> {
        let queues: Vec<String> = keys.shards().into_iter().map(|k| k.ingest_queue).collect();
        let depth = total_length(conn, &queues).await?;
        let dynamic_cap: Option<String> = if dynamic {
            redis::cmd("GET")
                .arg(keys.config(DynamicSetting::MaxIngestQueueSize.key()))
                .query_async(conn)
                .await?
        } else {
            None
        };
        let cap = if dynamic {
            // As in v2.5, a value that is not a number falls back to the static cap.
            dynamic_cap
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(static_cap)
        } else {
            static_cap
        };
        self.depth.store(depth, Ordering::Relaxed);
        self.cap.store(cap, Ordering::Relaxed);
        Ok(())
    }

    /// Samples every [`SAMPLE_INTERVAL`] until `shutdown`, mirroring the depth into `gauge`.
    pub async fn run(
        &self,
        mut conn: RedisConn,
        keys: RedisKeys,
        static_cap: u64,
        dynamic: bool,
        gauge: prometheus::IntGauge,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match self.sample(&mut conn, &keys, static_cap, dynamic).await {
                Ok(()) => {
                    gauge.set(i64::try_from(self.depth()).unwrap_or(i64::MAX));
                    failing = false;
                }
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(queue = %keys.ingest_queue, error = %error, "cannot sample the queue depth, will retry");
                }
                Err(_) => {}
            }
        }
    }
}
