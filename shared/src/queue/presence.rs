//! A worker's presence in Redis: its heartbeat and its processing list, at the two ends of
//! its life. Arriving writes the first heartbeat and takes back whatever an earlier run under
//! the same `POD_NAME` left listed; leaving returns whatever is still listed to the queue and
//! removes the heartbeat, so nobody waits for it to expire.

use super::{Heartbeat, QueueError, ReliableQueue};
use redis::aio::ConnectionLike;

pub struct Presence<'a> {
    /// The worker's queue on each shard.
    pub queues: &'a [ReliableQueue],
    pub heartbeat: &'a Heartbeat,
}

impl Presence<'_> {
    /// Call before taking any work. Returns how many items an earlier run had left.
    pub async fn arrive<C: ConnectionLike + Send>(&self, conn: &mut C) -> Result<u64, QueueError> {
        self.heartbeat.beat(conn).await?;
        let mut total = 0;
        for queue in self.queues {
            let recovered = queue.recover_own(conn).await?;
            if recovered > 0 {
                tracing::warn!(items = recovered, queue = %queue.processing_list(), "returned items left by this worker's previous run");
            }
            total += recovered;
        }
        Ok(total)
    }

    /// Call once no work is in hand. Failures are logged: the janitor and the heartbeat's
    /// TTL cover for them.
    pub async fn leave<C: ConnectionLike + Send>(&self, conn: &mut C) {
        for queue in self.queues {
            match queue.recover_own(conn).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(items = n, queue = %queue.source(), "returned unfinished items to the queue")
                }
                Err(error) => {
                    tracing::warn!(error = %error, "cannot return unfinished items; the janitor will")
                }
            }
        }
        if let Err(error) = self.heartbeat.stop(conn).await {
            tracing::warn!(error = %error, "cannot remove the heartbeat; it expires by itself");
        }
    }
}
