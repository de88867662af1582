//! The alerter's metrics: v2.5's names, with the meanings documented here.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use shared::process::metrics::register;
use shared::redis::activity::ActivityCounts;

#[derive(Clone)]
pub struct AlerterMetrics {
    /// Events by outcome: handled, unhandled, poison (dead-lettered), error (requeued).
    pub events_processed: IntCounterVec,
    /// Alerts pushed to the alert queue (handled alerts and meta-alerts).
    pub alerts_forwarded: IntCounter,
    pub unhandled_meta_alerts: IntCounter,
    /// Seconds from taking a batch to acknowledging it.
    pub processing_latency: Histogram,
    pub cache_reload_latency: Histogram,
    pub cache_rules: IntGauge,
    pub cache_dev_hosts: IntGauge,
    pub cache_teams: IntGauge,
    /// Active and upcoming silences in the cache.
    pub cache_silences: IntGauge,
    /// Audit rows per minute, for the dashboard (`shared::redis::activity`).
    pub activity: ActivityCounts,
    /// Milliseconds per batch audit insert.
    pub db_write_latency_ms: Histogram,
    pub cache_reload_failures: IntCounter,
    pub dlq_depth: IntGauge,
    pub processing_list_depth: IntGauge,
    /// Depth of `mutt:alert_queue` (what backpressure watches), as in v2.5.
    pub queue_depth: IntGauge,
    /// Batches deferred by backpressure, `mode` = defer.
    pub shed_events: IntCounterVec,
    pub batch_events: Histogram,
    /// v2.5's remediation metrics, now counted by the alerter's periodic DLQ replay.
    pub remediation_loops: IntCounter,
    pub remediation_replayed: IntCounter,
    pub remediation_poison: IntCounter,
}

impl AlerterMetrics {
    pub fn new(registry: &Registry) -> Self {
        let counter = |name: &str, help: &str| {
            register(
                registry,
                &IntCounter::new(name, help).expect("valid metric"),
            )
        };
        let gauge = |name: &str, help: &str| {
            register(registry, &IntGauge::new(name, help).expect("valid metric"))
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            register(
                registry,
                &Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                    .expect("valid metric"),
            )
        };
        let latency_buckets = vec![
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        Self {
            activity: ActivityCounts::default(),
            events_processed: register(
                registry,
                &IntCounterVec::new(
                    Opts::new("mutt_alerter_events_processed_total", "Events by outcome"),
                    &["status"],
                )
                .expect("valid metric"),
            ),
            alerts_forwarded: counter(
                "mutt_alerter_alerts_forwarded_total",
                "Alerts pushed to the alert queue",
            ),
            unhandled_meta_alerts: counter(
                "mutt_alerter_unhandled_meta_alerts_total",
                "Meta-alerts for repeated unhandled events",
            ),
            processing_latency: histogram(
                "mutt_alerter_processing_latency_seconds",
                "Seconds from take to ack per batch",
                latency_buckets,
            ),
            cache_reload_latency: histogram(
                "mutt_alerter_cache_reload_latency_seconds",
                "Seconds to reload the rule cache",
                prometheus::DEFAULT_BUCKETS.to_vec(),
            ),
            cache_rules: gauge(
                "mutt_alerter_cache_rules_count",
                "Active rules in the cache",
            ),
            cache_dev_hosts: gauge(
                "mutt_alerter_cache_dev_hosts_count",
                "Development hosts in the cache",
            ),
            cache_teams: gauge(
                "mutt_alerter_cache_teams_count",
                "Device teams in the cache",
            ),
            cache_silences: gauge(
                "mutt_alerter_cache_silences_count",
                "Active and upcoming silences in the cache",
            ),
            db_write_latency_ms: histogram(
                "mutt_db_write_latency_ms",
                "Milliseconds per batch audit insert",
                vec![
                    1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
                ],
            ),
            cache_reload_failures: counter(
                "mutt_alerter_cache_reload_failures_total",
                "Failed rule cache reloads",
            ),
            dlq_depth: gauge("mutt_alerter_dlq_depth", "Length of the alerter DLQ"),
            processing_list_depth: gauge(
                "mutt_alerter_processing_list_depth",
                "Items in this alerter's processing list",
            ),
            queue_depth: gauge("mutt_alerter_queue_depth", "Length of the alert queue"),
            shed_events: register(
                registry,
                &IntCounterVec::new(
                    Opts::new(
                        "mutt_alerter_shed_events_total",
                        "Batches deferred by backpressure",
                    ),
                    &["mode"],
                )
                .expect("valid metric"),
            ),
            batch_events: histogram(
                "mutt_alerter_batch_events",
                "Events per batch",
                vec![1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 5000.0],
            ),
            remediation_loops: counter("mutt_remediation_loops_total", "Periodic DLQ replay runs"),
            remediation_replayed: counter(
                "mutt_remediation_replay_success_total",
                "Events replayed from the alerter DLQ",
            ),
            remediation_poison: counter(
                "mutt_remediation_poison_messages_total",
                "Events retired to mutt:dlq:dead",
            ),
        }
    }
}
