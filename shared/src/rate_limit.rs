//! The ingest rate limit shared by every ingestor (v2.5 §3.4, "sliding log"): at most
//! `limit` admissions in any `window`, counted in one Redis sorted set by one Lua script.
//!
//! Kept compatible with v2.5 (same key `mutt:rate_limit:ingestor`, scores in epoch seconds)
//! so that Python and Rust ingestors share one limit during a migration. Fixed: the clock
//! is Redis' own `TIME` (ingestor hosts may disagree), and members are UUIDs (v2.5's
//! `math.random()` could repeat, so `ZADD` overwrote and the limiter under-counted).

use redis::aio::ConnectionLike;
use std::sync::LazyLock;
use std::time::Duration;

/// KEYS[1]: the sorted set. ARGV: limit, window (seconds), member. Returns {1, 0} when
/// admitted, else {0, milliseconds until the oldest admission leaves the window}.
static SLIDING_LOG: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local t = redis.call('TIME')
        local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - window))
        if redis.call('ZCARD', KEYS[1]) >= limit then
            local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
            local wait = tonumber(oldest[2]) + window - now
            return {0, math.max(1, math.ceil(wait * 1000))}
        end
        redis.call('ZADD', KEYS[1], now, ARGV[3])
        redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
        return {1, 0}
        ",
    )
});

/// Whether a request may proceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Try again after this long.
    Limited(Duration),
}

/// A sliding-window limit shared through Redis.
#[derive(Clone, Debug)]
pub struct SlidingWindowLimiter {
    key: String,
    limit: u64,
    window: Duration,
}

impl SlidingWindowLimiter {
    pub fn new(key: impl Into<String>, limit: u64, window: Duration) -> Self {
        Self {
            key: key.into(),
            limit,
            window,
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// One atomic check-and-admit.
    pub async fn admit<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> redis::RedisResult<Admission> {
        let member = uuid::Uuid::new_v4().simple().to_string();
        let (admitted, wait_ms): (i64, u64) = SLIDING_LOG
            .key(&self.key)
            .arg(self.limit)
            .arg(self.window.as_secs_f64())
            .arg(member)
            .invoke_async(conn)
            .await?;
        Ok(if admitted == 1 {
            Admission::Admitted
        } else {
            Admission::Limited(Duration::from_millis(wait_ms))
        })
    }
}
