//! What a worker holds, so that it can find what it does not.
//!
//! A take whose reply is lost (Redis restarted or the connection broke while `BLMOVE` or
//! `LMOVE` was under way) leaves an item in the worker's processing list that the worker
//! never saw. The janitor leaves a live worker's list alone, so without this the item would
//! wait for the worker's next start. Each worker records the items it holds in an
//! [`InFlight`] and periodically returns the others to the source queue
//! ([`crate::queue::ReliableQueue::return_orphans`]): only items seen unheld on two
//! consecutive passes, so that an item taken just before a pass, not yet recorded, is left
//! alone.

use crate::queue::Item;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The items a worker holds (taken and not yet acked, requeued or dead-lettered), counted
/// by their bytes. Cloning shares it.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<HashMap<Item, usize>>>);

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, HashMap<Item, usize>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn hold<'a>(&self, items: impl IntoIterator<Item = &'a Item>) {
        let mut held = self.lock();
        for item in items {
            *held.entry(item.clone()).or_default() += 1;
        }
    }

    pub fn release<'a>(&self, items: impl IntoIterator<Item = &'a [u8]>) {
        let mut held = self.lock();
        for item in items {
            if let Some(n) = held.get_mut(item) {
                *n -= 1;
                if *n == 0 {
                    held.remove(item);
                }
            }
        }
    }

    pub fn holds(&self, item: &[u8]) -> bool {
        self.lock().contains_key(item)
    }

    pub fn len(&self) -> usize {
        self.lock().values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// Runs [`crate::queue::ReliableQueue::return_orphans`] every `every` until `stop`.
pub async fn return_orphans_periodically(
    queue: crate::queue::ReliableQueue,
    mut redis: crate::redis::RedisConn,
    in_flight: InFlight,
    every: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut suspects = std::collections::HashSet::new();
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = queue
            .return_orphans(&mut redis, &in_flight, &mut suspects)
            .await
        {
            tracing::debug!(error = %error, "cannot check the processing list for orphans");
        }
    }
}
