//! The janitor: returns the processing lists of dead workers to their source queue.
//!
//! One janitor sweeps one queue shard: its `SCAN` goes to the node that holds the shard's
//! slot (on a cluster, a `SCAN` sees only the keys of the node it reaches).
//!
//! It runs periodically in every worker (v2.5 ran it only at start-up, so orphans waited
//! for the next restart). For each processing list of its role whose owner's heartbeat has
//! expired, one Lua script checks the heartbeat and moves the whole list back, atomically:
//! a worker that beats again between the check and the move cannot lose items, and two
//! janitors sweeping the same list cannot both move an item.

use crate::redis::RedisConn;
use crate::redis::keys::{RedisKeys, WorkerRole};
use redis::aio::ConnectionLike;
use std::sync::LazyLock;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Moves all of KEYS[1] to the consumers' end of KEYS[2] with one `LRANGE`, one `DEL` and
/// an `RPUSH` per thousand items (not an `LMOVE` per item): the newest-taken item goes
/// first, so the oldest ends up taken next. ARGV[1]: chunk size.
const MOVE_ALL: &str = r"
    local items = redis.call('LRANGE', KEYS[1], 0, -1)
    if #items == 0 then return 0 end
    redis.call('DEL', KEYS[1])
    local chunk = tonumber(ARGV[1])
    for first = 1, #items, chunk do
        redis.call('RPUSH', KEYS[2], unpack(items, first, math.min(#items, first + chunk - 1)))
    end
    return #items
";

/// KEYS: processing list, source queue, owner's heartbeat. ARGV: chunk size. Returns -1
/// when the owner is alive, else the number of items moved.
static RETURN_IF_DEAD: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(&format!(
        "if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end\n{MOVE_ALL}"
    ))
});

/// KEYS: list, destination. ARGV: chunk size. Moves everything unconditionally (a worker's
/// own list).
static RETURN_ALL: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(MOVE_ALL));

/// Items per `RPUSH` inside the scripts (Lua's `unpack` has a limit).
const CHUNK: usize = 1000;

pub(crate) async fn return_list<C: ConnectionLike + Send>(
    conn: &mut C,
    list: &str,
    destination: &str,
) -> redis::RedisResult<u64> {
    RETURN_ALL
        .key(list)
        .key(destination)
        .arg(CHUNK)
        .invoke_async(conn)
        .await
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Processing lists of other workers that were looked at.
    pub lists_checked: usize,
    /// Lists whose owner was dead and whose items were returned.
    pub lists_recovered: usize,
    pub items_returned: u64,
}

/// Sweeps the processing lists of one role on one queue shard.
#[derive(Clone, Debug)]
pub struct Janitor {
    keys: RedisKeys,
    role: WorkerRole,
    own_list: String,
}

impl Janitor {
    /// `keys` are the shard's ([`RedisKeys::shard`]).
    pub fn new(keys: &RedisKeys, role: WorkerRole, own_pod: &str) -> Self {
        Self {
            keys: keys.clone(),
            role,
            own_list: keys.processing_list(role, own_pod),
        }
    }

    /// One pass over every `<processing prefix>:*` list but this worker's own.
    pub async fn sweep(&self, conn: &mut RedisConn) -> redis::RedisResult<SweepReport> {
        let prefix = format!("{}:", self.keys.processing_prefix(self.role));
        let pattern = format!("{prefix}*");
        let mut report = SweepReport::default();
        let mut cursor: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .arg("TYPE")
                .arg("list");
            let (next, lists): (u64, Vec<String>) = conn
                .query_beside(self.keys.source_queue(self.role), &scan)
                .await?;
            for list in lists.iter().filter(|l| **l != self.own_list) {
                let Some(pod) = list.strip_prefix(&prefix) else {
                    continue;
                };
                report.lists_checked += 1;
                let moved: i64 = RETURN_IF_DEAD
                    .key(list)
                    .key(self.keys.source_queue(self.role))
                    .key(self.keys.heartbeat(self.role, pod))
                    .arg(CHUNK)
                    .invoke_async(conn)
                    .await?;
                if moved > 0 {
                    report.lists_recovered += 1;
                    report.items_returned += moved as u64;
                    tracing::warn!(queue = %list, worker_id = %pod, items = moved, "returned a dead worker's items to the queue");
                }
            }
            if next == 0 {
                return Ok(report);
            }
            cursor = next;
        }
    }

    /// Sweeps every `interval` until `shutdown`. Errors are logged and the next sweep tries
    /// again.
    pub async fn run(self, mut conn: RedisConn, interval: Duration, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.sweep(&mut conn).await {
                tracing::warn!(error = %error, "janitor sweep failed, will retry");
            }
        }
    }
}
