//! The sample of recent events the web UI's backtest runs draft rules over
//! (`mutt:backtest_sample`, the last `BACKTEST_SAMPLE_SIZE` events, newest first).
//!
//! Statistics, not data, like the rule hits: each alerter keeps the events it decoded in
//! memory (at most the sample's size) and writes them once a second, one `LPUSH` of all of
//! them and one `LTRIM`, so the Redis cost per event is nothing at any load. A crash loses
//! at most a second of the sample; a write that fails is dropped, not retried.

use shared::queue::Item;
use shared::redis::RedisConn;
use shared::redis::flush::Flush;
use shared::redis::keys::RedisKeys;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Events not yet written; cloning shares them.
#[derive(Clone)]
pub struct Sample {
    pending: Arc<Mutex<VecDeque<Item>>>,
    size: usize,
}

impl Sample {
    /// A sample of the last `size` events; 0 keeps none.
    pub fn new(size: usize) -> Self {
        Self {
            pending: Arc::default(),
            size,
        }
    }

    /// Keeps `items` (oldest first) for the next write.
    pub fn record<'a>(&self, items: impl IntoIterator<Item = &'a Item>) {
        if self.size == 0 {
            return;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for item in items {
            if pending.len() == self.size {
                pending.pop_front();
            }
            pending.push_back(item.clone());
        }
    }
}

impl Flush for Sample {
    /// Writes what has piled up: pushed oldest first, so the newest ends at the head.
    async fn flush(&self, redis: &mut RedisConn, keys: &RedisKeys) {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        pipe.cmd("LPUSH")
            .arg(&keys.backtest_sample)
            .arg(Vec::from(taken))
            .ignore()
            .ltrim(&keys.backtest_sample, 0, self.size as isize - 1)
            .ignore();
        if let Err(error) = pipe.query_async::<()>(redis).await {
            tracing::warn!(error = %error, "cannot write the backtest sample; this second of it is dropped");
        }
    }
}
