//! The named API keys, mirrored into Redis for services that must not depend on
//! PostgreSQL to accept events (the ingestor keeps taking events while PostgreSQL is down).
//!
//! The web UI writes the directory ([`mirror`]: every active key's SHA-256 → its name and
//! scopes, replaced atomically) when a key is created and every minute while it serves;
//! the ingestor reads it through a [`KeyCache`], so a request costs no Redis round trip
//! once its key has been seen, and a key created or revoked takes effect within the
//! cache's lifetime.

use crate::redis::keys::RedisKeys;
use crate::store::api_keys::{KeyHolder, key_hash};
use redis::aio::ConnectionLike;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the web UI rewrites the directory while it serves (which also carries
/// revocations, and repairs a Redis that lost its data).
pub const MIRROR_INTERVAL: Duration = Duration::from_secs(60);

/// Rewrites the directory from PostgreSQL's active keys.
pub async fn mirror<C: ConnectionLike + Send>(
    pool: &crate::store::Pool,
    conn: &mut C,
    keys: &RedisKeys,
) -> anyhow::Result<()> {
    let active = crate::store::api_keys::active_keys(pool).await?;
    publish(conn, keys, &active).await?;
    Ok(())
}

/// [`mirror`] every [`MIRROR_INTERVAL`] until `stop`.
pub async fn mirror_periodically<C: ConnectionLike + Send>(
    pool: crate::store::Pool,
    mut conn: C,
    keys: RedisKeys,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(MIRROR_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = mirror(&pool, &mut conn, &keys).await {
            tracing::warn!(error = %error, "cannot mirror the API keys to Redis, will retry");
        }
    }
}

/// Replaces the directory with `holders` (hash → holder) in one atomic step.
pub async fn publish<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &RedisKeys,
    holders: &[(String, KeyHolder)],
) -> redis::RedisResult<()> {
    let staging = format!("{}:staging", keys.api_keys);
    let mut pipe = redis::pipe();
    pipe.atomic().del(&staging);
    for (hash, holder) in holders {
        let value = serde_json::to_string(holder).expect("a key holder serialises");
        pipe.hset(&staging, hash, value);
    }
    if holders.is_empty() {
        pipe.del(&keys.api_keys);
    } else {
        pipe.rename(&staging, &keys.api_keys);
    }
    pipe.query_async(conn).await
}

/// The holder of `key`, read from the directory.
pub async fn lookup<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &RedisKeys,
    key: &str,
) -> redis::RedisResult<Option<KeyHolder>> {
    let value: Option<String> = redis::cmd("HGET")
        .arg(&keys.api_keys)
        .arg(key_hash(key))
        .query_async(conn)
        .await?;
    Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
}

/// Answers seen within `ttl`, by key hash (never the key itself), unknown keys included so
/// that a sender with a wrong key does not cost a Redis round trip per request.
pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Option<KeyHolder>, Instant)>>,
}

/// More entries than this (a flood of made-up keys) and the cache starts over.
const MAX_ENTRIES: usize = 10_000;

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The holder of `key`, from the cache or else the directory.
    pub async fn holder<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        keys: &RedisKeys,
        key: &str,
    ) -> redis::RedisResult<Option<KeyHolder>> {
        let hash = key_hash(key);
        if let Some((holder, at)) = self.lock().get(&hash)
            && at.elapsed() < self.ttl
        {
            return Ok(holder.clone());
        }
        let holder = lookup(conn, keys, key).await?;
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, (holder.clone(), Instant::now()));
        Ok(holder)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Option<KeyHolder>, Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
