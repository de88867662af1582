//! The forwarder's metrics: v2.5's names with the meanings documented here.

use crate::breaker::{NAME, Transition};
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use shared::process::metrics::register;
use shared::redis::activity::ActivityCounts;

#[derive(Clone)]
pub struct ForwarderMetrics {
    /// Webhook requests: `status` success|fail, `reason` ""|http|retry_exhausted.
    pub requests: IntCounterVec,
    pub request_latency: Histogram,
    pub dlq_depth: IntGauge,
    pub processing_list_depth: IntGauge,
    /// Times an alert had to wait for a token.
    pub rate_limit_hits: IntCounter,
    /// Alerts by final outcome: success, dlq; `retry` each time one is scheduled again.
    pub alerts_processed: IntCounterVec,
    /// Alerts folded into another of their signature (`MOOG_COALESCE_WINDOW`).
    pub alerts_coalesced: IntCounter,
    /// Delivered and coalesced alerts per minute, for the dashboard
    /// (`shared::redis::activity`).
    pub activity: ActivityCounts,
    /// Times an alert had to wait for the breaker (v2.5's `circuit_open` reason).
    pub circuit_waits: IntCounter,
    pub breaker_state: IntGaugeVec,
    pub breaker_failures: IntGaugeVec,
    pub breaker_changes: IntCounterVec,
}

impl ForwarderMetrics {
    pub fn new(registry: &Registry) -> Self {
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            register(
                registry,
                &IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let gauge_vec = |name: &str, help: &str| {
            register(
                registry,
                &IntGaugeVec::new(Opts::new(name, help), &["name"]).expect("valid metric"),
            )
        };
        let gauge = |name: &str, help: &str| {
            register(registry, &IntGauge::new(name, help).expect("valid metric"))
        };
        let counter = |name: &str, help: &str| {
            register(
                registry,
                &IntCounter::new(name, help).expect("valid metric"),
            )
        };
        Self {
            activity: ActivityCounts::default(),
            requests: counter_vec(
                "mutt_moog_requests_total",
                "Webhook requests by outcome",
                &["status", "reason"],
            ),
            request_latency: register(
                registry,
                &Histogram::with_opts(
                    HistogramOpts::new("mutt_moog_request_latency_seconds", "Webhook request time")
                        .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
                )
                .expect("valid metric"),
            ),
            dlq_depth: gauge("mutt_moog_dlq_depth", "Length of the forwarder DLQ"),
            processing_list_depth: gauge(
                "mutt_moog_processing_list_depth",
                "Alerts in this forwarder's processing list",
            ),
            rate_limit_hits: counter(
                "mutt_moog_rate_limit_hits_total",
                "Waits for a rate-limit token",
            ),
            alerts_processed: counter_vec(
                "mutt_moog_alerts_processed_total",
                "Alerts by outcome",
                &["status"],
            ),
            alerts_coalesced: counter(
                "mutt_moog_alerts_coalesced_total",
                "Alerts sent folded into another alert of their signature",
            ),
            circuit_waits: counter(
                "mutt_moog_circuit_blocked_total",
                "Waits because the circuit breaker was open",
            ),
            breaker_state: gauge_vec(
                "mutt_circuit_breaker_state",
                "0 closed, 1 half-open, 2 open",
            ),
            breaker_failures: gauge_vec("mutt_circuit_breaker_failures", "Consecutive failures"),
            breaker_changes: counter_vec(
                "mutt_circuit_breaker_state_changes_total",
                "Breaker transitions",
                &["name", "from_state", "to_state"],
            ),
        }
    }
}

impl ForwarderMetrics {
    /// Counts and logs a change of the breaker's state, if there was one.
    pub fn breaker_changed(&self, transition: Option<Transition>) {
        if let Some(t) = transition {
            self.breaker_changes
                .with_label_values(&[NAME, t.from.as_str(), t.to.as_str()])
                .inc();
            self.breaker_state
                .with_label_values(&[NAME])
                .set(t.to.gauge());
            tracing::warn!(
                from = t.from.as_str(),
                to = t.to.as_str(),
                "moog circuit breaker changed state"
            );
        }
    }
}
