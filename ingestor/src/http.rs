//! The HTTP intake: `POST /ingest`, `/api/v1/ingest` and
//! `/api/v2/ingest`, plus `GET /`, `/health`, `/ready` and `/metrics`.
//!
//! A request goes: key check (401) → rate limit (429) → body within its limit (413) →
//! decode (400) → queue cap (503) → validate each event (400/413 per item) → coalesced
//! write (503 if Redis fails) → 200. Status codes and bodies follow v2.5 for single events.

use crate::answers::{BatchQueued, Info, Queued, Refusal, Rejected};
use crate::depth::QueueDepth;
use crate::intake::IngestEvent;
use crate::intake::{self, Body, ItemError};
use crate::metrics::IngestMetrics;
use crate::writer::{WriteError, Writer};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use shared::config::IngestLimits;
use shared::process::admin::resource;
use shared::rate_limit::{Admission, SlidingWindowLimiter};
use shared::redis::RedisConn;
use shared::redis::activity::Activity;
use shared::redis::api_key_mirror::KeyCache;
use shared::redis::keys::RedisKeys;
use shared::store::api_keys::Scope;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Seconds a client is asked to wait when the queue is full.
const QUEUE_FULL_RETRY_AFTER_SECS: u64 = 5;

/// Everything a request handler needs.
pub struct IngestState {
    pub writer: Writer,
    pub queue: Arc<QueueDepth>,
    pub limiter: Option<(SlidingWindowLimiter, RedisConn)>,
    /// `INGEST_API_KEY`, when set.
    pub api_key: Option<SecretString>,
    /// Named keys (`webui create-key … --scopes ingest`), read from Redis.
    pub named_keys: KeyCache,
    pub redis: RedisConn,
    pub keys: RedisKeys,
    pub required_fields: Vec<String>,
    pub limits: IngestLimits,
    pub metrics: IngestMetrics,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    for path in ["/ingest", "/api/v1/ingest", "/api/v2/ingest"] {
        cfg.service(resource(path, "POST").post(ingest));
    }
    cfg.service(resource("/", "GET").get(info))
        .default_service(web::to(unknown));
}

/// The static `INGEST_API_KEY` (constant-time compare), or a named key with scope
/// `ingest` from the key directory in Redis (cached; see `shared::redis::api_key_mirror`).
async fn key_is_valid(req: &HttpRequest, state: &IngestState) -> bool {
    let Some(presented) = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if let Some(key) = &state.api_key
        && bool::from(presented.as_bytes().ct_eq(key.expose_secret().as_bytes()))
    {
        return true;
    }
    match state
        .named_keys
        .holder(&mut state.redis.clone(), &state.keys, presented)
        .await
    {
        Ok(holder) => holder.is_some_and(|h| h.may(Scope::Ingest)),
        Err(error) => {
            // Redis down: the event could not be queued anyway.
            tracing::warn!(error = %error, "cannot read the key directory");
            false
        }
    }
}

fn error(status: StatusCode, message: impl Into<String>, correlation_id: &str) -> HttpResponse {
    Refusal::new(message, correlation_id).answer(status)
}

fn fail(state: &IngestState, reason: &str) {
    state
        .metrics
        .requests
        .with_label_values(&["fail", reason])
        .inc();
    state.metrics.activity.add(Activity::Rejected, 1);
}

/// v2.5: unknown paths are 401 without a valid key and 404 with one.
async fn unknown(req: HttpRequest, state: web::Data<IngestState>) -> HttpResponse {
    let correlation_id = shared::event::correlation_id(header(&req, "x-correlation-id"));
    if key_is_valid(&req, &state).await {
        error(StatusCode::NOT_FOUND, "Not Found", &correlation_id)
    } else {
        error(StatusCode::UNAUTHORIZED, "Unauthorized", &correlation_id)
    }
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// What this service is and serves.
#[utoipa::path(get, path = "/", tag = "ingest", operation_id = "info",
    responses((status = 200, description = "v2.5's service description", body = Info)))]
pub(crate) async fn info() -> HttpResponse {
    HttpResponse::Ok().json(Info {
        service: "MUTT Ingestor Service",
        version: shared::process::admin::VERSION,
        description: "Event ingestion service for syslog and SNMP traps",
        endpoints: [
            ("ingest", "POST /ingest (requires X-API-KEY header)"),
            ("health", "GET /health"),
            ("ready", "GET /ready"),
            ("metrics", "GET /metrics"),
            ("info", "GET /"),
        ]
        .into(),
    })
}

/// Queues one event, or a batch (a JSON array, or NDJSON lines with
/// `Content-Type: application/x-ndjson`). A batch queues its valid events and says why
/// each other item was refused; it is refused whole only when none is valid. Also served
/// at `/ingest` and `/api/v1/ingest`.
#[utoipa::path(post, path = "/api/v2/ingest", tag = "ingest", operation_id = "ingest",
    request_body(content = IngestBody, description = "One event, or an array of them"),
    responses(
        (status = 200, description = "Queued", body = Accepted),
        (status = 400, description = "Not JSON, not an event, or a batch without one valid event", body = Refusal),
        (status = 401, description = "No key, or not a working one", body = Refusal),
        (status = 413, description = "Over a size limit (INGEST_MAX_BODY_BYTES, INGEST_MAX_BATCH_EVENTS, INGEST_MAX_MESSAGE_BYTES, INGEST_MAX_EVENT_BYTES)", body = Refusal),
        (status = 429, description = "Over the rate limit; retry after `Retry-After` seconds", body = Refusal),
        (status = 503, description = "The queue is full (retry after `Retry-After` seconds), or Redis did not take or replicate the write", body = Refusal),
    ),
    security(("api_key" = [])))]
pub(crate) async fn ingest(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> HttpResponse {
    let correlation_id = shared::event::correlation_id(header(&req, "x-correlation-id"));
    if !key_is_valid(&req, &state).await {
        fail(&state, "auth");
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", &correlation_id);
    }
    let timer = state.metrics.latency.start_timer();
    let response = handle(&req, payload, &state, &correlation_id).await;
    timer.observe_duration();
    response
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &IngestState,
    correlation_id: &str,
) -> HttpResponse {
    if let Some((limiter, conn)) = &state.limiter {
        match limiter.admit(&mut conn.clone()).await {
            Ok(Admission::Admitted) => {}
            Ok(Admission::Limited(wait)) => {
                fail(state, "rate_limit");
                state.metrics.rate_limit_hits.inc();
                let retry_after = wait.as_secs_f64().ceil().max(1.0) as u64;
                return HttpResponse::TooManyRequests()
                    .insert_header(("Retry-After", retry_after.to_string()))
                    .json(Refusal {
                        retry_after: Some(retry_after),
                        ..Refusal::new("Too Many Requests - rate limit exceeded", correlation_id)
                    });
            }
            // v2.5 lets requests through when the limiter cannot be asked; the write that
            // follows fails with 503 anyway if Redis is really gone.
            Err(e) => tracing::warn!(error = %e, "rate limiter unavailable, admitting"),
        }
    }

    let limit = state.limits.max_body_bytes;
    let bytes = match payload.to_bytes_limited(limit).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            fail(state, "json");
            return error(
                StatusCode::BAD_REQUEST,
                format!("Invalid body: {e}"),
                correlation_id,
            );
        }
        Err(_) => {
            fail(state, "too_large");
            return Refusal {
                limit: Some(limit),
                ..Refusal::new(
                    format!("Request body exceeds {limit} bytes (INGEST_MAX_BODY_BYTES)"),
                    correlation_id,
                )
            }
            .answer(StatusCode::PAYLOAD_TOO_LARGE);
        }
    };
    let ndjson = header(req, "content-type").is_some_and(|t| t.starts_with("application/x-ndjson"));
    let body = match intake::decode_body(&bytes, ndjson, &state.limits) {
        Ok(body) => body,
        Err(e) => {
            fail(
                state,
                if e.status() == 413 {
                    "too_large"
                } else {
                    "json"
                },
            );
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return error(status, e.to_string(), correlation_id);
        }
    };
    if let Some((depth, cap)) = state.queue.over_cap() {
        fail(state, "queue_full");
        return HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", QUEUE_FULL_RETRY_AFTER_SECS.to_string()))
            .json(Refusal {
                queue_depth: Some(depth),
                queue_limit: Some(cap),
                ..Refusal::new("Service Unavailable - queue full", correlation_id)
            });
    }

    let validate =
        |item| intake::validate(item, &state.required_fields, &state.limits, correlation_id);
    let (single, results): (bool, Vec<Result<intake::ValidEvent, ItemError>>) = match body {
        Body::Single(item) => (true, vec![validate(item)]),
        Body::Batch(items) => (
            false,
            items.into_iter().map(|i| i.and_then(validate)).collect(),
        ),
    };
    let mut payloads = Vec::with_capacity(results.len());
    let mut event_ids = Vec::with_capacity(results.len());
    let mut rejected = Vec::new();
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok(valid) => {
                event_ids.push(valid.event_id);
                payloads.push(valid.payload);
            }
            Err(e) => rejected.push((index, e)),
        }
    }
    if payloads.is_empty() {
        fail(state, "validation");
        if single {
            let (_, e) = &rejected[0];
            return error(
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                &e.message,
                correlation_id,
            );
        }
        return Refusal {
            queued: Some(0),
            rejected: Some(rejected_items(rejected)),
            ..Refusal::new("no valid events in the batch", correlation_id)
        }
        .answer(StatusCode::BAD_REQUEST);
    }

    let queued = payloads.len();
    match state.writer.push(payloads).await {
        Ok(()) => {}
        Err(e @ WriteError::NotReplicated { .. }) => {
            // In the primary, not yet known to survive its loss: a retry may queue the
            // events twice, never lose them.
            fail(state, "replication");
            tracing::warn!(error = %e, queued, "queue write not confirmed by the replicas");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable - not confirmed by the Redis replicas in time; retry",
                correlation_id,
            );
        }
        Err(e) => {
            fail(state, "redis");
            tracing::warn!(error = %e, queued, "queue write failed");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable - Redis error",
                correlation_id,
            );
        }
    }
    state
        .metrics
        .requests
        .with_label_values(&["success", ""])
        .inc();
    let queue_depth = state.queue.depth() + queued as u64;
    if single {
        HttpResponse::Ok().json(Queued {
            status: "queued",
            correlation_id: correlation_id.to_owned(),
            event_id: event_ids[0],
            queue_depth,
        })
    } else {
        HttpResponse::Ok().json(BatchQueued {
            status: "queued",
            queued,
            rejected: rejected_items(rejected),
            correlation_id: correlation_id.to_owned(),
            queue_depth,
        })
    }
}

fn rejected_items(rejected: Vec<(usize, ItemError)>) -> Vec<Rejected> {
    rejected
        .into_iter()
        .map(|(index, e)| Rejected {
            index,
            error: e.message,
        })
        .collect()
}

/// `POST /ingest`'s body: one event, or a batch of them (at least one, at most
/// `INGEST_MAX_BATCH_EVENTS`). Each item of a batch is judged on its own, a refused one
/// reported in `rejected`, so the batch's items may be anything.
// A schema: `intake::decode_body` reads the body.
pub(crate) struct IngestBody;

impl utoipa::PartialSchema for IngestBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, SchemaType};
        OneOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name("IngestEvent"))
            .item(
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(SchemaType::AnyValue))
                    .min_items(Some(1)),
            )
            .description(Some(
                "One event, or a batch of them (at least one, at most INGEST_MAX_BATCH_EVENTS). Each item of a batch is judged on its own, a refused one reported in `rejected`, so the batch's items may be anything.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for IngestBody {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push(("IngestEvent".to_owned(), IngestEvent::schema()));
    }
}

/// `POST /ingest`'s answer: one event's, or a batch's.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // A schema: the handler answers with either.
pub(crate) enum Accepted {
    One(Queued),
    Batch(BatchQueued),
}
