//! The reliable queue: at-least-once delivery between services through Redis
//! lists, with nothing lost when a worker dies.
//!
//! Producers `LPUSH`; a worker moves items into its own processing list with `BLMOVE …
//! RIGHT LEFT` and removes them only once their effects are durable. A worker proves it is
//! alive with a heartbeat key; a periodic janitor in every worker returns the processing
//! list of any worker whose heartbeat expired to its source queue, in one Lua script.
//! A message that cannot be processed goes to a DLQ with metadata, never nowhere.

pub mod dead_letter;
mod heartbeat;
mod in_flight;
mod janitor;
mod presence;
mod reliable;
pub mod reshard;

pub use dead_letter::{Failure, dead_letter_payload};
pub use heartbeat::Heartbeat;
pub use in_flight::{InFlight, return_orphans_periodically};
pub(crate) use janitor::return_list;
pub use janitor::{Janitor, SweepReport};
pub use presence::Presence;
pub(crate) use reliable::move_oldest;
pub use reliable::{ReliableQueue, push_batch, total_length};

/// Errors of queue operations. All are transient from the queue's point of view (Redis
/// unreachable or answering errors); the caller retries with backoff.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("redis command failed: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("item is not a JSON object, so it cannot carry a retry counter")]
    NotAnObject,
    #[error("{confirmed} of {wanted} redis replicas confirmed the push in time")]
    NotReplicated { confirmed: u32, wanted: u32 },
}

/// One raw queue item: the exact bytes, so that acknowledging it (`LREM`) matches, even
/// when it is not valid UTF-8.
pub type Item = Vec<u8>;
