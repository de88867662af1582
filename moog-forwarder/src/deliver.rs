//! Delivering alerts that the [`crate::gate`] let through, one POST for up to
//! `MOOG_BATCH_SIZE` of them: POST, then carry out each alert's [`crate::outcome`]: hand
//! it to the batched [`crate::ack`], schedule a delayed [`crate::retry`] in Redis, or
//! dead-letter it, each one atomic step in Redis.
//! On shutdown a step that cannot reach Redis gives up and leaves the alert in the
//! processing list, from where it is returned to the queue.

use crate::REDIS_RETRY;
use crate::ack::Acks;
use crate::breaker::CircuitBreaker;
use crate::coalesce::Group;
use crate::metrics::ForwarderMetrics;
use crate::outcome::{self, RetryPolicy, Step};
use crate::retry;
use crate::webhook::{self, AlertView, Delivery};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use shared::process::retry::{Backoff, until_ok};
use shared::queue::{Failure, InFlight, ReliableQueue};
use shared::redis::RedisConn;
use shared::redis::activity::Activity;
use shared::redis::keys::RedisKeys;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

const BODY_EXCERPT_BYTES: usize = 500;
const SETTLE: Backoff = Backoff::constant(REDIS_RETRY);

/// Where alerts are posted.
#[derive(Clone)]
pub struct Endpoint {
    pub client: reqwest::Client,
    pub url: reqwest::Url,
    pub api_key: Option<SecretString>,
    pub signature_template: String,
}

/// Everything a delivery needs; shared by the deliveries of one queue shard (its queue,
/// keys and retry set are the shard's).
pub struct Courier {
    pub endpoint: Endpoint,
    pub policy: RetryPolicy,
    pub queue: ReliableQueue,
    /// What this forwarder holds of its processing list (see `shared::queue::InFlight`).
    pub in_flight: InFlight,
    pub keys: RedisKeys,
    pub redis: RedisConn,
    pub breaker: Option<CircuitBreaker>,
    pub metrics: ForwarderMetrics,
}

/// What one POSTed alert stands for: its queue items (one, or, coalesced, every alert of
/// its group: what acks, retries and dead letters name, each with the retries it has had)
/// and its webhook payload.
struct Readable {
    members: Vec<(Vec<u8>, u32)>,
    payload: Vec<u8>,
}

impl Courier {
    /// Delivers `groups` (the exact bytes taken from the queue; a group of several is sent
    /// as one alert, see [`crate::coalesce`]) in one POST: one alone in v2.5's one-event
    /// body, several in the events-array form ([`webhook::batch_body`]). Delivered alerts go
    /// to `acks`.
    ///
    /// Moog's answer to a batch is each alert's answer: accepted, all are acknowledged;
    /// to be retried, each is retried on its own schedule, as if sent alone. Refused
    /// (a 4xx that retrying cannot help), the fault may lie with one alert: each is sent
    /// again alone, and only what Moog refuses alone is dead-lettered.
    pub async fn deliver(&self, groups: Vec<Group>, acks: &Acks, shutdown: CancellationToken) {
        let now = chrono::Utc::now().timestamp();
        let mut alerts = Vec::with_capacity(groups.len());
        for group in groups {
            match self.read(group, now) {
                Ok(alert) => alerts.push(alert),
                Err((item, failure)) => self.dead_letter(&item, failure, &shutdown).await,
            }
        }
        if alerts.len() <= 1 {
            for alert in alerts {
                self.post_alone(alert, acks, &shutdown).await;
            }
            return;
        }
        let payloads: Vec<Vec<u8>> = alerts
            .iter_mut()
            .map(|a| std::mem::take(&mut a.payload))
            .collect();
        let (delivery, detail) = self.post(webhook::batch_body(&payloads)).await;
        self.tell_breaker(delivery).await;
        if let Delivery::Rejected { .. } = delivery {
            for (mut alert, payload) in alerts.into_iter().zip(payloads) {
                alert.payload = payload;
                self.post_alone(alert, acks, &shutdown).await;
            }
            return;
        }
        for alert in alerts {
            self.settle(alert.members, delivery, detail.clone(), acks, &shutdown)
                .await;
        }
    }

    /// The group's payload: the first alert's body, with the others folded into it when
    /// there are others. A group whose first item is not an alert is that item, with why
    /// (only one alone: [`crate::coalesce::group`] groups alerts only).
    fn read(&self, group: Group, now: i64) -> Result<Readable, (Vec<u8>, Failure)> {
        let template = &self.endpoint.signature_template;
        let unreadable = |item: &Vec<u8>, e: serde_json::Error| {
            (item.clone(), Failure::new(format!("not an alert: {e}"), 1))
        };
        if let [item] = group.as_slice() {
            let alert =
                serde_json::from_slice::<AlertView>(item).map_err(|e| unreadable(item, e))?;
            let body = webhook::payload(&alert, template, now);
            let payload = serde_json::to_vec(&body).expect("payloads serialise");
            let retries = alert.moog_retry_count;
            return Ok(Readable {
                members: vec![(group.into_iter().next().expect("one item"), retries)],
                payload,
            });
        }
        let mut retries = Vec::with_capacity(group.len());
        let mut folded = Vec::with_capacity(group.len());
        for item in &group {
            let alert =
                serde_json::from_slice::<AlertView>(item).map_err(|e| unreadable(item, e))?;
            retries.push(alert.moog_retry_count);
            folded.push((
                webhook::external_id(&alert),
                webhook::agent_time(&alert, now),
            ));
        }
        let first: AlertView = serde_json::from_slice(&group[0]).expect("read above");
        let body = webhook::coalesced(webhook::payload(&first, template, now), &folded);
        let payload = serde_json::to_vec(&body).expect("payloads serialise");
        self.metrics.alerts_coalesced.inc_by(group.len() as u64 - 1);
        self.metrics
            .activity
            .add(Activity::Coalesced, group.len() as u64 - 1);
        Ok(Readable {
            members: group.into_iter().zip(retries).collect(),
            payload,
        })
    }

    async fn post_alone(&self, alert: Readable, acks: &Acks, shutdown: &CancellationToken) {
        let Readable { members, payload } = alert;
        let (delivery, detail) = self.post(payload).await;
        self.tell_breaker(delivery).await;
        self.settle(members, delivery, detail, acks, shutdown).await;
    }

    /// Carries out Moog's answer `delivery` for each alert it answered.
    async fn settle(
        &self,
        members: Vec<(Vec<u8>, u32)>,
        delivery: Delivery,
        detail: Option<String>,
        acks: &Acks,
        shutdown: &CancellationToken,
    ) {
        for (item, retries) in members {
            self.settle_one(item, retries, delivery, detail.clone(), acks, shutdown)
                .await;
        }
    }

    /// Carries out what Moog's answer `delivery` means for one alert.
    async fn settle_one(
        &self,
        item: Vec<u8>,
        retries: u32,
        delivery: Delivery,
        detail: Option<String>,
        acks: &Acks,
        shutdown: &CancellationToken,
    ) {
        let step = outcome::plan(delivery, detail, retries, &self.policy, rand_unit());
        let requests = &self.metrics.requests;
        match step {
            Step::Ack => {
                requests.with_label_values(&["success", ""]).inc();
                self.count("success");
                acks.delivered(item);
            }
            Step::RetryLater { attempts, delay } => {
                requests.with_label_values(&["fail", "http"]).inc();
                self.count("retry");
                let updated = &with_retry_count(&item, attempts);
                let (keys, processing) = (&self.keys, self.queue.processing_list());
                let delay_ms = delay.as_millis() as u64;
                let scheduled = until_ok("scheduling a retry", SETTLE, shutdown, || {
                    let (mut redis, item) = (self.redis.clone(), &item);
                    async move {
                        retry::schedule(&mut redis, keys, processing, updated, item, delay_ms).await
                    }
                })
                .await;
                if scheduled.is_some() {
                    self.in_flight.release([item.as_slice()]);
                }
            }
            Step::DeadLetter {
                reason,
                attempts,
                status,
            } => {
                let exhausted = matches!(delivery, Delivery::Retry { .. });
                let why = if exhausted { "retry_exhausted" } else { "http" };
                requests.with_label_values(&["fail", why]).inc();
                let failure = Failure {
                    reason,
                    attempts,
                    last_http_status: status,
                };
                self.dead_letter(&item, failure, shutdown).await;
            }
        }
    }

    /// A retryable answer is a failure for the breaker; any other answer shows Moog is up.
    async fn tell_breaker(&self, delivery: Delivery) {
        let Some(breaker) = &self.breaker else {
            return;
        };
        let mut redis = self.redis.clone();
        let transition = match delivery {
            Delivery::Retry { .. } => breaker.record_failure(&mut redis).await,
            // Accepted alerts tell it in bulk, when they are acknowledged.
            Delivery::Accepted => return,
            Delivery::Rejected { .. } => breaker.record_success(&mut redis).await,
        };
        self.metrics.breaker_changed(transition.ok().flatten());
    }

    fn count(&self, outcome: &str) {
        self.metrics
            .alerts_processed
            .with_label_values(&[outcome])
            .inc();
        if outcome == "success" {
            self.metrics.activity.add(Activity::Delivered, 1);
        }
    }

    async fn post(&self, body: Vec<u8>) -> (Delivery, Option<String>) {
        let started = Instant::now();
        let endpoint = &self.endpoint;
        let mut request = endpoint
            .client
            .post(endpoint.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &endpoint.api_key {
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

    async fn dead_letter(&self, item: &[u8], failure: Failure, shutdown: &CancellationToken) {
        let failure = &failure;
        let dead_lettered = until_ok("dead-lettering", SETTLE, shutdown, || {
            let mut redis = self.redis.clone();
            async move { self.queue.dead_letter(&mut redis, item, failure).await }
        })
        .await;
        if dead_lettered.is_some() {
            self.in_flight.release([item]);
        }
        self.count("dlq");
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
