//! Delayed retries, kept in Redis rather than in a sleeping task a crash would lose: a
//! failed alert moves, atomically, from the processing list into a sorted set scored by
//! its due time; a promoter moves due alerts back to the consumers' end of the alert queue.

use redis::aio::ConnectionLike;
use shared::redis::keys::RedisKeys;
use std::sync::LazyLock;

/// KEYS: retry set, processing list. ARGV: due (ms), updated alert, original item.
static SCHEDULE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
        redis.call('LREM', KEYS[2], -1, ARGV[3])
        return 1
        ",
    )
});

/// KEYS: retry set, alert queue. ARGV: most to move. Moves what is due (by Redis' clock).
static PROMOTE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
        for _, item in ipairs(due) do
            redis.call('ZREM', KEYS[1], item)
            redis.call('RPUSH', KEYS[2], item)
        end
        return #due
        ",
    )
});

/// Moves `original` out of `processing` into the retry set as `updated`, due in `delay_ms`
/// from Redis' clock.
pub async fn schedule<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &RedisKeys,
    processing: &str,
    updated: &str,
    original: &[u8],
    delay_ms: u64,
) -> redis::RedisResult<()> {
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(conn).await?;
    let due = secs * 1000 + micros / 1000 + delay_ms;
    SCHEDULE
        .key(&keys.moog_retry_queue)
        .key(processing)
        .arg(due)
        .arg(updated)
        .arg(original)
        .invoke_async(conn)
        .await
}

/// Moves up to `limit` due alerts back to the alert queue; returns how many.
pub async fn promote_due<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &RedisKeys,
    limit: usize,
) -> redis::RedisResult<u64> {
    PROMOTE
        .key(&keys.moog_retry_queue)
        .key(&keys.alert_queue)
        .arg(limit)
        .invoke_async(conn)
        .await
}
