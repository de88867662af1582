//! Changing `QUEUE_SHARDS` on a running site: what services of the old layout left in its
//! keys is moved into the current layout's.
//!
//! While the services are rolled to the new shard count, each runs one layout or the
//! other: old ingestors write to the old queues and old workers take from them, new ones
//! use the new keys, and nothing is lost meanwhile, only left behind once the last old
//! worker is gone. [`Reshard::run`] then moves every item still in the old layout's queues,
//! retry sets and the processing lists of workers whose heartbeat has expired into the new
//! layout (shard *i* of the old into shard *i* mod *N* of the new); lists of workers that are
//! still alive are left for a later run. It can be run any number of times.
//!
//! The old and new keys of a shard are in different slots on a cluster, where no command
//! or script moves an item between them, so each chunk is copied first and removed from
//! its source after: a crash in between leaves a chunk in both places (its items are
//! processed twice), never in neither.

use crate::redis::RedisConn;
use crate::redis::keys::{RedisKeys, WorkerRole};
use redis::aio::ConnectionLike;

/// Items moved per round trip.
const CHUNK: usize = 500;

/// What one run moved, and what it had to leave.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReshardReport {
    /// Items moved from the old queues and retry sets.
    pub queued: u64,
    /// Items moved from the processing lists of workers that are gone.
    pub held_by_gone_workers: u64,
    /// Processing lists of the old layout whose workers are still alive: run again once
    /// they have stopped.
    pub lists_of_live_workers: Vec<String>,
}

/// From the layout of `old` to that of `new` (the same prefix and names, other shard counts).
pub struct Reshard<'k> {
    pub old: &'k RedisKeys,
    pub new: &'k RedisKeys,
}

impl Reshard<'_> {
    pub async fn run(&self, conn: &mut RedisConn) -> redis::RedisResult<ReshardReport> {
        let mut report = ReshardReport::default();
        if self.old.shard(0) == self.new.shard(0)
            && self.old.shard_count() == self.new.shard_count()
        {
            return Ok(report);
        }
        let (old_first, new_first) = (self.old.shard(0), self.new.shard(0));
        // The DLQs (and a replay's holding list) live with shard 0, whose tag may differ.
        for (from, to) in [
            (&old_first.alerter_dlq, &new_first.alerter_dlq),
            (&old_first.moog_dlq, &new_first.moog_dlq),
            (&old_first.dead_letter_queue, &new_first.dead_letter_queue),
            (&old_first.dlq_replaying, &new_first.dlq_replaying),
        ] {
            report.queued += move_list(conn, from, to).await?;
        }
        let new_shards = self.new.shards();
        for (i, old) in self.old.shards().iter().enumerate() {
            let new = &new_shards[i % new_shards.len()];
            report.queued += move_list(conn, &old.ingest_queue, &new.ingest_queue).await?;
            report.queued += move_list(conn, &old.alert_queue, &new.alert_queue).await?;
            report.queued +=
                move_retries(conn, &old.moog_retry_queue, &new.moog_retry_queue).await?;
            for role in [WorkerRole::Alerter, WorkerRole::Moog] {
                let prefix = format!("{}:", old.processing_prefix(role));
                for list in scan_lists(conn, old.source_queue(role), &prefix).await? {
                    let pod = &list[prefix.len()..];
                    // Pod names hold neither `{` nor `:`: such a list belongs to another
                    // layout (or is a holding list); one named alike in both is the
                    // janitor's.
                    if pod.contains(['{', ':']) || list == new.processing_list(role, pod) {
                        continue;
                    }
                    let alive: bool = redis::cmd("EXISTS")
                        .arg(old.heartbeat(role, pod))
                        .query_async(conn)
                        .await?;
                    if alive {
                        report.lists_of_live_workers.push(list);
                        continue;
                    }
                    report.held_by_gone_workers +=
                        move_list(conn, &list, new.source_queue(role)).await?;
                }
            }
        }
        Ok(report)
    }
}

/// Moves everything in `from` onto `to`, oldest first, a chunk at a time, as producers
/// push (`LPUSH`), so that the items keep their order among themselves. Each chunk is first
/// moved atomically into a holding list beside `from` (same slot), so that producers and
/// consumers may still use `from` meanwhile; then pushed onto `to`; then the holding list
/// is deleted. A holding list left by a crashed run is pushed first.
async fn move_list<C: ConnectionLike + Send>(
    conn: &mut C,
    from: &str,
    to: &str,
) -> redis::RedisResult<u64> {
    if from == to {
        return Ok(0);
    }
    let holding = format!("{from}:resharding");
    let mut moved = 0;
    let left: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg(&holding)
        .arg(0)
        .arg(-1)
        .query_async(conn)
        .await?;
    if !left.is_empty() {
        // Listed newest first: pushed oldest first, so reversed.
        let oldest_first: Vec<Vec<u8>> = left.into_iter().rev().collect();
        moved += hand_over(conn, &holding, to, &oldest_first).await?;
    }
    loop {
        let chunk = super::move_oldest(conn, from, &holding, CHUNK).await?;
        if chunk.is_empty() {
            return Ok(moved);
        }
        moved += hand_over(conn, &holding, to, &chunk).await?;
    }
}

/// `LPUSH to` the held items (oldest first), then deletes the holding list.
async fn hand_over<C: ConnectionLike + Send>(
    conn: &mut C,
    holding: &str,
    to: &str,
    oldest_first: &[Vec<u8>],
) -> redis::RedisResult<u64> {
    redis::cmd("LPUSH")
        .arg(to)
        .arg(oldest_first)
        .query_async::<()>(conn)
        .await?;
    redis::cmd("DEL")
        .arg(holding)
        .query_async::<()>(conn)
        .await?;
    Ok(oldest_first.len() as u64)
}

/// Moves every member of the retry set `from` into `to`, keeping each one's due time.
async fn move_retries<C: ConnectionLike + Send>(
    conn: &mut C,
    from: &str,
    to: &str,
) -> redis::RedisResult<u64> {
    if from == to {
        return Ok(0);
    }
    let mut moved = 0;
    loop {
        let chunk: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
            .arg(from)
            .arg(0)
            .arg(CHUNK as isize - 1)
            .arg("WITHSCORES")
            .query_async(conn)
            .await?;
        if chunk.is_empty() {
            return Ok(moved);
        }
        let mut add = redis::cmd("ZADD");
        add.arg(to);
        let mut remove = redis::cmd("ZREM");
        remove.arg(from);
        for (member, due) in &chunk {
            add.arg(*due).arg(member.as_slice());
            remove.arg(member.as_slice());
        }
        add.query_async::<()>(conn).await?;
        remove.query_async::<()>(conn).await?;
        moved += chunk.len() as u64;
    }
}

/// The lists whose names start with `prefix`, on the node that holds `beside`'s slot.
async fn scan_lists(
    conn: &mut RedisConn,
    beside: &str,
    prefix: &str,
) -> redis::RedisResult<Vec<String>> {
    let mut found = Vec::new();
    let mut cursor = 0u64;
    loop {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .arg("TYPE")
            .arg("list");
        let (next, lists): (u64, Vec<String>) = conn.query_beside(beside, &scan).await?;
        found.extend(lists);
        if next == 0 {
            return Ok(found);
        }
        cursor = next;
    }
}
