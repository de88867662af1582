//! Rate limits shared through Redis, each one atomic Lua script on Redis' own clock (hosts
//! may disagree about the time):
//! - [`SlidingWindowLimiter`]: the ingest limit shared by every ingestor (//!   "sliding log"): at most `limit` admissions in any `window`, in one sorted set.
//! - [`TokenBucket`]: the forwarders' limit on calls to Moog (issue #5).
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

/// KEYS[1]: the bucket (a hash of `tokens` and `ts`). ARGV: capacity, tokens per second,
/// wanted. Takes as many whole tokens as are there, at most `wanted`: returns {taken, 0},
/// or {0, milliseconds until one will be there}. A new bucket starts empty, so a fresh limit is never exceeded by a burst.
static TOKEN_BUCKET: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local capacity = tonumber(ARGV[1])
        local per_ms = tonumber(ARGV[2]) / 1000
        local cost = tonumber(ARGV[3])
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
        local tokens = tonumber(state[1]) or 0
        local ts = tonumber(state[2]) or now
        tokens = math.min(capacity, tokens + math.max(0, now - ts) * per_ms)
        local admitted, wait = math.min(cost, math.floor(tokens)), 0
        if admitted >= 1 then
            tokens = tokens - admitted
        else
            admitted = 0
            wait = math.ceil((1 - tokens) / per_ms)
        end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
        redis.call('PEXPIRE', KEYS[1], math.max(60000, math.ceil(2 * capacity / per_ms)))
        return {admitted, wait}
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

/// What a request for several tokens got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tokens {
    /// This many (at least one, at most the number asked for).
    Granted(u64),
    /// None is free; one will be after this long.
    Wait(Duration),
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

/// A token bucket shared by every forwarder: on average `limit` per `period`, bursts of at
/// most `limit`. Limit and period are passed on every call, so a change of the dynamic
/// `moog_rate_limit` / `moog_rate_period` applies to the very next request.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    key: String,
}

impl TokenBucket {
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into() }
    }

    /// Takes one token if there is one.
    pub async fn acquire<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        limit: u64,
        period: Duration,
    ) -> redis::RedisResult<Admission> {
        Ok(match self.acquire_up_to(conn, limit, period, 1).await? {
            Tokens::Granted(_) => Admission::Admitted,
            Tokens::Wait(wait) => Admission::Limited(wait),
        })
    }

    /// Takes as many tokens as are free, at most `wanted` (one round trip for a whole
    /// batch of requests); when none is free, says how long until one is.
    pub async fn acquire_up_to<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        limit: u64,
        period: Duration,
        wanted: u64,
    ) -> redis::RedisResult<Tokens> {
        let per_second = limit.max(1) as f64 / period.as_secs_f64().max(0.001);
        let (granted, wait_ms): (u64, u64) = TOKEN_BUCKET
            .key(&self.key)
            .arg(limit.max(1))
            .arg(per_second)
            .arg(wanted.max(1))
            .invoke_async(conn)
            .await?;
        Ok(if granted >= 1 {
            Tokens::Granted(granted)
        } else {
            Tokens::Wait(Duration::from_millis(wait_ms.max(1)))
        })
    }
}
