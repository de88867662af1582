//! Every Redis key mutt-rs reads or writes, derived in one place from one prefix.
//!
//! The defaults are MUTT v2.5's \[WIRE\] names (`mutt:ingest_queue`, …) so that Python and
//! Rust services can share one Redis during a migration. Tests isolate themselves by
//! building `RedisKeys::new("t-<uuid>")`: every key, script argument and SCAN pattern then
//! lives under that prefix.

use super::slots;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The two kinds of worker that own processing lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkerRole {
    Alerter,
    Moog,
}

impl WorkerRole {
    /// The role's segment in v2.5's key names (`mutt:processing:moog:<pod>`).
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerRole::Alerter => "alerter",
            WorkerRole::Moog => "moog",
        }
    }
}

/// Names of every Redis key. Fields are the names v2.5 let operators override one by one
/// (`INGEST_QUEUE_NAME`, …); methods derive the per-pod and per-time keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisKeys {
    pub prefix: String,
    pub ingest_queue: String,
    pub alert_queue: String,
    pub alerter_processing_prefix: String,
    pub moog_processing_prefix: String,
    pub alerter_heartbeat_prefix: String,
    pub moog_heartbeat_prefix: String,
    pub alerter_dlq: String,
    pub moog_dlq: String,
    pub dead_letter_queue: String,
    /// Where a DLQ replay holds the chunk it is moving, so that a crash loses none of it.
    pub dlq_replaying: String,
    pub unhandled_prefix: String,
    pub metrics_prefix: String,
    pub ingest_rate_limit: String,
    pub moog_rate_limit: String,
    /// Alerts waiting for a delayed retry: a sorted set scored by due time (ms).
    pub moog_retry_queue: String,
    /// Named API keys mirrored from PostgreSQL (`crate::redis::api_key_mirror`): hash → holder.
    pub api_keys: String,
    /// Per-rule match counts (a hash: rule id → events matched), kept by the alerter.
    pub rule_hits: String,
    /// Per-rule time of the last match (a hash: rule id → RFC 3339).
    pub rule_last_match: String,
    /// The last `BACKTEST_SAMPLE_SIZE` events the alerters decoded, newest first.
    pub backtest_sample: String,
    /// `None`: one Redis and one shard, v2.5's names. Otherwise how the queues are sharded
    /// and whether Redis is a cluster (see [`RedisKeys::laid_out`]).
    layout: Option<Arc<Layout>>,
}

/// Sharded queues, or a Redis Cluster.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    /// The names as given, before [`RedisKeys::laid_out`].
    original: RedisKeys,
    /// The names from which each shard's are derived (the shared keys already tagged).
    base: RedisKeys,
    /// One hash tag per shard ([`slots::shard_tags`]).
    tags: Vec<String>,
    cluster: bool,
}

impl RedisKeys {
    /// The v2.5 names under `prefix` (`mutt` gives exactly v2.5's keys).
    pub fn new(prefix: &str) -> Self {
        let k = |rest: &str| format!("{prefix}:{rest}");
        Self {
            prefix: prefix.to_owned(),
            ingest_queue: k("ingest_queue"),
            alert_queue: k("alert_queue"),
            alerter_processing_prefix: k("processing:alerter"),
            moog_processing_prefix: k("processing:moog"),
            alerter_heartbeat_prefix: k("heartbeat:alerter"),
            moog_heartbeat_prefix: k("heartbeat:moog"),
            alerter_dlq: k("dlq:alerter"),
            moog_dlq: k("dlq:moog"),
            dead_letter_queue: k("dlq:dead"),
            dlq_replaying: k("dlq:replaying"),
            unhandled_prefix: k("unhandled"),
            metrics_prefix: k("metrics"),
            ingest_rate_limit: k("rate_limit:ingestor"),
            moog_rate_limit: k("rate_limit:moog"),
            moog_retry_queue: k("retry:moog"),
            api_keys: k("api_keys"),
            rule_hits: k("rule_hits"),
            rule_last_match: k("rule_last_match"),
            backtest_sample: k("backtest_sample"),
            layout: None,
        }
    }

    /// The names for `shards` queue shards, on a Redis Cluster or not. One shard on one
    /// Redis keeps these names as they are (v2.5's). Otherwise each shard's queues,
    /// processing lists, heartbeats and retry set carry the shard's hash tag, so that every
    /// script on them touches one slot; these keys are shard 0's, and [`RedisKeys::shard`]
    /// gives the others. The DLQs live in shard 0's slot, beside the queues they are
    /// replayed into. On a cluster, the keys that scripts and transactions use together
    /// (circuit breaker, unhandled counters, API-key directory) get a tag of their own.
    pub fn laid_out(self, shards: usize, cluster: bool) -> Self {
        let shards = shards.max(1);
        if shards == 1 && !cluster {
            return self;
        }
        let original = self.clone();
        let mut base = self;
        base.layout = None;
        let tags = slots::shard_tags(shards);
        for dlq in [
            &mut base.alerter_dlq,
            &mut base.moog_dlq,
            &mut base.dead_letter_queue,
            &mut base.dlq_replaying,
        ] {
            *dlq = tagged(dlq, &tags[0]);
        }
        if cluster {
            base.unhandled_prefix = tagged(&base.unhandled_prefix, "unhandled");
            base.api_keys = tagged(&base.api_keys, "api_keys");
        }
        let layout = Arc::new(Layout {
            original,
            base,
            tags,
            cluster,
        });
        let mut first = layout.base.with_tag(&layout.tags[0]);
        first.layout = Some(layout);
        first
    }

    /// The same names laid out for `shards` shards, on the same kind of Redis: the layout a
    /// site had before it changed `QUEUE_SHARDS` (see `crate::queue::reshard`).
    pub fn with_shards(&self, shards: usize) -> RedisKeys {
        match &self.layout {
            None => self.clone().laid_out(shards, false),
            Some(layout) => layout.original.clone().laid_out(shards, layout.cluster),
        }
    }

    /// How many queue shards there are (1 without sharding).
    pub fn shard_count(&self) -> usize {
        self.layout.as_ref().map_or(1, |l| l.tags.len())
    }

    /// The names of shard `shard` (taken modulo the shard count).
    pub fn shard(&self, shard: usize) -> RedisKeys {
        let Some(layout) = &self.layout else {
            return self.clone();
        };
        let mut keys = layout
            .base
            .with_tag(&layout.tags[shard % layout.tags.len()]);
        keys.layout = Some(Arc::clone(layout));
        keys
    }

    /// Every shard's names, shard 0 first.
    pub fn shards(&self) -> Vec<RedisKeys> {
        (0..self.shard_count()).map(|i| self.shard(i)).collect()
    }

    /// Whether Redis is a cluster, where a script or transaction must keep to one slot.
    pub fn is_cluster(&self) -> bool {
        self.layout.as_ref().is_some_and(|l| l.cluster)
    }

    /// Whether one script or `MULTI` may name both keys: always on one Redis, and on a
    /// cluster when they share a slot.
    pub fn same_slot(&self, a: &str, b: &str) -> bool {
        !self.is_cluster() || slots::slot(a.as_bytes()) == slots::slot(b.as_bytes())
    }

    /// These (untagged) names with a shard's tag on each per-shard key.
    fn with_tag(&self, tag: &str) -> RedisKeys {
        let mut keys = self.clone();
        for name in [
            &mut keys.ingest_queue,
            &mut keys.alert_queue,
            &mut keys.alerter_processing_prefix,
            &mut keys.moog_processing_prefix,
            &mut keys.alerter_heartbeat_prefix,
            &mut keys.moog_heartbeat_prefix,
            &mut keys.moog_retry_queue,
        ] {
            *name = tagged(name, tag);
        }
        keys
    }

    /// The queue a role consumes from, and where its orphans are returned to.
    pub fn source_queue(&self, role: WorkerRole) -> &str {
        match role {
            WorkerRole::Alerter => &self.ingest_queue,
            WorkerRole::Moog => &self.alert_queue,
        }
    }

    /// The DLQ a role's failures go to.
    pub fn dlq(&self, role: WorkerRole) -> &str {
        match role {
            WorkerRole::Alerter => &self.alerter_dlq,
            WorkerRole::Moog => &self.moog_dlq,
        }
    }

    pub fn processing_prefix(&self, role: WorkerRole) -> &str {
        match role {
            WorkerRole::Alerter => &self.alerter_processing_prefix,
            WorkerRole::Moog => &self.moog_processing_prefix,
        }
    }

    pub fn heartbeat_prefix(&self, role: WorkerRole) -> &str {
        match role {
            WorkerRole::Alerter => &self.alerter_heartbeat_prefix,
            WorkerRole::Moog => &self.moog_heartbeat_prefix,
        }
    }

    /// `mutt:processing:<role>:<pod>`.
    pub fn processing_list(&self, role: WorkerRole, pod: &str) -> String {
        format!("{}:{pod}", self.processing_prefix(role))
    }

    /// `mutt:heartbeat:<role>:<pod>`.
    pub fn heartbeat(&self, role: WorkerRole, pod: &str) -> String {
        format!("{}:{pod}", self.heartbeat_prefix(role))
    }

    /// The three dashboard counters v2.5's ingestor increments per event, with their TTLs.
    pub fn ingest_counters(&self, at: DateTime<Utc>) -> [(String, i64); 3] {
        let p = &self.metrics_prefix;
        [
            (format!("{p}:1m:{}", at.format("%Y-%m-%dT%H:%M")), 7_200),
            (format!("{p}:1h:{}", at.format("%Y-%m-%dT%H")), 172_800),
            (format!("{p}:24h:{}", at.format("%Y-%m-%d")), 2_592_000),
        ]
    }

    /// `mutt:metrics:<kind>:1m:<UTC minute>`: a dashboard activity counter
    /// (`super::activity`).
    pub fn activity(&self, kind: &str, minute: DateTime<Utc>) -> String {
        format!(
            "{}:{kind}:1m:{}",
            self.metrics_prefix,
            minute.format("%Y-%m-%dT%H:%M")
        )
    }

    /// `mutt:dashboard:depths:<UTC minute>`: queue depths and DLQ sizes as a web UI saw
    /// them in that minute, for the dashboard's last-hour chart.
    pub fn dashboard_depths(&self, minute: DateTime<Utc>) -> String {
        format!(
            "{}:dashboard:depths:{}",
            self.prefix,
            minute.format("%Y-%m-%dT%H:%M")
        )
    }

    /// `mutt:config:<key>`: a dynamic-config value.
    pub fn config(&self, key: &str) -> String {
        format!("{}:config:{key}", self.prefix)
    }

    /// `mutt:webui:session:<hash>`: a signed-in web UI user, by the SHA-256 of their
    /// session cookie (so Redis never holds a usable cookie).
    pub fn webui_session(&self, token_hash: &str) -> String {
        format!("{}:webui:session:{token_hash}", self.prefix)
    }

    /// The Pub/Sub channel on which config changes are announced (v2.5 name).
    pub fn config_updates_channel(&self) -> String {
        format!("{}:config:updates", self.prefix)
    }

    /// The Pub/Sub channel on which rule, dev-host and team changes are announced, so that
    /// alerters reload within a second (v2.5 documented this but never built it).
    pub fn rules_changed_channel(&self) -> String {
        format!("{}:config:reload", self.prefix)
    }

    /// `mutt:circuit_breaker:<name>:<field>` (v2.5 names; field is state/failures/open_time).
    /// On a cluster the name is the hash tag (`…:{moogsoft}:state`): one script reads them
    /// together.
    pub fn circuit_breaker(&self, name: &str, field: &str) -> String {
        if self.is_cluster() {
            format!("{}:circuit_breaker:{{{name}}}:{field}", self.prefix)
        } else {
            format!("{}:circuit_breaker:{name}:{field}", self.prefix)
        }
    }

    /// Every key under this prefix, for SCAN patterns in tests and tools.
    pub fn all_pattern(&self) -> String {
        format!("{}:*", self.prefix)
    }
}

/// `name` with the hash tag `tag` appended: `mutt:ingest_queue:{s1.0}`.
fn tagged(name: &str, tag: &str) -> String {
    format!("{name}:{{{tag}}}")
}

impl Default for RedisKeys {
    fn default() -> Self {
        Self::new("mutt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_default_prefix_gives_the_v25_wire_names() {
        let k = RedisKeys::default();
        assert_eq!(k.ingest_queue, "mutt:ingest_queue");
        assert_eq!(k.alert_queue, "mutt:alert_queue");
        assert_eq!(
            k.processing_list(WorkerRole::Alerter, "a-1"),
            "mutt:processing:alerter:a-1"
        );
        assert_eq!(
            k.processing_list(WorkerRole::Moog, "m-1"),
            "mutt:processing:moog:m-1"
        );
        assert_eq!(
            k.heartbeat(WorkerRole::Moog, "m-1"),
            "mutt:heartbeat:moog:m-1"
        );
        assert_eq!(k.dlq(WorkerRole::Alerter), "mutt:dlq:alerter");
        assert_eq!(k.dlq(WorkerRole::Moog), "mutt:dlq:moog");
        assert_eq!(k.dead_letter_queue, "mutt:dlq:dead");
        assert_eq!(k.config("moog_rate_limit"), "mutt:config:moog_rate_limit");
        assert_eq!(k.config_updates_channel(), "mutt:config:updates");
        assert_eq!(k.moog_rate_limit, "mutt:rate_limit:moog");
        assert_eq!(
            k.circuit_breaker("moogsoft", "state"),
            "mutt:circuit_breaker:moogsoft:state"
        );
    }

    #[test]
    fn ingest_counters_use_utc_minute_hour_and_day_with_v25_ttls() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 22, 9, 5, 59)
            .single()
            .expect("valid time");
        let [m, h, d] = RedisKeys::default().ingest_counters(at);
        assert_eq!(m, ("mutt:metrics:1m:2026-11-22T09:05".to_owned(), 7_200));
        assert_eq!(h, ("mutt:metrics:1h:2026-11-22T09".to_owned(), 172_800));
        assert_eq!(d, ("mutt:metrics:24h:2026-11-22".to_owned(), 2_592_000));
    }

    #[test]
    fn one_shard_on_one_redis_keeps_the_v25_names() {
        let keys = RedisKeys::default().laid_out(1, false);
        assert_eq!(keys, RedisKeys::default());
        assert_eq!(keys.shard_count(), 1);
        assert_eq!(keys.shard(0), keys);
    }

    #[test]
    fn each_shard_keeps_the_keys_its_scripts_touch_together_in_one_slot() {
        let keys = RedisKeys::default().laid_out(3, true);
        assert_eq!(keys.shard_count(), 3);
        assert_eq!(keys.shard(0), keys);
        let slot = |k: &str| slots::slot(k.as_bytes());
        let mut seen = std::collections::HashSet::new();
        for shard in keys.shards() {
            let home = slot(&shard.ingest_queue);
            assert!(seen.insert(home), "every shard has a slot of its own");
            for key in [
                shard.alert_queue.clone(),
                shard.processing_list(WorkerRole::Alerter, "a-1"),
                shard.processing_list(WorkerRole::Moog, "m-1"),
                shard.heartbeat(WorkerRole::Alerter, "a-1"),
                shard.heartbeat(WorkerRole::Moog, "m-1"),
                shard.moog_retry_queue.clone(),
            ] {
                assert_eq!(slot(&key), home, "{key}");
            }
            // The DLQs, their replay targets and the holding list stay in shard 0's slot.
            assert_eq!(shard.alerter_dlq, keys.alerter_dlq);
            assert_eq!(slot(&shard.moog_dlq), slot(&keys.ingest_queue));
        }
        assert_eq!(
            keys.shard(1).processing_list(WorkerRole::Alerter, "a-1"),
            format!(
                "mutt:processing:alerter:{{{}}}:a-1",
                slots::shard_tags(3)[1]
            )
        );
        let breaker = ["state", "failures", "open_time", "trial"]
            .map(|field| slot(&keys.circuit_breaker("moogsoft", field)));
        assert!(breaker.iter().all(|s| *s == breaker[0]));
        assert_eq!(
            slot(&format!("{}:staging", keys.api_keys)),
            slot(&keys.api_keys)
        );
        assert!(keys.same_slot(&keys.ingest_queue, &keys.alerter_dlq));
        assert!(!keys.same_slot(&keys.shard(1).ingest_queue, &keys.alerter_dlq));
    }

    #[test]
    fn a_layout_can_be_laid_out_again_for_another_shard_count() {
        let three = RedisKeys::new("site").laid_out(3, true);
        assert_eq!(three.with_shards(3), three);
        let one = three.with_shards(1);
        assert_eq!(one.shard_count(), 1);
        assert!(one.is_cluster());
        assert_eq!(one.with_shards(3), three);
        let plain = RedisKeys::new("site");
        assert_eq!(plain.with_shards(2).with_shards(1), plain);
    }

    #[test]
    fn shards_on_one_redis_are_tagged_but_any_keys_go_together() {
        let keys = RedisKeys::default().laid_out(2, false);
        assert_eq!(keys.shard_count(), 2);
        assert_ne!(keys.shard(1).ingest_queue, keys.ingest_queue);
        assert!(!keys.is_cluster());
        assert!(keys.same_slot(&keys.shard(1).ingest_queue, &keys.alerter_dlq));
        assert_eq!(
            keys.circuit_breaker("m", "state"),
            "mutt:circuit_breaker:m:state"
        );
    }

    #[test]
    fn a_test_prefix_moves_every_key() {
        let k = RedisKeys::new("t-1");
        assert_eq!(k.ingest_queue, "t-1:ingest_queue");
        assert_eq!(k.all_pattern(), "t-1:*");
    }
}
