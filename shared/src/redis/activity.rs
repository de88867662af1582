//! Per-minute activity counters for the dashboard's charts (`mutt:metrics:<kind>:1m:<UTC
//! minute>`, kept 2 hours): events audited (alerters), alerts delivered to Moog and alerts
//! folded by storm control (forwarders), ingest requests refused (ingestors). v2.5's own
//! per-minute counter of accepted events is `RedisKeys::ingest_counters`.
//!
//! Statistics, not data: each process adds up in memory and writes once a second, one
//! `INCRBY` and one `EXPIRE` per kind and minute that moved, so the Redis cost per event is
//! nothing at any load. A crash loses at most a second of counts; a write that fails is
//! kept for the next one.

use super::RedisConn;
use super::flush::Flush;
use super::keys::RedisKeys;
use chrono::{DateTime, Duration, DurationRound, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How long a minute's counter is kept.
pub const KEPT_SECONDS: i64 = 7_200;

/// What is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Activity {
    /// Audit rows written by the alerters.
    Audited,
    /// Alerts Moog accepted.
    Delivered,
    /// Alerts folded into another by storm control (`MOOG_COALESCE_WINDOW`).
    Coalesced,
    /// Ingest requests answered with a 4xx (bad input, key, rate limit, queue full).
    Rejected,
}

impl Activity {
    pub const ALL: [Activity; 4] = [
        Activity::Audited,
        Activity::Delivered,
        Activity::Coalesced,
        Activity::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Audited => "audited",
            Activity::Delivered => "delivered",
            Activity::Coalesced => "coalesced",
            Activity::Rejected => "rejected",
        }
    }
}

fn minute(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::minutes(1)).unwrap_or(at)
}

/// Per kind and minute: counts not yet written.
type Pending = BTreeMap<(Activity, DateTime<Utc>), u64>;

/// Counts not yet written; cloning shares them.
#[derive(Clone, Default)]
pub struct ActivityCounts(Arc<Mutex<Pending>>);

impl ActivityCounts {
    /// Counts `n` of `kind` now.
    pub fn add(&self, kind: Activity, n: u64) {
        if n == 0 {
            return;
        }
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *pending.entry((kind, minute(Utc::now()))).or_default() += n;
    }
}

impl Flush for ActivityCounts {
    /// Writes what has piled up in one pipeline; on failure keeps it for the next try.
    async fn flush(&self, redis: &mut RedisConn, keys: &RedisKeys) {
        let taken = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for ((kind, at), n) in &taken {
            let key = keys.activity(kind.as_str(), *at);
            pipe.incr(&key, *n).ignore();
            pipe.expire(&key, KEPT_SECONDS).ignore();
        }
        if let Err(error) = pipe.query_async::<()>(redis).await {
            tracing::warn!(error = %error, "cannot write the dashboard's activity counts, will try again");
            let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
            for (key, n) in taken {
                *pending.entry(key).or_default() += n;
            }
        }
    }
}

/// The counts of the 60 complete minutes before `now`, oldest first, per kind.
pub async fn last_hour(
    redis: &mut RedisConn,
    keys: &RedisKeys,
    now: DateTime<Utc>,
) -> redis::RedisResult<BTreeMap<Activity, Vec<u64>>> {
    let minutes: Vec<DateTime<Utc>> = (1..=60)
        .rev()
        .map(|i| minute(now) - Duration::minutes(i))
        .collect();
    let mut pipe = redis::pipe();
    for kind in Activity::ALL {
        let names: Vec<String> = minutes
            .iter()
            .map(|m| keys.activity(kind.as_str(), *m))
            .collect();
        pipe.cmd("MGET").arg(names);
    }
    let answers: Vec<Vec<Option<u64>>> = pipe.query_async(redis).await?;
    Ok(Activity::ALL
        .into_iter()
        .zip(answers)
        .map(|(kind, counts)| {
            (
                kind,
                counts.into_iter().map(Option::unwrap_or_default).collect(),
            )
        })
        .collect())
}
