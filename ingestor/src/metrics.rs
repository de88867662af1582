//! The ingestor's metrics: v2.5's names plus syslog and batching counters.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use shared::process::metrics::register;
use shared::redis::activity::ActivityCounts;

#[derive(Clone)]
pub struct IngestMetrics {
    /// `status` success|fail, `reason` auth|json|validation|too_large|queue_full|redis|rate_limit|"".
    pub requests: IntCounterVec,
    pub queue_depth: IntGauge,
    pub latency: Histogram,
    pub rate_limit_hits: IntCounter,
    pub events_queued: IntCounter,
    /// `transport` udp|tcp.
    pub syslog_messages: IntCounterVec,
    /// `reason` queue_full|redis|invalid.
    pub syslog_dropped: IntCounterVec,
    /// Messages cut to `SYSLOG_MAX_LINE_BYTES` (kept, shortened).
    pub syslog_truncated: IntCounter,
    /// Writes that Redis took but fewer than `INGEST_ACK_REPLICAS` replicas confirmed
    /// within `INGEST_ACK_TIMEOUT_MS` (their senders were answered 503).
    pub replication_timeouts: IntCounter,
    /// Refused requests per minute, for the dashboard (`shared::redis::activity`).
    pub activity: ActivityCounts,
    pub write_batch_events: Histogram,
}

impl IngestMetrics {
    pub fn new(registry: &Registry) -> Self {
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            register(
                registry,
                &IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let requests = counter_vec(
            "mutt_ingest_requests_total",
            "Ingest requests by outcome",
            &["status", "reason"],
        );
        // Exported at zero from the start, so that Prometheus's `increase` counts the first
        // accepted requests too (a series first seen at 40 adds nothing to a rate).
        requests.with_label_values(&["success", ""]);
        Self {
            activity: ActivityCounts::default(),
            requests,
            queue_depth: register(
                registry,
                &IntGauge::new(
                    "mutt_ingest_queue_depth",
                    "Sampled length of the ingest queue",
                )
                .expect("valid metric"),
            ),
            latency: register(
                registry,
                &Histogram::with_opts(
                    HistogramOpts::new(
                        "mutt_ingest_latency_seconds",
                        "Ingest request handling time",
                    )
                    .buckets(vec![
                        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ]),
                )
                .expect("valid metric"),
            ),
            rate_limit_hits: register(
                registry,
                &IntCounter::new(
                    "mutt_ingest_rate_limit_hits_total",
                    "Requests refused by the rate limit",
                )
                .expect("valid metric"),
            ),
            events_queued: register(
                registry,
                &IntCounter::new(
                    "mutt_ingest_events_queued_total",
                    "Events acknowledged by Redis",
                )
                .expect("valid metric"),
            ),
            syslog_messages: counter_vec(
                "mutt_ingest_syslog_messages_total",
                "Syslog messages received",
                &["transport"],
            ),
            syslog_dropped: counter_vec(
                "mutt_ingest_syslog_dropped_total",
                "Syslog messages not queued",
                &["reason"],
            ),
            syslog_truncated: register(
                registry,
                &IntCounter::new(
                    "mutt_ingest_syslog_truncated_total",
                    "Syslog messages cut to the line limit",
                )
                .expect("valid metric"),
            ),
            replication_timeouts: register(
                registry,
                &IntCounter::new(
                    "mutt_ingest_replication_timeouts_total",
                    "Queue writes that fewer than INGEST_ACK_REPLICAS replicas confirmed in time",
                )
                .expect("valid metric"),
            ),
            write_batch_events: register(
                registry,
                &Histogram::with_opts(
                    HistogramOpts::new(
                        "mutt_ingest_write_batch_events",
                        "Events per pipelined queue write",
                    )
                    .buckets(vec![
                        1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0,
                    ]),
                )
                .expect("valid metric"),
            ),
        }
    }
}
