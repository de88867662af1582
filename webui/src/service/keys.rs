//! Keeping Redis' copy of the named keys (`shared::key_directory`) in step with
//! PostgreSQL: at once after `create-key`, and every minute while the web UI serves (which
//! also carries revocations and repairs a Redis that lost its data).

use redis::aio::ConnectionManager;
use shared::keys::RedisKeys;
use shared::store::{Pool, api_keys};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const INTERVAL: Duration = Duration::from_secs(60);

pub async fn mirror(
    pool: &Pool,
    redis: &mut ConnectionManager,
    keys: &RedisKeys,
) -> anyhow::Result<()> {
    let active = api_keys::active_keys(pool).await?;
    shared::key_directory::publish(redis, keys, &active).await?;
    Ok(())
}

pub async fn mirror_periodically(
    pool: Pool,
    mut redis: ConnectionManager,
    keys: RedisKeys,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = mirror(&pool, &mut redis, &keys).await {
            tracing::warn!(error = %error, "cannot mirror the API keys to Redis, will retry");
        }
    }
}
