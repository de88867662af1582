//! The HTTP intake: `POST /ingest`, `/api/v1/ingest` and
//! `/api/v2/ingest`, plus `GET /`, `/health`, `/ready` and `/metrics`.
//!
//! A request goes: key check (401) → rate limit (429) → body within its limit (413) →
//! decode (400) → queue cap (503) → validate each event (400/413 per item) → coalesced
//! write (503 if Redis fails) → 200. Status codes and bodies follow v2.5 for single events.

use crate::depth::QueueDepth;
use crate::intake::{self, Body, ItemError};
use crate::metrics::IngestMetrics;
use crate::writer::{WriteError, Writer};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use shared::config::IngestLimits;
use shared::rate_limit::{Admission, SlidingWindowLimiter};
use shared::redis::RedisConn;
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
    cfg.route("/ingest", web::post().to(ingest))
        .route("/api/v1/ingest", web::post().to(ingest))
        .route("/api/v2/ingest", web::post().to(ingest))
        .route("/", web::get().to(info))
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
    HttpResponse::build(status).json(
        json!({"status": "error", "message": message.into(), "correlation_id": correlation_id}),
    )
}

fn fail(state: &IngestState, reason: &str) {
    state
        .metrics
        .requests
        .with_label_values(&["fail", reason])
        .inc();
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

async fn info() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "service": "MUTT Ingestor Service",
        "version": shared::process::admin::VERSION,
        "description": "Event ingestion service for syslog and SNMP traps",
        "endpoints": {
            "ingest": "POST /ingest (requires X-API-KEY header)",
            "health": "GET /health",
            "ready": "GET /ready",
            "metrics": "GET /metrics",
            "info": "GET /"
        }
    }))
}

async fn ingest(
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
                    .json(json!({"status": "error", "message": "Too Many Requests - rate limit exceeded",
                                 "correlation_id": correlation_id, "retry_after": retry_after}));
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
            return HttpResponse::PayloadTooLarge().json(json!({"status": "error",
                "message": format!("Request body exceeds {limit} bytes (INGEST_MAX_BODY_BYTES)"),
                "limit": limit, "correlation_id": correlation_id}));
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
            .json(json!({"status": "error", "message": "Service Unavailable - queue full",
                         "correlation_id": correlation_id, "queue_depth": depth, "queue_limit": cap}));
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
        return HttpResponse::BadRequest().json(
            json!({"status": "error", "message": "no valid events in the batch",
            "queued": 0, "rejected": rejected_json(&rejected), "correlation_id": correlation_id}),
        );
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
        HttpResponse::Ok().json(json!({"status": "queued", "correlation_id": correlation_id,
            "event_id": event_ids[0], "queue_depth": queue_depth}))
    } else {
        HttpResponse::Ok().json(
            json!({"status": "queued", "queued": queued, "rejected": rejected_json(&rejected),
            "correlation_id": correlation_id, "queue_depth": queue_depth}),
        )
    }
}

fn rejected_json(rejected: &[(usize, ItemError)]) -> Vec<Value> {
    rejected
        .iter()
        .map(|(index, e)| json!({"index": index, "error": e.message}))
        .collect()
}
