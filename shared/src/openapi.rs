//! What the ingest and management APIs' OpenAPI documents share: the admin endpoints both
//! services serve (`/health`, `/ready`, `/metrics`), the exact meaning of "not blank", and
//! the document's text as it is served and checked in under `docs/openapi/`.
//!
//! Request schemas mark text that must not be blank with `pattern = "\\S"` (readable, and
//! all a derive attribute can hold); [`finish`] replaces it with [`NOT_BLANK_PATTERN`],
//! which says exactly what the services check.

use utoipa::OpenApi;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

/// A JSON Schema `pattern` that a string matches when `str::trim` leaves something of it:
/// it holds a character outside Unicode's White_Space. The APIs refuse blank text with
/// `trim().is_empty()`. (`\S` would not do: which characters are white space differs
/// between regex dialects, and from Rust's.)
pub const NOT_BLANK_PATTERN: &str = "[^\\t\\n\\u000b\\u000c\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// The marker request schemas use for "not blank".
const NOT_BLANK_MARKER: &str = "\\S";

/// A document made ready to serve: with the admin endpoints, and "not blank" made exact.
pub fn finish(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    document.merge(AdminApi::openapi());
    if let Some(components) = &mut document.components {
        for schema in components.schemas.values_mut() {
            exact_not_blank(schema);
        }
    }
    document
}

/// The document as served and checked in: pretty JSON with a final newline.
pub fn to_text(document: &utoipa::openapi::OpenApi) -> String {
    let mut text = document.to_pretty_json().expect("a document serialises");
    text.push('\n');
    text
}

/// The answer to `GET` of a document: its text, as JSON.
pub fn answer(text: &'static str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(text)
}

/// The security scheme both APIs use: a key in the `X-API-KEY` header.
pub fn api_key_scheme(description: &str) -> SecurityScheme {
    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
        "X-API-KEY",
        description,
    )))
}

fn exact_not_blank(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(object) => {
            if object.pattern.as_deref() == Some(NOT_BLANK_MARKER) {
                object.pattern = Some(NOT_BLANK_PATTERN.to_owned());
            }
            object.properties.values_mut().for_each(exact_not_blank);
            if let Some(extra) = &mut object.additional_properties
                && let AdditionalProperties::RefOr(extra) = extra.as_mut()
            {
                exact_not_blank(extra);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                exact_not_blank(items);
            }
        }
        Schema::OneOf(one) => one.items.iter_mut().for_each(exact_not_blank),
        Schema::AllOf(all) => all.items.iter_mut().for_each(exact_not_blank),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(exact_not_blank),
        _ => {}
    }
}

#[derive(OpenApi)]
#[openapi(paths(health, ready, metrics))]
struct AdminApi;

/// `GET /health`: the process is up.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `healthy`.
    pub status: &'static str,
    pub service: &'static str,
    pub version: &'static str,
}

/// `GET /ready`: whether the service can do its work (its Redis and database answer).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub service: &'static str,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[utoipa::path(get, path = "/health", tag = "admin", operation_id = "health",
    responses((status = 200, description = "The process is up", body = Health)))]
#[allow(dead_code)] // Documents `crate::process::admin`'s route.
fn health() {}

#[utoipa::path(get, path = "/ready", tag = "admin", operation_id = "ready",
    responses((status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Redis or PostgreSQL does not answer", body = Readiness)))]
#[allow(dead_code)] // Documents `crate::process::admin`'s route.
fn ready() {}

#[utoipa::path(get, path = "/metrics", tag = "admin", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text format",
        content_type = "text/plain", body = String)))]
#[allow(dead_code)] // Documents `crate::process::admin`'s route.
fn metrics() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_not_blank_pattern_matches_exactly_the_characters_trim_keeps() {
        let pattern = regex::Regex::new(NOT_BLANK_PATTERN).expect("a regex");
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let text = c.to_string();
            assert_eq!(
                pattern.is_match(&text),
                !text.trim().is_empty(),
                "U+{:04X}",
                c as u32
            );
        }
    }
}
