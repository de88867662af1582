//! Who is calling, and may they. A request carries its key in `X-API-KEY`; on `/api/v1`
//! routes (v2.5's), the `api_key` query parameter is still accepted, and logged as
//! deprecated. The static `WEBUI_API_KEY` is an `admin` key named `webui-api-key`
//! (compared in constant time); any other key is looked up by its hash among the named
//! keys. There is no default key.

use crate::error::ApiError;
use crate::service::AppState;
use actix_web::{HttpRequest, web};
use secrecy::ExposeSecret;
use shared::store::api_keys::{self, KeyHolder, Scope};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// The name audits record for the static `WEBUI_API_KEY`.
pub const STATIC_KEY_NAME: &str = "webui-api-key";

fn presented_key(req: &HttpRequest) -> Option<String> {
    if let Some(key) = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.to_owned());
    }
    if !req.path().starts_with("/api/v1/") {
        return None;
    }
    let query = web_query(req)?;
    tracing::warn!(
        path = req.path(),
        "api_key in the query string is deprecated; send X-API-KEY"
    );
    Some(query)
}

fn web_query(req: &HttpRequest) -> Option<String> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .ok()?
        .into_inner()
        .remove("api_key")
}

/// Whose key this is: the static `WEBUI_API_KEY` (admin) or a named key; `None` when it
/// is neither.
pub async fn holder_of(state: &AppState, key: &str) -> Result<Option<KeyHolder>, ApiError> {
    if let Some(static_key) = &state.static_key
        && bool::from(key.as_bytes().ct_eq(static_key.expose_secret().as_bytes()))
    {
        return Ok(Some(KeyHolder {
            name: STATIC_KEY_NAME.into(),
            scopes: vec![Scope::Admin],
        }));
    }
    Ok(api_keys::find_key(&state.pool, key).await?)
}

/// Whether the key whose SHA-256 is `hash` still works: the static key while it is
/// configured, a named key while it is active.
pub async fn key_works(state: &AppState, hash: &str) -> Result<bool, ApiError> {
    if hash.is_empty() {
        return Ok(false);
    }
    if let Some(static_key) = &state.static_key
        && bool::from(
            api_keys::key_hash(static_key.expose_secret())
                .as_bytes()
                .ct_eq(hash.as_bytes()),
        )
    {
        return Ok(true);
    }
    Ok(api_keys::is_active(&state.pool.get().await?, hash).await?)
}

/// The caller, if their key allows `needed`: 401 without a valid key, 403 without the scope.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    needed: Scope,
) -> Result<KeyHolder, ApiError> {
    let key = presented_key(req).ok_or(ApiError::Unauthorized)?;
    let holder = holder_of(state, &key)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if holder.may(needed) {
        Ok(holder)
    } else {
        Err(ApiError::Forbidden(needed.as_str()))
    }
}

/// The request's correlation id: a valid `X-Correlation-ID`, else a new one.
pub fn correlation_id(req: &actix_web::HttpRequest) -> String {
    shared::event::correlation_id(
        req.headers()
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok()),
    )
}
