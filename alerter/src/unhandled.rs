//! Counting unhandled events (v2.5 §3.3, kept exactly): one meta-alert per host and exact
//! message per window. The window starts at the first occurrence; at the threshold the
//! counter is renamed to `<key>:triggered` and repeats are silent until that expires.
//! All unhandled events of a batch are counted in one pipeline.

use redis::aio::ConnectionManager;

const COUNT: &str = r"
    if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
    local count = redis.call('INCR', KEYS[1])
    if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
    if count == tonumber(ARGV[1]) then
        redis.call('RENAME', KEYS[1], KEYS[2])
        redis.call('EXPIRE', KEYS[2], ARGV[2])
        return 1
    end
    return 0
";

/// For each counter key, whether this occurrence reached the threshold.
pub async fn count(
    conn: &mut ConnectionManager,
    keys: &[String],
    threshold: u64,
    expiry_secs: u64,
) -> redis::RedisResult<Vec<bool>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // Make sure the script is cached server-side, then EVALSHA it for every key at once.
    let hash: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(COUNT)
        .query_async(conn)
        .await?;
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("EVALSHA")
            .arg(&hash)
            .arg(2)
            .arg(key)
            .arg(format!("{key}:triggered"))
            .arg(threshold)
            .arg(expiry_secs);
    }
    let results: Vec<i64> = pipe.query_async(conn).await?;
    Ok(results.into_iter().map(|r| r == 1).collect())
}
