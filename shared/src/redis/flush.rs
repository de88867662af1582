//! Statistics a process adds up in memory and writes to Redis once a second (rule hits,
//! the backtest sample, the dashboard's activity counts): one loop for all of them, so
//! that each says only how it writes.

use super::RedisConn;
use super::keys::RedisKeys;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often what piled up is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Something kept in memory and written to Redis now and then.
pub trait Flush {
    /// Writes what has piled up (and keeps or drops it on failure, as it sees fit).
    fn flush(&self, redis: &mut RedisConn, keys: &RedisKeys) -> impl Future<Output = ()> + Send;
}

/// Flushes `pending` every [`FLUSH_INTERVAL`] until `stop`, then once more.
pub async fn every_second(
    pending: impl Flush,
    mut redis: RedisConn,
    keys: RedisKeys,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(FLUSH_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        pending.flush(&mut redis, &keys).await;
    }
    pending.flush(&mut redis, &keys).await;
}
