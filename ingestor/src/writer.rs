//! The coalescing writer: every accepted event, from every request and syslog connection,
//! goes to Redis through here.
//!
//! Callers hand over their events and wait. The writer takes whatever has queued up since
//! its last write (no artificial delay: under load, events accumulate while earlier writes
//! are in flight) and sends it as one `LPUSH` of all events. A caller is answered only
//! after Redis acknowledged the write that holds its events, so "queued" always means "in
//! Redis".
//!
//! With `INGEST_ACK_REPLICAS` = n > 0, "in Redis" means "on n replicas too": the `LPUSH`
//! and a `WAIT n <INGEST_ACK_TIMEOUT_MS>` go in one pipeline on one connection, so the
//! `WAIT` confirms exactly that write (one `WAIT` per coalesced write, not per event). If
//! fewer replicas confirm in time, the callers get [`WriteError::NotReplicated`]: the
//! events are in the primary but not known to survive its loss, so the sender is told to
//! retry, which may queue them twice but never loses them.
//!
//! With `QUEUE_SHARDS` > 1, each coalesced write goes to the next shard's queue in turn:
//! shards fill evenly at any rate, and a write still costs one `LPUSH` (and one `WAIT`,
//! sent to the same node). A write that a shard refuses (its primary failing over, or its
//! replica not confirming) is tried once more on the next shard before the senders are
//! answered 503.
//!
//! v2.5's dashboard counters `mutt:metrics:{1m,1h,24h}:<bucket>` are added up here per
//! bucket (the bucket of the moment the write succeeded) and written once a second, one
//! `INCRBY` and one `EXPIRE … NX` per bucket, instead of six commands around every write:
//! at light load, when a write holds one event, that was most of Redis' work per event.
//! They lag by at most a second; a crash loses at most a second of counts, never events.

use crate::metrics::IngestMetrics;
use shared::redis::RedisConn;
use shared::redis::keys::RedisKeys;
use shared::redis::settings::Replication;
use std::collections::HashMap;
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
/// How often the dashboard counters are written.
const COUNTER_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("redis refused the write: {0}")]
    Redis(String),
    #[error("redis did not answer within {WRITE_TIMEOUT:?}")]
    Timeout,
    #[error("the writer has stopped")]
    Stopped,
    #[error("{confirmed} of {wanted} redis replicas confirmed the write in time")]
    NotReplicated { confirmed: u32, wanted: u32 },
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
        conn: RedisConn,
        keys: RedisKeys,
        replication: Replication,
        metrics: IngestMetrics,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(8_192);
        let task = tokio::spawn(run(rx, conn, Arc::new(keys), replication, metrics));
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

/// Counts per dashboard bucket not yet written; shared by the write tasks and the flusher.
#[derive(Clone, Default)]
struct Counters(Arc<std::sync::Mutex<HashMap<String, (u64, i64)>>>);

impl Counters {
    fn add(&self, keys: &RedisKeys, count: u64) {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (key, ttl) in keys.ingest_counters(chrono::Utc::now()) {
            pending.entry(key).or_insert((0, ttl)).0 += count;
        }
    }

    /// Writes what has piled up; keeps it for the next try when Redis refuses.
    async fn flush(&self, conn: &mut RedisConn) {
        let taken = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for (key, (count, ttl)) in &taken {
            pipe.cmd("INCRBY").arg(key).arg(*count).ignore();
            pipe.cmd("EXPIRE").arg(key).arg(*ttl).arg("NX").ignore();
        }
        if let Err(error) = pipe.query_async::<()>(conn).await {
            tracing::debug!(error = %error, "cannot write the dashboard counters, will retry");
            let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
            for (key, (count, ttl)) in taken {
                pending.entry(key).or_insert((0, ttl)).0 += count;
            }
        }
    }
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    conn: RedisConn,
    keys: Arc<RedisKeys>,
    replication: Replication,
    metrics: IngestMetrics,
) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let counters = Counters::default();
    // Each coalesced write goes to the next queue shard in turn.
    let queues: Vec<Arc<str>> = keys
        .shards()
        .iter()
        .map(|k| k.ingest_queue.as_str().into())
        .collect();
    let mut next_shard = 0usize;
    let mut flush = tokio::time::interval(COUNTER_FLUSH_INTERVAL);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            job = rx.recv() => match job {
                Some(job) => job,
                None => break,
            },
            _ = flush.tick() => {
                counters.flush(&mut conn.clone()).await;
                continue;
            }
        };
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
        // This write's shard, and the next one to try should that one refuse it.
        let queue = queues[next_shard % queues.len()].clone();
        let fallback = (queues.len() > 1).then(|| queues[(next_shard + 1) % queues.len()].clone());
        next_shard = next_shard.wrapping_add(1);
        let (mut conn, keys, metrics, counters) = (
            conn.clone(),
            keys.clone(),
            metrics.clone(),
            counters.clone(),
        );
        tokio::spawn(async move {
            metrics.write_batch_events.observe(count as f64);
            let mut result = write(&mut conn, &queue, replication, &jobs).await;
            if let Err(WriteError::NotReplicated { .. }) = &result {
                metrics.replication_timeouts.inc();
            }
            if let (Err(error), Some(fallback)) = (&result, fallback) {
                // A shard whose primary is failing over (or whose replica lags) should not
                // refuse a third of the site's senders: the events go to the next shard.
                // If the first write did land after all, they are queued twice, never lost.
                tracing::debug!(error = %error, queue = %queue, next = %fallback, "a shard refused a write; trying the next");
                result = write(&mut conn, &fallback, replication, &jobs).await;
                if let Err(WriteError::NotReplicated { .. }) = &result {
                    metrics.replication_timeouts.inc();
                }
            }
            if result.is_ok() {
                metrics.events_queued.inc_by(count as u64);
                counters.add(&keys, count as u64);
            }
            for job in jobs {
                let _ = job.reply.send(result.clone());
            }
            drop(slot);
        });
    }
    // Every handle is gone: wait for the writes still in flight, then count them.
    let _ = slots.acquire_many(MAX_IN_FLIGHT as u32).await;
    counters.flush(&mut conn.clone()).await;
}

/// `LPUSH`es every job's events onto `queue` (and `WAIT`s for replicas) in one round trip.
async fn write(
    conn: &mut RedisConn,
    queue: &str,
    replication: Replication,
    jobs: &[Job],
) -> Result<(), WriteError> {
    let mut pipe = redis::pipe();
    let push = pipe.cmd("LPUSH").arg(queue);
    for payload in jobs.iter().flat_map(|j| &j.payloads) {
        push.arg(payload.as_bytes());
    }
    push.ignore();
    let wanted = replication.replicas;
    let mut limit = WRITE_TIMEOUT;
    if wanted > 0 {
        let wait_ms = replication.timeout.as_millis().max(1) as u64;
        pipe.cmd("WAIT").arg(wanted).arg(wait_ms);
        limit += replication.timeout;
    }
    match tokio::time::timeout(limit, pipe.query_async::<Vec<u32>>(conn)).await {
        Ok(Ok(confirmed)) => match confirmed.first() {
            Some(&confirmed) if confirmed < wanted => {
                Err(WriteError::NotReplicated { confirmed, wanted })
            }
            _ => Ok(()),
        },
        Ok(Err(e)) => Err(WriteError::Redis(e.to_string())),
        Err(_) => Err(WriteError::Timeout),
    }
}
