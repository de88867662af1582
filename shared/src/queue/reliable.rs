//! Push, take, acknowledge, requeue and dead-letter: the operations of one worker on one
//! source queue and its own processing list.
//!
//! Redis is the one part every worker shares, so each operation costs Redis a number of
//! commands that follows the items it moves, never the batch size asked for (issue #14):
//! - `take_batch`: a blocking `BLMOVE` for the first item, then, once one came, one script
//!   that moves what else is waiting, up to the batch size, with one `LRANGE`, one `LTRIM`
//!   and one `LPUSH`. An idle worker costs one `BLMOVE` per timeout; a batch of 500 costs
//!   five commands, not 500 `LMOVE`s (most of which found nothing below saturation).
//! - `ack`: one `LREM` per item for a handful, else one script that cuts the acked items out
//!   of the processing list's tail (where the oldest taken items sit) with one `LRANGE`, one
//!   `LTRIM` and one `RPUSH` of what it keeps.
//! - requeue and dead-letter: one `MULTI`/`EXEC` each.
//!
//! The wire stays v2.5's: a processing list per worker filled at its left from the source
//! queue's right, so a v2.5 consumer (`BRPOPLPUSH`) can share the queue.

use super::{Failure, Item, QueueError, dead_letter_payload};
use crate::redis::keys::{RedisKeys, WorkerRole};
use crate::redis::settings::Replication;
use chrono::Utc;
use redis::aio::ConnectionLike;
use serde_json::Value;
use std::time::Duration;

/// `LPUSH`es `items` onto `queue` in one command, so a batch costs one round trip. Items
/// are consumed from the other end, in the order given. Returns the queue's length after
/// the push (`None` when there was nothing to push), which Redis tells for free.
pub async fn push_batch<C, I>(
    conn: &mut C,
    queue: &str,
    items: &[I],
) -> Result<Option<u64>, QueueError>
where
    C: ConnectionLike + Send,
    I: AsRef<[u8]>,
{
    if items.is_empty() {
        return Ok(None);
    }
    let mut cmd = redis::cmd("LPUSH");
    cmd.arg(queue);
    for item in items {
        cmd.arg(item.as_ref());
    }
    Ok(Some(cmd.query_async(conn).await?))
}

/// The summed length of `lists` (a queue's shards), in one round trip per node.
pub async fn total_length<C>(conn: &mut C, lists: &[String]) -> redis::RedisResult<u64>
where
    C: ConnectionLike + Send,
{
    let mut pipe = redis::pipe();
    for list in lists {
        pipe.llen(list);
    }
    let lengths: Vec<u64> = pipe.query_async(conn).await?;
    Ok(lengths.iter().sum())
}

/// Items one `LPUSH`/`RPUSH` inside a script carries at most: Lua's `unpack` stops at a few
/// thousand values.
const SCRIPT_CHUNK: &str = "1000";

/// KEYS: source queue, processing list. ARGV: most to move, chunk size. Moves up to that
/// many of the oldest items (the source's right end) onto the processing list's left, as
/// that many `LMOVE … RIGHT LEFT`s would, and returns them newest first (as `LRANGE` lists
/// them).
static TAKE_WAITING: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
        local items = redis.call('LRANGE', KEYS[1], -tonumber(ARGV[1]), -1)
        local n = #items
        if n == 0 then return items end
        redis.call('LTRIM', KEYS[1], 0, -n - 1)
        local chunk = tonumber(ARGV[2])
        local i = n
        while i >= 1 do
            local last = math.max(1, i - chunk + 1)
            local oldest_first = {}
            for k = i, last, -1 do oldest_first[#oldest_first + 1] = items[k] end
            redis.call('LPUSH', KEYS[2], unpack(oldest_first))
            i = last - 1
        end
        return items
        ",
    )
});

/// Moves up to `max` of the oldest items of `source` (its right end) onto the left of
/// `destination`, atomically, as that many `LMOVE … RIGHT LEFT`s would, for a constant
/// number of commands; returns them oldest first.
pub(crate) async fn move_oldest<C>(
    conn: &mut C,
    source: &str,
    destination: &str,
    max: usize,
) -> redis::RedisResult<Vec<Item>>
where
    C: ConnectionLike + Send,
{
    let mut items: Vec<Item> = TAKE_WAITING
        .key(source)
        .key(destination)
        .arg(max)
        .arg(SCRIPT_CHUNK)
        .invoke_async(conn)
        .await?;
    items.reverse();
    Ok(items)
}

/// KEYS: processing list. ARGV: window, chunk size, then the items to remove. Looks for
/// them in the last `window` entries (the oldest taken), cuts that window off and puts back
/// what was not acked, in its order; items not in the window are removed with `LREM`.
/// Returns how many were removed.
static ACK_FROM_TAIL: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
        local wanted, pending = {}, 0
        for i = 3, #ARGV do
            wanted[ARGV[i]] = (wanted[ARGV[i]] or 0) + 1
            pending = pending + 1
        end
        local window = redis.call('LRANGE', KEYS[1], -tonumber(ARGV[1]), -1)
        local keep, removed = {}, 0
        for _, item in ipairs(window) do
            local n = wanted[item]
            if n and n > 0 then
                wanted[item] = n - 1
                removed = removed + 1
            else
                keep[#keep + 1] = item
            end
        end
        if removed > 0 then
            redis.call('LTRIM', KEYS[1], 0, -#window - 1)
            local chunk = tonumber(ARGV[2])
            for first = 1, #keep, chunk do
                redis.call('RPUSH', KEYS[1], unpack(keep, first, math.min(#keep, first + chunk - 1)))
            end
        end
        if removed < pending then
            for item, n in pairs(wanted) do
                for _ = 1, n do removed = removed + redis.call('LREM', KEYS[1], -1, item) end
            end
        end
        return removed
        ",
    )
});

/// Acks of at most this many items are plain `LREM`s: fewer commands than the script.
const ACK_BY_LREM_UP_TO: usize = 3;

/// KEYS: processing list, source queue. ARGV: the item. Moves one copy back, atomically.
static RETURN_ONE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
        if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
            redis.call('RPUSH', KEYS[2], ARGV[1])
            return 1
        end
        return 0
        ",
    )
});

/// One worker's handle on a reliable queue.
#[derive(Clone, Debug)]
pub struct ReliableQueue {
    source: String,
    processing: String,
    dlq: String,
    /// Whether one transaction may move an item from the processing list to the DLQ (not
    /// on a cluster, for a shard other than the DLQs' own).
    dlq_beside: bool,
    /// What a dead letter pushed to the DLQs' node waits for before it is removed here.
    replication: Replication,
    service: &'static str,
}

impl ReliableQueue {
    /// The queue `role` consumes, seen from worker `pod`, on the shard whose keys are
    /// `keys` ([`RedisKeys::shard`]). `service` is written into dead-lettered items as
    /// `failed_service`.
    pub fn new(keys: &RedisKeys, role: WorkerRole, pod: &str, service: &'static str) -> Self {
        let processing = keys.processing_list(role, pod);
        let dlq = keys.dlq(role).to_owned();
        Self {
            source: keys.source_queue(role).to_owned(),
            dlq_beside: keys.same_slot(&processing, &dlq),
            replication: Replication::default(),
            processing,
            dlq,
            service,
        }
    }

    /// With replicas to confirm: a dead letter that goes to another node than this
    /// processing list (a cluster shard other than the DLQs') is removed here only once
    /// `replication.replicas` replicas of that node hold it, so that a failover there
    /// cannot take back a push whose removal here survived.
    pub fn confirmed_by(mut self, replication: Replication) -> Self {
        self.replication = replication;
        self
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn processing_list(&self) -> &str {
        &self.processing
    }

    pub fn dlq(&self) -> &str {
        &self.dlq
    }

    /// Moves up to `max` items into this worker's processing list, oldest first, waiting up
    /// to `block` for the first. Returns an empty batch on timeout.
    ///
    /// `conn` must be a dedicated connection whose response timeout exceeds `block`
    /// (`RedisConnector::blocking`): a shared connection would stall every other user.
    pub async fn take_batch<C>(
        &self,
        conn: &mut C,
        max: usize,
        block: Duration,
    ) -> Result<Vec<Item>, QueueError>
    where
        C: ConnectionLike + Send,
    {
        let first: Option<Item> = redis::cmd("BLMOVE")
            .arg(&self.source)
            .arg(&self.processing)
            .arg("RIGHT")
            .arg("LEFT")
            .arg(block.as_secs_f64())
            .query_async(conn)
            .await?;
        let Some(first) = first else {
            return Ok(Vec::new());
        };
        let mut batch = Vec::with_capacity(max.max(1));
        batch.push(first);
        if max > 1 {
            batch.extend(move_oldest(conn, &self.source, &self.processing, max - 1).await?);
        }
        Ok(batch)
    }

    /// Moves up to `max` of the items waiting now into this worker's processing list,
    /// oldest first, without blocking (one script): what to take once a blocking
    /// [`ReliableQueue::take_batch`] of one has shown that work is there.
    pub async fn take_waiting<C>(&self, conn: &mut C, max: usize) -> Result<Vec<Item>, QueueError>
    where
        C: ConnectionLike + Send,
    {
        if max == 0 {
            return Ok(Vec::new());
        }
        Ok(move_oldest(conn, &self.source, &self.processing, max).await?)
    }

    /// Returns to the source queue (at the consumers' end) the items of this worker's
    /// processing list that `in_flight` does not hold and that were already unheld at the
    /// previous pass (`suspects`, updated here). See `InFlight` for why. Returns how many
    /// went back.
    pub async fn return_orphans<C>(
        &self,
        conn: &mut C,
        in_flight: &crate::queue::InFlight,
        suspects: &mut std::collections::HashSet<Item>,
    ) -> Result<u64, QueueError>
    where
        C: ConnectionLike + Send,
    {
        let listed: Vec<Item> = redis::cmd("LRANGE")
            .arg(&self.processing)
            .arg(0)
            .arg(-1)
            .query_async(conn)
            .await?;
        let unheld: std::collections::HashSet<Item> = listed
            .into_iter()
            .filter(|item| !in_flight.holds(item))
            .collect();
        let mut returned = 0;
        for item in unheld.iter().filter(|item| suspects.contains(*item)) {
            let moved: u64 = RETURN_ONE
                .key(&self.processing)
                .key(&self.source)
                .arg(item.as_slice())
                .invoke_async(conn)
                .await?;
            returned += moved;
        }
        *suspects = unheld
            .into_iter()
            .filter(|item| !suspects.contains(item))
            .collect();
        if returned > 0 {
            tracing::warn!(items = returned, queue = %self.source, "returned items this worker had taken without knowing it");
        }
        Ok(returned)
    }

    /// Removes processed items from the processing list, in one round trip. Items are taken
    /// oldest first onto the list's left, so the ones acked now are usually at its right
    /// end: a few are removed with `LREM … -1` (found from the tail), more with one script
    /// that cuts them out of a window at the tail (see `ACK_FROM_TAIL`), so an ack costs
    /// Redis three or four commands whatever its size.
    pub async fn ack<C, I>(&self, conn: &mut C, items: &[I]) -> Result<(), QueueError>
    where
        C: ConnectionLike + Send,
        I: AsRef<[u8]>,
    {
        if items.is_empty() {
            return Ok(());
        }
        if items.len() <= ACK_BY_LREM_UP_TO {
            let mut pipe = redis::pipe();
            for item in items {
                pipe.cmd("LREM")
                    .arg(&self.processing)
                    .arg(-1)
                    .arg(item.as_ref())
                    .ignore();
            }
            pipe.query_async::<()>(conn).await?;
            return Ok(());
        }
        // Twice the items plus some: room for other batches of this worker (alerter loops
        // share a list; a forwarder acks out of order) without copying a long list.
        let window = items.len() * 2 + 64;
        let mut invocation = ACK_FROM_TAIL.key(&self.processing);
        invocation.arg(window).arg(SCRIPT_CHUNK);
        for item in items {
            invocation.arg(item.as_ref());
        }
        invocation.invoke_async::<u64>(conn).await?;
        Ok(())
    }

    /// Puts `item` back at the far end of the source queue with its retry counter
    /// (`retry_field`, e.g. `_retry_count`) incremented, and removes it from the processing
    /// list, atomically. Returns the new count.
    pub async fn requeue<C>(
        &self,
        conn: &mut C,
        item: &[u8],
        retry_field: &str,
    ) -> Result<u32, QueueError>
    where
        C: ConnectionLike + Send,
    {
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(item) else {
            return Err(QueueError::NotAnObject);
        };
        let count = object.get(retry_field).and_then(Value::as_u64).unwrap_or(0) as u32 + 1;
        object.insert(retry_field.to_owned(), count.into());
        let updated = Value::Object(object).to_string();
        self.replace_in(conn, &self.source, updated.as_bytes(), item)
            .await?;
        Ok(count)
    }

    /// Moves `item` from the processing list to the DLQ with its failure metadata:
    /// atomically where the two share a slot; on a cluster shard whose processing lists do
    /// not share the DLQs' slot, the push first (confirmed by replicas, see
    /// [`ReliableQueue::confirmed_by`]) and the removal after, so that a crash in between
    /// leaves the item in both (it is taken again, and at worst dead-lettered twice), never
    /// in neither. A push the replicas do not confirm in time is an error and the item
    /// stays here, to be dead-lettered again.
    pub async fn dead_letter<C>(
        &self,
        conn: &mut C,
        item: &[u8],
        failure: &Failure,
    ) -> Result<(), QueueError>
    where
        C: ConnectionLike + Send,
    {
        let payload = dead_letter_payload(item, failure, self.service, Utc::now());
        if self.dlq_beside {
            return self
                .replace_in(conn, &self.dlq, payload.as_bytes(), item)
                .await;
        }
        let mut push = redis::pipe();
        push.cmd("LPUSH").arg(&self.dlq).arg(&payload).ignore();
        let wanted = self.replication.replicas;
        if wanted > 0 {
            let timeout_ms = self.replication.timeout.as_millis().max(1) as u64;
            // In one pipeline, so that it goes to the node that took the push.
            push.cmd("WAIT").arg(wanted).arg(timeout_ms);
        }
        let confirmed: Vec<u32> = push.query_async(conn).await?;
        if let Some(&confirmed) = confirmed.first()
            && confirmed < wanted
        {
            return Err(QueueError::NotReplicated { confirmed, wanted });
        }
        redis::cmd("LREM")
            .arg(&self.processing)
            .arg(-1)
            .arg(item)
            .query_async::<()>(conn)
            .await?;
        Ok(())
    }

    /// `LPUSH destination payload` and `LREM processing item` in one `MULTI`/`EXEC`, so
    /// that the item is never in both places or in neither.
    async fn replace_in<C>(
        &self,
        conn: &mut C,
        destination: &str,
        payload: &[u8],
        item: &[u8],
    ) -> Result<(), QueueError>
    where
        C: ConnectionLike + Send,
    {
        redis::pipe()
            .atomic()
            .cmd("LPUSH")
            .arg(destination)
            .arg(payload)
            .ignore()
            .cmd("LREM")
            .arg(&self.processing)
            .arg(-1)
            .arg(item)
            .ignore()
            .query_async::<()>(conn)
            .await?;
        Ok(())
    }

    /// Returns whatever this worker's processing list still holds to the source queue, to
    /// be taken next. Called at start-up (a restart under the same `POD_NAME` would
    /// otherwise strand its previous life's items: v2.5's janitor skipped live heartbeats,
    /// including its own) and after a clean shutdown. Returns how many items moved.
    pub async fn recover_own<C>(&self, conn: &mut C) -> Result<u64, QueueError>
    where
        C: ConnectionLike + Send,
    {
        Ok(super::janitor::return_list(conn, &self.processing, &self.source).await?)
    }

    /// Items currently in this worker's processing list.
    pub async fn processing_depth<C>(&self, conn: &mut C) -> Result<u64, QueueError>
    where
        C: ConnectionLike + Send,
    {
        Ok(redis::cmd("LLEN")
            .arg(&self.processing)
            .query_async(conn)
            .await?)
    }
}
