//! The named API keys, mirrored into Redis for services that must not depend on
//! PostgreSQL to accept events (the ingestor keeps taking events while PostgreSQL is down).
//!
//! The web UI writes the directory ([`mirror`]: every active key's SHA-256 → its name,
//! scopes and, for a rotated key, the end of its grace period; replaced atomically) when a
//! key is created, revoked or rotated, and every minute while it serves; the ingestor
//! reads it through a [`KeyCache`], so a request costs no Redis round trip once its key has
//! been seen, and a key created or revoked takes effect within the cache's lifetime. A
//! rotated key stops at the end of its grace period by the entry's own `until`, whenever
//! the directory is next written.

use crate::redis::keys::RedisKeys;
use crate::store::api_keys::{KeyHolder, key_hash};
use chrono::{DateTime, Utc};
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

/// One entry of the directory: the holder, and when a rotated key stops working.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    #[serde(flatten)]
    holder: KeyHolder,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<DateTime<Utc>>,
}

/// Replaces the directory with `holders` (hash → holder, end of grace) in one atomic step.
pub async fn publish<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &RedisKeys,
    holders: &[(String, KeyHolder, Option<DateTime<Utc>>)],
) -> redis::RedisResult<()> {
    let staging = format!("{}:staging", keys.api_keys);
    let mut pipe = redis::pipe();
    pipe.atomic().del(&staging);
    for (hash, holder, until) in holders {
        let entry = Entry {
            holder: holder.clone(),
            until: *until,
        };
        let value = serde_json::to_string(&entry).expect("a key holder serialises");
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
    let entry: Option<Entry> = value.and_then(|v| serde_json::from_str(&v).ok());
    Ok(entry
        .filter(|e| e.until.is_none_or(|until| until > Utc::now()))
        .map(|e| e.holder))
}

/// The hash (key SHA-256 → RFC 3339 time) where services that check keys against the
/// directory note when each was last used.
fn last_used_key(keys: &RedisKeys) -> String {
    format!("{}:last_used", keys.api_keys)
}

/// When each key (by SHA-256) was last seen by a service that reads the directory.
pub async fn last_used<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &RedisKeys,
) -> redis::RedisResult<HashMap<String, DateTime<Utc>>> {
    let noted: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(last_used_key(keys))
        .query_async(conn)
        .await?;
    Ok(noted
        .into_iter()
        .filter_map(|(hash, at)| {
            let at = DateTime::parse_from_rfc3339(&at).ok()?;
            Some((hash, at.with_timezone(&Utc)))
        })
        .collect())
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
        if holder.is_some() {
            // For the key list's "last used": once per cache lifetime per key, not per
            // request. A failure costs only that note.
            let _: redis::RedisResult<()> = redis::cmd("HSET")
                .arg(last_used_key(keys))
                .arg(&hash)
                .arg(Utc::now().to_rfc3339())
                .query_async(conn)
                .await;
        }
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
