//! What tests need of MUTT v2.5 itself, from its documented behaviour: its forwarders'
//! limiter script, to run beside mutt-rs's on one key; and a check of a limit over
//! admission times.

/// v2.5's forwarder limiter exactly as v2.5 runs it (inline `EVAL`; KEYS[1]: the limit
/// key; ARGV: limit, window in ms, the caller's clock in ms). Returns 1 when admitted.
pub const V25_FORWARDER_LIMITER: &str = r"
    redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, '(' .. (tonumber(ARGV[3]) - tonumber(ARGV[2])))
    if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[3] .. ':' .. math.random())
        redis.call('EXPIRE', KEYS[1], ARGV[2])
        return 1
    end
    return 0
";

/// The most of `times` (ms, any order) that fall within any window of `window` ms.
pub fn most_in_any_window(times: &[i64], window: i64) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    (0..sorted.len())
        .map(|i| sorted[i..].partition_point(|t| *t < sorted[i] + window))
        .max()
        .unwrap_or(0)
}
