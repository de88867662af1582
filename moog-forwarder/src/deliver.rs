//! Delivering alerts: wait for the breaker and tokens for a whole batch (neither costs a
//! retry), POST each, then ack (in batches, see [`crate::ack`]), schedule a delayed retry,
//! or dead-letter, each one atomic step in Redis.
//! On shutdown a waiting delivery gives up and leaves its alert in the processing list,
//! from where it is returned to the queue.

use crate::ack::Acks;
use crate::breaker::{BreakerState, CircuitBreaker, NAME, Transition};
use crate::metrics::ForwarderMetrics;
use crate::retry;
use crate::webhook::{self, AlertView, Delivery};
use redis::aio::ConnectionManager;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use shared::dynamic_config::{DynamicConfig, DynamicSetting};
use shared::queue::{Failure, InFlight, ReliableQueue};
use shared::rate_limit::{MoogLimiter, Tokens};
use shared::redis::keys::RedisKeys;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// While the breaker is open, how often a waiting alert asks again.
const BREAKER_POLL: Duration = Duration::from_millis(250);
pub(crate) const REDIS_RETRY: Duration = Duration::from_millis(500);
const BODY_EXCERPT_BYTES: usize = 500;

/// Everything a delivery needs; shared by all of them.
pub struct Courier {
    pub client: reqwest::Client,
    pub url: reqwest::Url,
    pub api_key: Option<SecretString>,
    pub signature_template: String,
    pub queue: ReliableQueue,
    /// What this forwarder holds of its processing list (see `shared::queue::InFlight`).
    pub in_flight: InFlight,
    pub keys: RedisKeys,
    pub redis: ConnectionManager,
    pub bucket: MoogLimiter,
    pub breaker: Option<CircuitBreaker>,
    pub dynamic: DynamicConfig,
    pub rate_limit: u64,
    pub rate_period: Duration,
    pub max_retries: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub metrics: ForwarderMetrics,
}

impl Courier {
    pub(crate) fn note(&self, transition: Option<Transition>) {
        if let Some(t) = transition {
            self.metrics
                .breaker_changes
                .with_label_values(&[NAME, t.from.as_str(), t.to.as_str()])
                .inc();
            self.metrics
                .breaker_state
                .with_label_values(&[NAME])
                .set(t.to.gauge());
            tracing::warn!(
                from = t.from.as_str(),
                to = t.to.as_str(),
                "moog circuit breaker changed state"
            );
        }
    }

    pub(crate) async fn pause(&self, how_long: Duration, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = tokio::time::sleep(how_long) => true,
        }
    }

    /// Waits until the breaker lets requests through and tokens are free, then says how
    /// many of the `wanted` alerts may go now (at least one; exactly one while the breaker
    /// is half-open: that is its trial). `None` if shutdown came first. One Redis round
    /// trip for the breaker and one for the tokens, whatever the batch size.
    pub async fn clearance(&self, wanted: usize, shutdown: &CancellationToken) -> Option<usize> {
        let mut redis = self.redis.clone();
        loop {
            let mut wanted = wanted.max(1);
            if let Some(breaker) = &self.breaker {
                match breaker.allow(&mut redis).await {
                    Ok(permission) => {
                        self.note(permission.transition);
                        if !permission.allowed {
                            self.metrics.circuit_waits.inc();
                            if !self.pause(BREAKER_POLL, shutdown).await {
                                return None;
                            }
                            continue;
                        }
                        if permission.state == BreakerState::HalfOpen {
                            wanted = 1;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "cannot read the circuit breaker, retrying");
                        if !self.pause(REDIS_RETRY, shutdown).await {
                            return None;
                        }
                        continue;
                    }
                }
            }
            let limit = self
                .dynamic
                .get(DynamicSetting::MoogRateLimit, self.rate_limit);
            let period = Duration::from_secs_f64(
                self.dynamic
                    .get(
                        DynamicSetting::MoogRatePeriod,
                        self.rate_period.as_secs_f64(),
                    )
                    .max(0.001),
            );
            match self
                .bucket
                .acquire_up_to(&mut redis, limit, period, wanted as u64)
                .await
            {
                Ok(Tokens::Granted(granted)) => return Some((granted as usize).min(wanted)),
                Ok(Tokens::Wait(wait)) => {
                    self.metrics.rate_limit_hits.inc();
                    if !self.pause(wait, shutdown).await {
                        return None;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "cannot reach the rate limiter, retrying");
                    if !self.pause(REDIS_RETRY, shutdown).await {
                        return None;
                    }
                }
            }
        }
    }

    async fn post(&self, body: Vec<u8>) -> (Delivery, Option<String>) {
        let started = Instant::now();
        let mut request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let result = request.send().await;
        self.metrics
            .request_latency
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let delivery = webhook::classify(status, retry_after.as_deref());
                let excerpt = if matches!(delivery, Delivery::Accepted) {
                    None
                } else {
                    response
                        .text()
                        .await
                        .ok()
                        .map(|t| t.chars().take(BODY_EXCERPT_BYTES).collect())
                };
                (delivery, excerpt)
            }
            Err(error) => (webhook::transport_failure(), Some(error.to_string())),
        }
    }

    /// Retries a Redis step until it succeeds; `false` if shutdown came first (the alert
    /// then stays in the processing list and is returned to the queue).
    async fn settle<F, Fut>(&self, what: &str, shutdown: &CancellationToken, mut step: F) -> bool
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        loop {
            match step(self.redis.clone()).await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(error = %error, "{what} failed, retrying");
                    if !self.pause(REDIS_RETRY, shutdown).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Delivers the alert `item` (the exact bytes taken from the queue), which
    /// [`Courier::clearance`] has let through. A delivered alert goes to `acks`.
    pub async fn deliver(&self, item: Vec<u8>, acks: &Acks, shutdown: CancellationToken) {
        let (body, retries) = match serde_json::from_slice::<AlertView>(&item) {
            Ok(alert) => {
                let now = chrono::Utc::now().timestamp();
                let body = webhook::payload(&alert, &self.signature_template, now);
                (
                    serde_json::to_vec(&body).expect("payloads serialise"),
                    alert.moog_retry_count,
                )
            }
            Err(e) => {
                self.dead_letter(&item, format!("not an alert: {e}"), 1, None, &shutdown)
                    .await;
                return;
            }
        };
        let (delivery, detail) = self.post(body).await;
        let mut redis = self.redis.clone();
        match delivery {
            Delivery::Accepted => {
                self.metrics
                    .requests
                    .with_label_values(&["success", ""])
                    .inc();
                self.metrics
                    .alerts_processed
                    .with_label_values(&["success"])
                    .inc();
                acks.delivered(item);
            }
            Delivery::Retry { status, after } => {
                if let Some(breaker) = &self.breaker {
                    self.note(breaker.record_failure(&mut redis).await.ok().flatten());
                }
                let attempts = retries + 1;
                if retries >= self.max_retries {
                    self.metrics
                        .requests
                        .with_label_values(&["fail", "retry_exhausted"])
                        .inc();
                    let reason = format!(
                        "retries exhausted: {}",
                        detail.unwrap_or_else(|| "no answer".into())
                    );
                    self.dead_letter(&item, reason, attempts, status, &shutdown)
                        .await;
                    return;
                }
                self.metrics
                    .requests
                    .with_label_values(&["fail", "http"])
                    .inc();
                self.metrics
                    .alerts_processed
                    .with_label_values(&["retry"])
                    .inc();
                let updated = with_retry_count(&item, attempts);
                let delay = webhook::retry_delay(
                    retries,
                    self.retry_base,
                    self.retry_max,
                    rand_unit(),
                    after,
                );
                let (keys, processing) =
                    (self.keys.clone(), self.queue.processing_list().to_owned());
                let scheduled = self
                    .settle("scheduling a retry", &shutdown, |mut c| {
                        let (keys, processing, updated, item) = (
                            keys.clone(),
                            processing.clone(),
                            updated.clone(),
                            item.clone(),
                        );
                        let delay_ms = delay.as_millis() as u64;
                        async move {
                            retry::schedule(&mut c, &keys, &processing, &updated, &item, delay_ms)
                                .await
                                .map_err(|e| e.to_string())
                        }
                    })
                    .await;
                if scheduled {
                    self.in_flight.release([item.as_slice()]);
                }
            }
            Delivery::Rejected { status } => {
                // Moog answered: it is up, so this is no failure for the breaker.
                if let Some(breaker) = &self.breaker {
                    self.note(breaker.record_success(&mut redis).await.ok().flatten());
                }
                self.metrics
                    .requests
                    .with_label_values(&["fail", "http"])
                    .inc();
                let reason = format!("webhook answered {status}: {}", detail.unwrap_or_default());
                self.dead_letter(&item, reason, retries + 1, Some(status), &shutdown)
                    .await;
            }
        }
    }

    async fn dead_letter(
        &self,
        item: &[u8],
        reason: String,
        attempts: u32,
        status: Option<u16>,
        shutdown: &CancellationToken,
    ) {
        let failure = Failure {
            reason,
            attempts,
            last_http_status: status,
        };
        let (queue, item) = (self.queue.clone(), item.to_vec());
        let dead_lettered = self
            .settle("dead-lettering", shutdown, |mut c| {
                let (queue, item, failure) = (queue.clone(), item.clone(), failure.clone());
                async move {
                    queue
                        .dead_letter(&mut c, &item, &failure)
                        .await
                        .map_err(|e| e.to_string())
                }
            })
            .await;
        if dead_lettered {
            self.in_flight.release([item.as_slice()]);
        }
        self.metrics
            .alerts_processed
            .with_label_values(&["dlq"])
            .inc();
    }
}

/// The alert `item` with `_moog_retry_count` set to `count`, every other field as it was.
fn with_retry_count(item: &[u8], count: u32) -> String {
    let mut alert: serde_json::Map<String, Value> =
        serde_json::from_slice(item).expect("it read as an alert, so it is an object");
    alert.insert("_moog_retry_count".to_owned(), count.into());
    Value::Object(alert).to_string()
}

/// A number in [0, 1) for backoff jitter; a v4 UUID is already random (fast-rng).
fn rand_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}
