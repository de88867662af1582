//! The JSON API, mounted identically under `/api/v1` and `/api/v2`, with v2.5's
//! version headers on every response and `X-API-Deprecated: true` on v1. Extractor
//! failures (a body that is not a JSON object, a bad query) are 400s with a JSON body.

pub(crate) mod audit;
pub(crate) mod config;
pub(crate) mod dashboard;
pub(crate) mod dlq;
mod fields;
pub(crate) mod hosts;
pub(crate) mod pagination;
pub(crate) mod rule_test;
pub(crate) mod rules;
pub(crate) mod system;

pub use dashboard::DashboardCache;

use crate::error::ApiError;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};

/// Largest request body the API reads.
const MAX_BODY: usize = 256 * 1024;

pub fn mount(cfg: &mut web::ServiceConfig) {
    for (prefix, deprecated) in [("/api/v1", "true"), ("/api/v2", "false")] {
        cfg.service(
            web::scope(prefix)
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
                .configure(system::routes)
                .configure(rule_test::routes)
                .configure(rules::routes)
                .configure(hosts::routes)
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
