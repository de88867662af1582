//! The dead-letter queues for operators: list, inspect, replay, purge, expire (used by
//! the web UI, `webui dlq …` and the retention run).
//!
//! Replay puts an item back where it came from (`mutt:dlq:alerter` → the ingest queue,
//! `mutt:dlq:moog` → the alert queue), at the consumers' end so it goes next, with its
//! failure metadata removed, its retry counter reset and `_replay_count` incremented. An
//! item replayed more than `MAX_POISON_RETRIES` times, or one that is not a JSON object,
//! goes to `mutt:dlq:dead` instead, so replay never loops forever. Each item moves
//! through a holding list, so a crash mid-replay loses nothing: the next replay returns
//! whatever it finds there to the DLQ first.

use super::{Failure, dead_letter_payload};
use crate::redis::keys::RedisKeys;
use chrono::Utc;
use redis::aio::ConnectionLike;
use serde_json::{Map, Value};

/// Items replayed per chunk.
pub const REPLAY_CHUNK: u64 = 500;

/// The metadata `dead_letter_payload` adds, removed again on replay.
const METADATA: [&str; 5] = [
    "failed_at",
    "failure_reason",
    "failed_service",
    "attempts",
    "last_http_status",
];

/// The three DLQs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DlqName {
    Alerter,
    Moog,
    Dead,
}

impl DlqName {
    pub const ALL: [Self; 3] = [Self::Alerter, Self::Moog, Self::Dead];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "alerter" => Some(Self::Alerter),
            "moog" => Some(Self::Moog),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alerter => "alerter",
            Self::Moog => "moog",
            Self::Dead => "dead",
        }
    }

    pub fn key(self, keys: &RedisKeys) -> &str {
        match self {
            Self::Alerter => &keys.alerter_dlq,
            Self::Moog => &keys.moog_dlq,
            Self::Dead => &keys.dead_letter_queue,
        }
    }

    /// Where a replayed item goes, and which retry counter it resets.
    fn target(self, keys: &RedisKeys) -> Option<(&str, &'static str)> {
        match self {
            Self::Alerter => Some((&keys.ingest_queue, "_retry_count")),
            Self::Moog => Some((&keys.alert_queue, "_moog_retry_count")),
            Self::Dead => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("the dead-letter queue cannot be replayed; inspect or purge it")]
    NotReplayable,
}

/// What a replay did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub replayed: u64,
    /// Sent to `mutt:dlq:dead` (over the poison cap, or not a JSON object).
    pub dead: u64,
}

/// What [`Dlq::expire`] did (or, in a dry run, would do).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExpiryReport {
    pub expired: u64,
    pub kept_without_failed_at: u64,
}

/// An item's `failed_at` (RFC 3339, as `dead_letter_payload` writes it).
fn failed_at(item: &[u8]) -> Option<chrono::DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    struct Stamp {
        failed_at: String,
    }
    let stamp: Stamp = serde_json::from_slice(item).ok()?;
    chrono::DateTime::parse_from_rfc3339(&stamp.failed_at)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

pub struct Dlq<'k> {
    keys: &'k RedisKeys,
}

impl<'k> Dlq<'k> {
    pub fn new(keys: &'k RedisKeys) -> Self {
        Self { keys }
    }

    fn holding(&self) -> String {
        self.keys.dlq_replaying.clone()
    }

    pub async fn depth<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        name: DlqName,
    ) -> redis::RedisResult<u64> {
        redis::cmd("LLEN")
            .arg(name.key(self.keys))
            .query_async(conn)
            .await
    }

    /// Items oldest first, skipping `offset`, at most `limit`, as JSON.
    pub async fn list<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        name: DlqName,
        offset: u64,
        limit: u64,
    ) -> redis::RedisResult<Vec<Value>> {
        // No list holds i64::MAX items: an offset beyond that lists nothing.
        let (Ok(offset), Ok(limit)) = (i64::try_from(offset), i64::try_from(limit)) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Newest at the head (LPUSH): the oldest are at the tail, index -1.
        let start = -offset.saturating_add(limit);
        let end = -offset - 1;
        let mut items: Vec<String> = redis::cmd("LRANGE")
            .arg(name.key(self.keys))
            .arg(start)
            .arg(end)
            .query_async(conn)
            .await?;
        items.reverse();
        Ok(items
            .iter()
            .map(|i| serde_json::from_str(i).unwrap_or_else(|_| Value::String(i.clone())))
            .collect())
    }

    /// Removes every item; returns how many there were.
    pub async fn purge<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        name: DlqName,
    ) -> redis::RedisResult<u64> {
        let (n, _): (u64, ()) = redis::pipe()
            .atomic()
            .llen(name.key(self.keys))
            .del(name.key(self.keys))
            .query_async(conn)
            .await?;
        Ok(n)
    }

    /// Removes the items whose `failed_at` is before `cutoff` (with `dry_run`, only
    /// counts them). Items without a readable `failed_at` are kept and counted: nobody can
    /// tell how old they are. Reads the list in chunks, so a long DLQ costs memory for one
    /// chunk only; items pushed meanwhile are at worst looked at twice.
    pub async fn expire<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        name: DlqName,
        cutoff: chrono::DateTime<Utc>,
        dry_run: bool,
    ) -> redis::RedisResult<ExpiryReport> {
        const CHUNK: i64 = 500;
        let key = name.key(self.keys);
        let mut report = ExpiryReport::default();
        let mut start = 0i64;
        loop {
            let items: Vec<Vec<u8>> = redis::cmd("LRANGE")
                .arg(key)
                .arg(start)
                .arg(start + CHUNK - 1)
                .query_async(conn)
                .await?;
            let mut expired = Vec::new();
            for item in &items {
                match failed_at(item) {
                    Some(at) if at < cutoff => expired.push(item),
                    Some(_) => {}
                    None => report.kept_without_failed_at += 1,
                }
            }
            let mut removed = 0;
            if dry_run {
                report.expired += expired.len() as u64;
            } else if !expired.is_empty() {
                let mut pipe = redis::pipe();
                for item in &expired {
                    pipe.lrem(key, 1, item.as_slice());
                }
                let counts: Vec<u64> = pipe.query_async(conn).await?;
                removed = counts.iter().sum::<u64>();
                report.expired += removed;
            }
            if (items.len() as i64) < CHUNK {
                return Ok(report);
            }
            start += CHUNK - removed as i64;
        }
    }

    /// Replays up to `count` of the oldest items (all, with `None`), in chunks of
    /// [`REPLAY_CHUNK`]: two round trips and about ten Redis commands a chunk.
    pub async fn replay<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        name: DlqName,
        count: Option<u64>,
        max_poison_retries: u32,
    ) -> Result<ReplayReport, DlqError> {
        let (target, retry_field) = name.target(self.keys).ok_or(DlqError::NotReplayable)?;
        let source = name.key(self.keys);
        let holding = self.holding();
        // A previous replay that died mid-chunk left it here: put it back first.
        crate::queue::return_list(conn, &holding, source).await?;
        let mut report = ReplayReport::default();
        loop {
            let done = report.replayed + report.dead;
            let want = count.map_or(REPLAY_CHUNK, |c| c.saturating_sub(done).min(REPLAY_CHUNK));
            if want == 0 {
                break;
            }
            // The oldest items move into the holding list, so a crash loses none of them.
            let items = crate::queue::move_oldest(conn, source, &holding, want as usize).await?;
            if items.is_empty() {
                break;
            }
            let (mut replayed, mut dead) = (Vec::new(), Vec::new());
            for item in &items {
                match restore(item, retry_field) {
                    Some((object, replays)) if replays <= max_poison_retries => {
                        replayed.push(Value::Object(object).to_string());
                    }
                    restored => {
                        let replays = restored.map_or(0, |(_, r)| r);
                        let failure = Failure::new(
                            format!("replayed {replays} times without success, or not replayable"),
                            replays,
                        );
                        dead.push(dead_letter_payload(
                            item,
                            &failure,
                            "dlq-replay",
                            Utc::now(),
                        ));
                    }
                }
            }
            // Replayed items go to the consumers' end (RPUSH), dead ones to the DLQ's head;
            // the holding list empties in the same transaction.
            let mut pipe = redis::pipe();
            pipe.atomic();
            if !replayed.is_empty() {
                pipe.cmd("RPUSH").arg(target).arg(&replayed).ignore();
            }
            if !dead.is_empty() {
                pipe.cmd("LPUSH")
                    .arg(&self.keys.dead_letter_queue)
                    .arg(&dead)
                    .ignore();
            }
            pipe.del(&holding).ignore();
            pipe.query_async::<()>(conn).await?;
            report.replayed += replayed.len() as u64;
            report.dead += dead.len() as u64;
        }
        Ok(report)
    }
}

/// The original object from a DLQ entry, metadata removed, `retry_field` reset and
/// `_replay_count` incremented; `None` when the entry is not a JSON object or wraps `raw`.
fn restore(item: &[u8], retry_field: &str) -> Option<(Map<String, Value>, u32)> {
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(item) else {
        return None;
    };
    if object.contains_key("raw") && !object.contains_key("hostname") {
        return None;
    }
    for key in METADATA {
        object.remove(key);
    }
    object.remove(retry_field);
    let replays = object
        .get("_replay_count")
        .and_then(Value::as_u64)
        .unwrap_or(0) as u32
        + 1;
    object.insert("_replay_count".into(), replays.into());
    Some((object, replays))
}
