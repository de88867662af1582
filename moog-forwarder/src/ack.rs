//! Acknowledging delivered alerts in batches. A delivery that Moog accepted hands its item
//! to [`Acks`]; one task removes everything that has piled up from the processing list in
//! one pipeline and tells the breaker about the success once. Per alert that saves two
//! Redis round trips, which at thousands of alerts a second is most of Redis's and the
//! forwarder's work.
//!
//! An alert acked a few milliseconds late is still safe: until the ack it sits in the
//! processing list, and a crash returns it to the queue (delivered twice, de-duplicable
//! by `external_id`), never drops it.

use crate::REDIS_RETRY;
use crate::breaker::CircuitBreaker;
use crate::metrics::ForwarderMetrics;
use shared::process::retry::{Backoff, until_ok};
use shared::queue::{InFlight, ReliableQueue};
use shared::redis::RedisConn;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Most items removed in one pipeline.
const MAX_BATCH: usize = 512;
/// After shutdown, how many more attempts before the rest is left to the janitor.
const RETRIES_AFTER_SHUTDOWN: u32 = 2;

/// Where deliveries put what Moog accepted. Cloning shares the channel.
#[derive(Clone)]
pub struct Acks(mpsc::UnboundedSender<Vec<u8>>);

impl Acks {
    pub fn delivered(&self, item: Vec<u8>) {
        // The receiver lives until every delivery has finished (see `Acker::run`).
        let _ = self.0.send(item);
    }
}

pub fn channel() -> (Acks, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Acks(tx), rx)
}

/// What acknowledging needs.
pub struct Acker {
    pub queue: ReliableQueue,
    pub in_flight: InFlight,
    pub redis: RedisConn,
    pub breaker: Option<CircuitBreaker>,
    pub metrics: ForwarderMetrics,
}

impl Acker {
    /// Acks until `deliveries_done` is cancelled and nothing is left.
    pub async fn run(
        self,
        mut delivered: mpsc::UnboundedReceiver<Vec<u8>>,
        deliveries_done: CancellationToken,
    ) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            tokio::select! {
                biased;
                n = delivered.recv_many(&mut batch, MAX_BATCH) => {
                    if n == 0 {
                        return;
                    }
                }
                _ = deliveries_done.cancelled() => {
                    while let Ok(item) = delivered.try_recv() {
                        batch.push(item);
                    }
                    self.flush(&mut batch, &deliveries_done).await;
                    return;
                }
            }
            self.flush(&mut batch, &deliveries_done).await;
        }
    }

    async fn flush(&self, batch: &mut Vec<Vec<u8>>, deliveries_done: &CancellationToken) {
        if batch.is_empty() {
            return;
        }
        let ack = || {
            let (mut redis, batch) = (self.redis.clone(), &*batch);
            async move { self.queue.ack(&mut redis, batch).await }
        };
        let mut acked = until_ok(
            "acknowledging",
            Backoff::constant(REDIS_RETRY),
            deliveries_done,
            ack,
        )
        .await;
        if acked.is_none() {
            // Shutting down: a few more tries, then leave them to be sent again.
            let last_tries = Backoff::constant(REDIS_RETRY).at_most(RETRIES_AFTER_SHUTDOWN);
            acked = until_ok("acknowledging", last_tries, &CancellationToken::new(), ack).await;
        }
        if acked.is_none() {
            tracing::warn!(
                items = batch.len(),
                "leaving delivered alerts in the processing list; they will be sent again"
            );
            batch.clear();
            return;
        }
        self.in_flight.release(batch.iter().map(|i| i.as_slice()));
        batch.clear();
        if let Some(breaker) = &self.breaker {
            // Moog answered; a lost success note at worst leaves a failure count standing.
            let transition = breaker
                .record_success(&mut self.redis.clone())
                .await
                .ok()
                .flatten();
            self.metrics.breaker_changed(transition);
        }
    }
}
