//! Acknowledging delivered alerts in batches. A delivery that Moog accepted hands its item
//! to [`Acks`]; one task removes everything that has piled up from the processing list in
//! one pipeline and tells the breaker about the success once. Per alert that saves two
//! Redis round trips, which at thousands of alerts a second is most of Redis's and the
//! forwarder's work.
//!
//! An alert acked a few milliseconds late is still safe: until the ack it sits in the
//! processing list, and a crash returns it to the queue (delivered twice, de-duplicable
//! by `external_id`), never drops it.

use crate::deliver::{Courier, REDIS_RETRY};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Most items removed in one pipeline.
const MAX_BATCH: usize = 512;
/// After shutdown, how many failed attempts before the rest is left to the janitor.
const ATTEMPTS_AFTER_SHUTDOWN: u32 = 3;

/// Where deliveries put what Moog accepted. Cloning shares the channel.
#[derive(Clone)]
pub struct Acks(mpsc::UnboundedSender<Vec<u8>>);

impl Acks {
    pub fn delivered(&self, item: Vec<u8>) {
        // The receiver lives until every delivery has finished (see `run`).
        let _ = self.0.send(item);
    }
}

pub fn channel() -> (Acks, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Acks(tx), rx)
}

/// Acks until `deliveries_done` is cancelled and nothing is left.
pub async fn run(
    courier: Arc<Courier>,
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
                flush(&courier, &mut batch, &deliveries_done).await;
                return;
            }
        }
        flush(&courier, &mut batch, &deliveries_done).await;
    }
}

async fn flush(courier: &Courier, batch: &mut Vec<Vec<u8>>, deliveries_done: &CancellationToken) {
    if batch.is_empty() {
        return;
    }
    let mut redis = courier.redis.clone();
    let mut failures = 0;
    loop {
        match courier.queue.ack(&mut redis, batch).await {
            Ok(()) => {
                courier
                    .in_flight
                    .release(batch.iter().map(|i| i.as_slice()));
                break;
            }
            Err(error) => {
                failures += 1;
                tracing::warn!(error = %error, items = batch.len(), "acknowledging failed, retrying");
                if deliveries_done.is_cancelled() && failures >= ATTEMPTS_AFTER_SHUTDOWN {
                    tracing::warn!(
                        items = batch.len(),
                        "leaving delivered alerts in the processing list; they will be sent again"
                    );
                    batch.clear();
                    return;
                }
                tokio::time::sleep(REDIS_RETRY).await;
            }
        }
    }
    batch.clear();
    if let Some(breaker) = &courier.breaker {
        // Moog answered; a lost success note at worst leaves a failure count standing.
        courier.note(breaker.record_success(&mut redis).await.ok().flatten());
    }
}
