//! Redis Cluster's key slots, and the hash tags that place each queue shard on its own.
//!
//! Redis Cluster runs a script or a transaction only when every key it names is in one
//! slot, and it decides a key's slot from its hash tag (the part between the first `{` and
//! the next `}`) when it has one. So every key of one queue shard carries the shard's tag
//! ([`shard_tags`]). The tags are chosen so that shard *i* of *N* falls in the *i*-th
//! *N*th of the slot range: `redis-cli --cluster create` gives each primary an equal,
//! contiguous range, so with as many shards as primaries each primary holds one shard.
//! A resharded cluster may put two shards on one primary; they stay correct, only less
//! spread.

/// Slots in a Redis Cluster (the cluster specification's constant).
pub const SLOTS: u16 = 16_384;

/// The slot of `key`, as the Redis Cluster specification defines it: CRC16 (XMODEM) of the
/// hash tag when the key has a non-empty one, else of the whole key, modulo 16384.
pub fn slot(key: &[u8]) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(hash_tag(key).unwrap_or(key)) % SLOTS
}

/// The part of `key` between the first `{` and the first `}` after it, if not empty.
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let close = key[open + 1..].iter().position(|&b| b == b'}')?;
    (close > 0).then(|| &key[open + 1..open + 1 + close])
}

/// One hash tag per shard (`s0.3`, `s1.0`, …), the *i*-th in the *i*-th *N*th of the slots.
pub fn shard_tags(shards: usize) -> Vec<String> {
    let shards = shards.max(1);
    (0..shards)
        .map(|shard| {
            (0u32..)
                .map(|n| format!("s{shard}.{n}"))
                .find(|tag| {
                    usize::from(slot(tag.as_bytes())) * shards / usize::from(SLOTS) == shard
                })
                .expect("some tag falls in every range")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_the_cluster_specification() {
        // Values from the specification and from `CLUSTER KEYSLOT` on Redis 7.
        assert_eq!(slot(b"123456789"), 0x31C3 % SLOTS);
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(slot(b"foo{}{bar}"), slot(b"foo{}{bar}"));
        assert_ne!(slot(b"foo{}{bar}"), slot(b"bar"));
        assert_eq!(slot(b"foo{{bar}}zap"), slot(b"{bar"));
    }

    #[test]
    fn shard_tags_spread_over_equal_ranges_of_slots() {
        for shards in 1..=8 {
            let tags = shard_tags(shards);
            assert_eq!(tags.len(), shards);
            for (i, tag) in tags.iter().enumerate() {
                let range = usize::from(slot(tag.as_bytes())) * shards / usize::from(SLOTS);
                assert_eq!(range, i, "{tag} of {shards}");
            }
        }
    }
}
