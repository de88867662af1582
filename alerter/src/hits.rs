//! Per-rule hit counts and last-match times for the web UI (`mutt:rule_hits`,
//! `mutt:rule_last_match`). Statistics, not data: each alerter adds up its hits in memory
//! and writes them once a second (one `HINCRBY` and one `HSET` per rule that matched), not
//! per batch, so many alerters taking small batches cost Redis nothing per event. A crash
//! loses at most a second of counts; a clean shutdown writes the rest.

use chrono::{DateTime, SecondsFormat, Utc};
use shared::redis::RedisConn;
use shared::redis::flush::Flush;
use shared::redis::keys::RedisKeys;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Per rule id: hits not yet written, and the latest of their times.
type Pending = BTreeMap<i32, (i64, DateTime<Utc>)>;

/// Hits not yet written; cloning shares them.
#[derive(Clone, Default)]
pub struct RuleHits(Arc<Mutex<Pending>>);

impl RuleHits {
    /// Counts one match of each rule in `rule_ids`, at `at`.
    pub fn record(&self, rule_ids: impl IntoIterator<Item = i32>, at: DateTime<Utc>) {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for rule_id in rule_ids {
            let entry = pending.entry(rule_id).or_insert((0, at));
            entry.0 += 1;
            entry.1 = entry.1.max(at);
        }
    }
}

impl Flush for RuleHits {
    /// Writes what has piled up in one pipeline; on failure keeps it for the next try.
    async fn flush(&self, redis: &mut RedisConn, keys: &RedisKeys) {
        let taken = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for (rule_id, (n, at)) in &taken {
            pipe.hincr(&keys.rule_hits, rule_id, *n).ignore();
            pipe.hset(
                &keys.rule_last_match,
                rule_id,
                at.to_rfc3339_opts(SecondsFormat::Millis, true),
            )
            .ignore();
        }
        if let Err(error) = pipe.query_async::<()>(redis).await {
            tracing::warn!(error = %error, "cannot count rule hits, will try again");
            let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
            for (rule_id, (n, at)) in taken {
                let entry = pending.entry(rule_id).or_insert((0, at));
                entry.0 += n;
                entry.1 = entry.1.max(at);
            }
        }
    }
}
