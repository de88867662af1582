//! The coalescing writer: every accepted event, from every request and syslog connection,
//! goes to Redis through here.
//!
//! Callers hand over their events and wait. The writer takes whatever has queued up since
//! its last write (no artificial delay: under load, events accumulate while earlier writes
//! are in flight) and sends it as one `MULTI`: one `LPUSH` of all events plus v2.5's
//! `mutt:metrics:{1m,1h,24h}` counters. A caller is answered only after Redis acknowledged
//! the write that holds its events, so "queued" always means "in Redis".

use crate::metrics::IngestMetrics;
use redis::aio::ConnectionManager;
use shared::keys::RedisKeys;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Most events in one write.
const MAX_BATCH_EVENTS: usize = 5_000;
/// Writes in flight at once on the multiplexed connection.
const MAX_IN_FLIGHT: usize = 4;
/// A write that takes longer fails (the caller answers 503), so Redis trouble never hangs
/// a sender.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("redis refused the write: {0}")]
    Redis(String),
    #[error("redis did not answer within {WRITE_TIMEOUT:?}")]
    Timeout,
    #[error("the writer has stopped")]
    Stopped,
}

struct Job {
    payloads: Vec<String>,
    reply: oneshot::Sender<Result<(), WriteError>>,
}

/// A handle for submitting events; clone it freely.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on the current runtime. It ends once every handle is dropped
    /// and the writes in flight are answered.
    pub fn spawn(
        conn: ConnectionManager,
        keys: RedisKeys,
        metrics: IngestMetrics,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(8_192);
        let task = tokio::spawn(run(rx, conn, Arc::new(keys), metrics));
        (Self { tx }, task)
    }

    /// Queues `payloads` (serialized events) and returns once Redis holds them.
    pub async fn push(&self, payloads: Vec<String>) -> Result<(), WriteError> {
        if payloads.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { payloads, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        answer.await.map_err(|_| WriteError::Stopped)?
    }
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    conn: ConnectionManager,
    keys: Arc<RedisKeys>,
    metrics: IngestMetrics,
) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        // Waiting for a free slot is what lets the next batch grow under load.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let mut count = first.payloads.len();
        let mut jobs = vec![first];
        while count < MAX_BATCH_EVENTS {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.payloads.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let (mut conn, keys, metrics) = (conn.clone(), keys.clone(), metrics.clone());
        tokio::spawn(async move {
            metrics.write_batch_events.observe(count as f64);
            let result = write(&mut conn, &keys, &jobs).await;
            if result.is_ok() {
                metrics.events_queued.inc_by(count as u64);
            }
            for job in jobs {
                let _ = job.reply.send(result.clone());
            }
            drop(slot);
        });
    }
    // Every handle is gone: wait for the writes still in flight.
    let _ = slots.acquire_many(MAX_IN_FLIGHT as u32).await;
}

async fn write(
    conn: &mut ConnectionManager,
    keys: &RedisKeys,
    jobs: &[Job],
) -> Result<(), WriteError> {
    let count: usize = jobs.iter().map(|j| j.payloads.len()).sum();
    let mut pipe = redis::pipe();
    pipe.atomic();
    let push = pipe.cmd("LPUSH").arg(&keys.ingest_queue);
    for payload in jobs.iter().flat_map(|j| &j.payloads) {
        push.arg(payload.as_bytes());
    }
    push.ignore();
    for (key, ttl) in keys.ingest_counters(chrono::Utc::now()) {
        pipe.cmd("INCRBY").arg(&key).arg(count).ignore();
        pipe.cmd("EXPIRE").arg(&key).arg(ttl).arg("NX").ignore();
    }
    match tokio::time::timeout(WRITE_TIMEOUT, pipe.query_async::<()>(conn)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(WriteError::Redis(e.to_string())),
        Err(_) => Err(WriteError::Timeout),
    }
}
