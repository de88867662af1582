//! Service level objectives, computed from Prometheus (`PROMETHEUS_URL`): MUTT v2.5's six
//! SLOs with its thresholds and 24-hour window, and its documented `components` summary of
//! the ingestor and the forwarder, in one report. Two of v2.5's definitions are fixed:
//! unhandled events are a success of the alerter (they are audited), not a failure; and the
//! rule-cache reload SLO is the share of reloads that succeeded (v2.5's query answered 0
//! when healthy and nothing when not, so it was always critical).
//!
//! A query without data (no traffic in the window) gives `unknown`, never `critical`: an
//! idle site is not on fire. Prometheus unreachable, or answering an error, is a 503.

use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// v2.5's window.
pub const WINDOW_HOURS: u32 = 24;
/// How long one query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

enum Kind {
    /// A share of successes; `burn` thresholds.
    Ratio { target: f64 },
    /// A p99 in seconds, with upper bounds.
    Latency {
        target_seconds: f64,
        warning: f64,
        critical: f64,
    },
}

struct Definition {
    name: &'static str,
    description: &'static str,
    kind: Kind,
    /// PromQL with `{w}` for the window (`24h`).
    query: &'static str,
}

const BURN_WARNING: f64 = 5.0;
const BURN_CRITICAL: f64 = 10.0;

fn definitions() -> [Definition; 6] {
    [
        Definition {
            name: "ingestor_availability",
            description: "Share of ingest requests accepted",
            kind: Kind::Ratio { target: 0.999 },
            query: r#"sum(increase(mutt_ingest_requests_total{status="success"}[{w}])) / sum(increase(mutt_ingest_requests_total[{w}]))"#,
        },
        Definition {
            name: "ingestor_latency_p99",
            description: "99th percentile of ingest request latency",
            kind: Kind::Latency {
                target_seconds: 0.5,
                warning: 0.75,
                critical: 1.0,
            },
            query: "histogram_quantile(0.99, sum(rate(mutt_ingest_latency_seconds_bucket[{w}])) by (le))",
        },
        Definition {
            name: "forwarder_availability",
            description: "Share of webhook requests Moog accepted",
            kind: Kind::Ratio { target: 0.995 },
            query: r#"sum(increase(mutt_moog_requests_total{status="success"}[{w}])) / sum(increase(mutt_moog_requests_total[{w}]))"#,
        },
        Definition {
            name: "forwarder_latency_p99",
            description: "99th percentile of webhook request latency",
            kind: Kind::Latency {
                target_seconds: 2.0,
                warning: 3.0,
                critical: 5.0,
            },
            query: "histogram_quantile(0.99, sum(rate(mutt_moog_request_latency_seconds_bucket[{w}])) by (le))",
        },
        Definition {
            name: "alerter_processing_success",
            description: "Share of events the alerter handled or audited as unhandled (not dead-lettered or requeued)",
            kind: Kind::Ratio { target: 0.999 },
            query: r#"sum(increase(mutt_alerter_events_processed_total{status=~"handled|unhandled"}[{w}])) / sum(increase(mutt_alerter_events_processed_total[{w}]))"#,
        },
        Definition {
            name: "alerter_cache_reload_success",
            description: "Share of rule-cache reloads that succeeded",
            kind: Kind::Ratio { target: 0.99 },
            // A window without reloads has no failed one either: 1.
            query: "1 - sum(increase(mutt_alerter_cache_reload_failures_total[{w}])) / clamp_min(sum(increase(mutt_alerter_cache_reload_latency_seconds_count[{w}])), 1)",
        },
    ]
}

/// One SLO, in v2.5's shape (`target` for ratios, `target_seconds` for latencies).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SloResult {
    pub slo_name: &'static str,
    pub description: &'static str,
    pub window_hours: u32,
    pub actual_value: Option<f64>,
    /// `ok`, `breaching`, `warning`, `critical`, or `unknown` without data.
    pub status: &'static str,
    pub error_budget_remaining: Option<f64>,
    pub burn_rate: Option<f64>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_seconds: Option<f64>,
}

/// v2.5's documented summary of one component.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Component {
    pub target: f64,
    pub availability: Option<f64>,
    pub error_budget_remaining: Option<f64>,
    pub burn_rate: Option<f64>,
    /// `ok` (burn ≤ 1), `warn` (≤ 2), `critical` (> 2), `unknown` without data.
    pub state: &'static str,
    pub window_hours: u32,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Components {
    pub ingestor: Component,
    pub forwarder: Component,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SloReport {
    pub timestamp: String,
    pub window_hours: u32,
    pub slos: Vec<SloResult>,
    pub components: Components,
}

impl SloReport {
    pub fn any_critical(&self) -> bool {
        self.slos.iter().any(|s| s.status == "critical")
    }
}

/// Prometheus could not be asked, or answered an error.
#[derive(Debug, thiserror::Error)]
#[error("the SLO report needs Prometheus at {prometheus} (PROMETHEUS_URL): {detail}")]
pub struct PrometheusUnavailable {
    pub prometheus: String,
    pub detail: String,
}

/// The report, from the Prometheus at `prometheus` (its base URL).
pub async fn report(
    client: &reqwest::Client,
    prometheus: &str,
) -> Result<SloReport, PrometheusUnavailable> {
    let window = format!("{WINDOW_HOURS}h");
    let mut slos = Vec::new();
    for definition in definitions() {
        let query = definition.query.replace("{w}", &window);
        let actual = query_value(client, prometheus, &query).await?;
        slos.push(evaluate(&definition, actual));
    }
    let component = |name: &str, target: f64| {
        let availability = slos
            .iter()
            .find(|s| s.slo_name == name)
            .and_then(|s| s.actual_value);
        summarize(target, availability)
    };
    let components = Components {
        ingestor: component("ingestor_availability", 0.995),
        forwarder: component("forwarder_availability", 0.99),
    };
    Ok(SloReport {
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        window_hours: WINDOW_HOURS,
        slos,
        components,
    })
}

/// The first sample of an instant query; `None` when it has none (or it is not a number).
async fn query_value(
    client: &reqwest::Client,
    prometheus: &str,
    query: &str,
) -> Result<Option<f64>, PrometheusUnavailable> {
    let unavailable = |detail: String| PrometheusUnavailable {
        prometheus: prometheus.to_owned(),
        detail,
    };
    let url = format!(
        "{}/api/v1/query?{}",
        prometheus.trim_end_matches('/'),
        serde_urlencoded::to_string([("query", query)]).expect("a query string")
    );
    let response = client
        .get(&url)
        .timeout(QUERY_TIMEOUT)
        .send()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if !response.status().is_success() {
        return Err(unavailable(format!("answered {}", response.status())));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    Ok(body["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite()))
}

fn evaluate(definition: &Definition, actual: Option<f64>) -> SloResult {
    let mut result = SloResult {
        slo_name: definition.name,
        description: definition.description,
        window_hours: WINDOW_HOURS,
        actual_value: actual,
        status: "unknown",
        error_budget_remaining: None,
        burn_rate: None,
        message: "No data from Prometheus in the window".into(),
        target: None,
        target_seconds: None,
    };
    match definition.kind {
        Kind::Ratio { target } => {
            result.target = Some(target);
            let Some(actual) = actual else {
                return result;
            };
            let burn = (1.0 - actual) / (1.0 - target);
            result.burn_rate = Some(burn);
            result.error_budget_remaining = Some((actual - target) / (1.0 - target));
            result.status = if burn >= BURN_CRITICAL {
                "critical"
            } else if burn >= BURN_WARNING {
                "warning"
            } else if actual < target {
                "breaching"
            } else {
                "ok"
            };
            result.message = format!(
                "{:.4} against a target of {target} (burn rate {burn:.2})",
                actual
            );
        }
        Kind::Latency {
            target_seconds,
            warning,
            critical,
        } => {
            result.target_seconds = Some(target_seconds);
            let Some(actual) = actual else {
                return result;
            };
            result.status = if actual >= critical {
                "critical"
            } else if actual >= warning {
                "warning"
            } else if actual > target_seconds {
                "breaching"
            } else {
                "ok"
            };
            result.message = format!("p99 {actual:.3} s against a target of {target_seconds} s");
        }
    }
    result
}

fn summarize(target: f64, availability: Option<f64>) -> Component {
    let burn = availability.map(|a| (1.0 - a) / (1.0 - target));
    Component {
        target,
        availability,
        error_budget_remaining: availability.map(|a| (a - target) / (1.0 - target)),
        burn_rate: burn,
        state: match burn {
            None => "unknown",
            Some(b) if b <= 1.0 => "ok",
            Some(b) if b <= 2.0 => "warn",
            Some(_) => "critical",
        },
        window_hours: WINDOW_HOURS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_latencies_get_v25s_statuses_and_no_data_is_unknown() {
        let [availability, latency, ..] = definitions();
        assert_eq!(evaluate(&availability, Some(1.0)).status, "ok");
        assert_eq!(evaluate(&availability, Some(0.9985)).status, "breaching");
        assert_eq!(evaluate(&availability, Some(0.994)).status, "warning");
        assert_eq!(evaluate(&availability, Some(0.98)).status, "critical");
        assert_eq!(evaluate(&availability, None).status, "unknown");
        assert_eq!(evaluate(&latency, Some(0.1)).status, "ok");
        assert_eq!(evaluate(&latency, Some(0.6)).status, "breaching");
        assert_eq!(evaluate(&latency, Some(0.8)).status, "warning");
        assert_eq!(evaluate(&latency, Some(1.0)).status, "critical");
        assert_eq!(summarize(0.995, Some(0.996)).state, "ok");
        assert_eq!(summarize(0.995, Some(0.992)).state, "warn");
        assert_eq!(summarize(0.995, Some(0.9)).state, "critical");
    }
}
