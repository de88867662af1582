//! Counting unhandled events (kept exactly): one meta-alert per host and exact
//! message per window. The window starts at the first occurrence; at the threshold the
//! counter becomes `<key>:triggered` and repeats are silent until that expires.
//!
//! v2.5 ran a script per event (`EXISTS`, `INCR`, …). Here a whole batch is one script
//! call: one `MGET` of the triggered markers, then one `INCRBY` per distinct counter with
//! the number of its occurrences in the batch (plus `EXPIRE` when a window opens and the
//! marker when it fires), so Redis' work follows the distinct keys, not the events. The
//! outcome is v2.5's: the occurrence that reaches the threshold fires, later ones in the
//! same batch are not counted, and the marker holds the threshold.

use redis::aio::ConnectionLike;
use std::collections::HashMap;
use std::sync::LazyLock;

/// KEYS: the distinct counters, then their `:triggered` markers (same order). ARGV:
/// threshold, expiry (s), then each counter's occurrences in the batch. Returns, per
/// counter, which of its occurrences (1-based) reached the threshold, or 0.
static COUNT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local n = #KEYS / 2
        local threshold, expiry = tonumber(ARGV[1]), ARGV[2]
        local markers = redis.call('MGET', unpack(KEYS, n + 1, 2 * n))
        local fired = {}
        for i = 1, n do
            fired[i] = 0
            if not markers[i] then
                local occurrences = tonumber(ARGV[2 + i])
                local count = redis.call('INCRBY', KEYS[i], occurrences)
                local before = count - occurrences
                if before == 0 then redis.call('EXPIRE', KEYS[i], expiry) end
                if before < threshold and count >= threshold then
                    redis.call('DEL', KEYS[i])
                    redis.call('SET', KEYS[n + i], threshold, 'EX', expiry)
                    fired[i] = threshold - before
                end
            end
        end
        return fired
        ",
    )
});

/// Most distinct counters in one script call (two keys each; Lua's `unpack` has a limit).
const KEYS_PER_CALL: usize = 1000;

/// For each occurrence (`keys[i]` is the counter of the i-th unhandled event, in batch
/// order), whether it reached the threshold.
pub async fn count<C: ConnectionLike + Send>(
    conn: &mut C,
    keys: &[String],
    threshold: u64,
    expiry_secs: u64,
) -> redis::RedisResult<Vec<bool>> {
    let mut distinct: Vec<&str> = Vec::new();
    let mut slot: HashMap<&str, usize> = HashMap::new();
    let mut occurrences: Vec<u64> = Vec::new();
    // For each event, which occurrence of its counter it is (1-based).
    let mut nth = Vec::with_capacity(keys.len());
    for key in keys {
        let i = *slot.entry(key).or_insert_with(|| {
            distinct.push(key);
            occurrences.push(0);
            distinct.len() - 1
        });
        occurrences[i] += 1;
        nth.push((i, occurrences[i]));
    }
    let mut firing = vec![0u64; distinct.len()];
    for start in (0..distinct.len()).step_by(KEYS_PER_CALL) {
        let end = (start + KEYS_PER_CALL).min(distinct.len());
        let mut call = COUNT.prepare_invoke();
        for key in &distinct[start..end] {
            call.key(*key);
        }
        for key in &distinct[start..end] {
            call.key(format!("{key}:triggered"));
        }
        call.arg(threshold).arg(expiry_secs);
        for n in &occurrences[start..end] {
            call.arg(*n);
        }
        let fired: Vec<u64> = call.invoke_async(conn).await?;
        firing[start..end].copy_from_slice(&fired);
    }
    Ok(nth.into_iter().map(|(i, n)| firing[i] == n).collect())
}
