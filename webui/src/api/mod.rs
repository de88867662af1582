//! The JSON API, mounted identically under `/api/v1` and `/api/v2`, with v2.5's
//! version headers on every response and `X-API-Deprecated: true` on v1. Extractor
//! failures (a body that is not a JSON object, a bad query) are 400s with a JSON body.
//!
//! Each handler checks the key, reads the request into the service layer's typed input
//! ([`crate::service`]), calls it and serialises what it returns: no SQL here.

mod audit;
mod config;
mod dashboard;
mod dlq;
mod hosts;
mod keys;
pub mod openapi;
mod rule_file;
mod rules;
mod silences;
pub(crate) mod system;
mod usage;

pub use usage::ApiUsage;

use crate::auth::authorize;
use crate::auth::correlation_id;
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::Caller;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};
use shared::store::api_keys::Scope;

/// The answer to a change that returns nothing else.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Message {
    message: &'static str,
}

impl Message {
    fn new(message: &'static str) -> Self {
        Self { message }
    }
}

/// A body that may be left out: nothing (or only whitespace) reads as `{}`, anything else
/// must be a JSON object. (actix's `Option<Json<_>>` would read a body it cannot parse as
/// no body, and go ahead.)
fn optional_object(
    body: &web::Bytes,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(ApiError::bad("the body, when sent, must be a JSON object")),
        Err(e) => Err(ApiError::bad(format!("invalid JSON body: {e}"))),
    }
}

/// Largest request body the API reads.
const MAX_BODY: usize = 256 * 1024;

pub fn mount(cfg: &mut web::ServiceConfig) {
    for (prefix, deprecated) in [("/api/v1", "true"), ("/api/v2", "false")] {
        let document = |cfg: &mut web::ServiceConfig| {
            // The document describes /api/v2; /api/v1 answers the same, deprecated.
            if prefix == "/api/v2" {
                cfg.service(
                    shared::process::admin::resource("/openapi.json", "GET").get(openapi::serve),
                );
            }
        };
        cfg.service(
            web::scope(prefix)
                .wrap(actix_web::middleware::from_fn(usage::count))
                .wrap(
                    DefaultHeaders::new()
                        .add(("X-API-Version", system::API_VERSION))
                        .add(("X-API-Supported-Versions", system::SUPPORTED_VERSIONS))
                        .add(("X-API-Deprecated", deprecated)),
                )
                .app_data(
                    web::JsonConfig::default()
                        .limit(MAX_BODY)
                        .error_handler(|e, _| {
                            actix_web::Error::from(ApiError::bad(format!("invalid JSON body: {e}")))
                        }),
                )
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    actix_web::Error::from(ApiError::bad(format!("invalid query: {e}")))
                }))
                .app_data(web::PathConfig::default().error_handler(|_, _| {
                    actix_web::Error::from(ApiError::NotFound("Not found".into()))
                }))
                .configure(document)
                .configure(system::routes)
                // Before `/rules/{id}`, which would take `export` for an id.
                .configure(rule_file::routes)
                .configure(rules::routes)
                .configure(hosts::routes)
                .configure(keys::routes)
                .configure(silences::routes)
                .configure(dlq::routes)
                .configure(audit::routes)
                .configure(config::routes)
                .configure(dashboard::routes)
                .default_service(web::to(|| async {
                    HttpResponse::NotFound().json(serde_json::json!({"error": "Not found"}))
                })),
        );
    }
}

/// The caller of a request whose key has `scope` (401 without a valid key, 403 without
/// the scope).
async fn caller(req: &HttpRequest, state: &AppState, scope: Scope) -> Result<Caller, ApiError> {
    let holder = authorize(req, state, scope).await?;
    Ok(Caller::new(holder, correlation_id(req)))
}

/// Checks that the request's key may read.
async fn reader(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    authorize(req, state, Scope::Read).await.map(drop)
}
