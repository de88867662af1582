//! Push, take, acknowledge, requeue and dead-letter: the operations of one worker on one
//! source queue and its own processing list.
//!
//! Every operation is one round trip, whatever the batch size: `take_batch` is a blocking
//! `BLMOVE` for the first item and one pipeline of `LMOVE`s for the rest, `ack` one
//! pipeline of `LREM`s, requeue and dead-letter one `MULTI`/`EXEC` each.

use super::{Failure, Item, QueueError, dead_letter_payload};
use crate::keys::{RedisKeys, WorkerRole};
use chrono::Utc;
use redis::aio::ConnectionLike;
use serde_json::Value;
use std::time::Duration;

/// `LPUSH`es `items` onto `queue` in one command, so a batch costs one round trip. Items
/// are consumed from the other end, in the order given.
pub async fn push_batch<C, I>(conn: &mut C, queue: &str, items: &[I]) -> Result<(), QueueError>
where
    C: ConnectionLike + Send,
    I: AsRef<[u8]>,
{
    if items.is_empty() {
        return Ok(());
    }
    let mut cmd = redis::cmd("LPUSH");
    cmd.arg(queue);
    for item in items {
        cmd.arg(item.as_ref());
    }
    cmd.query_async::<()>(conn).await?;
    Ok(())
}

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
    service: &'static str,
}

impl ReliableQueue {
    /// The queue `role` consumes, seen from worker `pod`. `service` is written into
    /// dead-lettered items as `failed_service`.
    pub fn new(keys: &RedisKeys, role: WorkerRole, pod: &str, service: &'static str) -> Self {
        Self {
            source: keys.source_queue(role).to_owned(),
            processing: keys.processing_list(role, pod),
            dlq: keys.dlq(role).to_owned(),
            service,
        }
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
            let mut pipe = redis::pipe();
            for _ in 1..max {
                pipe.cmd("LMOVE")
                    .arg(&self.source)
                    .arg(&self.processing)
                    .arg("RIGHT")
                    .arg("LEFT");
            }
            let rest: Vec<Option<Item>> = pipe.query_async(conn).await?;
            // Not `map_while`: a pipeline is not atomic, so a producer's LPUSH can land between
            // two LMOVEs and a later one succeed after an earlier one found the queue empty.
            // Every item moved is in our processing list and must be in the batch.
            batch.extend(rest.into_iter().flatten());
        }
        Ok(batch)
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

    /// Removes processed items from the processing list, in one round trip. Items acked in
    /// the order they were taken are found at the list's tail, so each removal is O(1).
    pub async fn ack<C, I>(&self, conn: &mut C, items: &[I]) -> Result<(), QueueError>
    where
        C: ConnectionLike + Send,
        I: AsRef<[u8]>,
    {
        if items.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for item in items {
            pipe.cmd("LREM")
                .arg(&self.processing)
                .arg(-1)
                .arg(item.as_ref())
                .ignore();
        }
        pipe.query_async::<()>(conn).await?;
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

    /// Moves `item` from the processing list to the DLQ with its failure metadata,
    /// atomically.
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
        self.replace_in(conn, &self.dlq, payload.as_bytes(), item)
            .await
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
