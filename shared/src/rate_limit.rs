//! Rate limits shared through Redis, each one atomic Lua script on Redis' own clock (hosts
//! may disagree about the time):
//! - [`SlidingWindowLimiter`]: the ingest limit shared by every ingestor (//!   "sliding log"): at most `limit` admissions in any `window`, in one sorted set.
//! - [`TokenBucket`]: the forwarders' limit on calls to Moog (issue #5);
//! - [`V25SlidingLog`]: the same limit kept the way v2.5's forwarders keep it, so that both
//!   kinds of forwarder share one limit while a site swaps them (issue #20);
//!   [`MoogLimiter`] is whichever `MOOG_RATE_LIMITER` names.
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
        local state = redis.pcall('HMGET', KEYS[1], 'tokens', 'ts')
        if state.err then
            -- v2.5's sliding log (a sorted set) left at the key after a switch-over.
            redis.call('DEL', KEYS[1])
            state = {false, false}
        end
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

/// KEYS[1]: v2.5's forwarder limiter, a sorted set of admissions scored by their time in
/// ms. ARGV: limit, window (ms), wanted, a member prefix unique to this call. v2.5's
/// algorithm (drop admissions older than the window, admit while fewer than `limit`
/// remain) for up to `wanted` at once, on Redis' clock, with members that cannot collide.
/// Returns {admitted, 0} or {0, ms until the oldest admission leaves the window}.
static V25_SLIDING_LOG: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local limit, window, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        local ok = redis.pcall('ZREMRANGEBYSCORE', KEYS[1], 0, '(' .. (now - window))
        if type(ok) == 'table' and ok.err then
            -- A token bucket (a hash) left at the key by mutt-rs forwarders: start a log.
            redis.call('DEL', KEYS[1])
        end
        local free = limit - redis.call('ZCARD', KEYS[1])
        if free <= 0 then
            local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
            local wait = 1
            if oldest[2] then wait = math.max(1, tonumber(oldest[2]) + window - now) end
            return {0, wait}
        end
        local admitted = math.min(free, wanted)
        local scored = {}
        for i = 1, admitted do
            scored[#scored + 1] = now
            scored[#scored + 1] = now .. ':' .. ARGV[4] .. ':' .. i
        end
        redis.call('ZADD', KEYS[1], unpack(scored))
        redis.call('PEXPIRE', KEYS[1], window + 1000)
        return {admitted, 0}
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

impl Tokens {
    /// The `{granted, wait_ms}` both limiter scripts answer.
    fn from_reply(granted: u64, wait_ms: u64) -> Self {
        if granted >= 1 {
            Self::Granted(granted)
        } else {
            Self::Wait(Duration::from_millis(wait_ms.max(1)))
        }
    }
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
        Ok(Tokens::from_reply(granted, wait_ms))
    }
}

/// The Moog limit kept as v2.5's forwarders keep it: a sorted set of admissions at the
/// same key, so that v2.5 and mutt-rs forwarders running side by side share one limit.
/// Costlier than the token bucket (memory O(limit), a member per admission): use it only
/// while v2.5 forwarders may run (docs/operations.md, "Migrating from MUTT v2.5").
#[derive(Clone, Debug)]
pub struct V25SlidingLog {
    key: String,
}

impl V25SlidingLog {
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into() }
    }

    /// As [`TokenBucket::acquire_up_to`]: up to `wanted` admissions in one call.
    pub async fn acquire_up_to<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        limit: u64,
        period: Duration,
        wanted: u64,
    ) -> redis::RedisResult<Tokens> {
        let (admitted, wait_ms): (u64, u64) = V25_SLIDING_LOG
            .key(&self.key)
            .arg(limit.max(1))
            .arg((period.as_millis() as u64).max(1))
            .arg(wanted.max(1))
            .arg(uuid::Uuid::new_v4().simple().to_string())
            .invoke_async(conn)
            .await?;
        Ok(Tokens::from_reply(admitted, wait_ms))
    }
}

/// Which Moog limiter the forwarders use (`MOOG_RATE_LIMITER`).
#[derive(Clone, Debug)]
pub enum MoogLimiter {
    /// The default: a token bucket.
    TokenBucket(TokenBucket),
    /// While v2.5 forwarders may share the site: v2.5's sliding log.
    V25SlidingLog(V25SlidingLog),
}

impl MoogLimiter {
    /// `kind` is `token_bucket` or `v25_sliding_log`, at `key`.
    pub fn new(kind: MoogLimiterKind, key: &str) -> Self {
        match kind {
            MoogLimiterKind::TokenBucket => Self::TokenBucket(TokenBucket::new(key)),
            MoogLimiterKind::V25SlidingLog => Self::V25SlidingLog(V25SlidingLog::new(key)),
        }
    }

    /// Up to `wanted` admissions under `limit` per `period`, shared by every forwarder.
    pub async fn acquire_up_to<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        limit: u64,
        period: Duration,
        wanted: u64,
    ) -> redis::RedisResult<Tokens> {
        match self {
            Self::TokenBucket(bucket) => bucket.acquire_up_to(conn, limit, period, wanted).await,
            Self::V25SlidingLog(log) => log.acquire_up_to(conn, limit, period, wanted).await,
        }
    }
}

/// The value of `MOOG_RATE_LIMITER`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MoogLimiterKind {
    #[default]
    TokenBucket,
    V25SlidingLog,
}

impl std::str::FromStr for MoogLimiterKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "token_bucket" => Ok(Self::TokenBucket),
            "v25_sliding_log" => Ok(Self::V25SlidingLog),
            other => Err(format!(
                "{other:?} is not a limiter: token_bucket or v25_sliding_log"
            )),
        }
    }
}
