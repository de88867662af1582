//! The ingest API's answers, in v2.5's shapes, as types: the handler builds them and the
//! OpenAPI document (`crate::openapi`) is generated from them.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;
use shared::event::EventId;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One event queued (v2.5's answer).
#[derive(Serialize, ToSchema)]
pub struct Queued {
    /// `queued`.
    pub status: &'static str,
    pub correlation_id: String,
    /// The event's id: the audit log's `event_id` and Moog's `external_id`.
    #[schema(value_type = String, format = Uuid)]
    pub event_id: EventId,
    /// The ingest queue's length after this write (sampled).
    pub queue_depth: u64,
}

/// A batch's answer: the valid events were queued; each other item says why not.
#[derive(Serialize, ToSchema)]
pub struct BatchQueued {
    /// `queued`.
    pub status: &'static str,
    pub queued: usize,
    pub rejected: Vec<Rejected>,
    pub correlation_id: String,
    pub queue_depth: u64,
}

/// An item of a batch that was not queued.
#[derive(Serialize, ToSchema)]
pub struct Rejected {
    /// Its position in the batch, from 0.
    pub index: usize,
    pub error: String,
}

/// Every refusal: what is wrong, and the request's correlation id; some say more.
#[derive(Serialize, ToSchema)]
pub struct Refusal {
    /// `error`.
    pub status: &'static str,
    pub message: String,
    pub correlation_id: String,
    /// 429: seconds to wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// 413 for a body over `INGEST_MAX_BODY_BYTES`: that limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// 503 with the queue full: its length and cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_limit: Option<u64>,
    /// 400 for a batch without one valid event: 0, and why each was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<Rejected>>,
}

impl Refusal {
    pub fn new(message: impl Into<String>, correlation_id: &str) -> Self {
        Self {
            status: "error",
            message: message.into(),
            correlation_id: correlation_id.to_owned(),
            retry_after: None,
            limit: None,
            queue_depth: None,
            queue_limit: None,
            queued: None,
            rejected: None,
        }
    }

    pub fn answer(self, status: StatusCode) -> HttpResponse {
        HttpResponse::build(status).json(self)
    }
}

/// `GET /`: what this service is and serves (v2.5's answer).
#[derive(Serialize, ToSchema)]
pub struct Info {
    pub service: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    /// Each endpoint and how to call it.
    pub endpoints: BTreeMap<&'static str, &'static str>,
}
