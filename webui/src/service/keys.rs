//! Named API keys: list, create, revoke and rotate (admin scope), each change audited in
//! `config_audit_log` (never with key material) and mirrored to Redis at once, so that the
//! ingestors stop taking a revoked key within their key cache's few seconds. Signed-in UI
//! sessions check their key on every page ([`crate::ui::session`]), so revoking a key ends
//! them too.

use super::fields::Fields;
use super::{AppState, Caller, Change, audited};
use crate::error::ApiError;
use serde::Serialize;
use serde_json::json;
use shared::store::api_keys::{self as store, KeyError, KeyInfo, Scope};
use std::time::Duration;

/// The longest grace a rotation may give the old key.
pub const MAX_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);

/// `POST /keys`'s body.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct KeyInput {
    #[schema(max_length = 100, pattern = "\\S")]
    name: String,
    #[schema(min_items = 1)]
    scopes: Vec<Scope>,
    /// Why, for the configuration audit.
    #[schema(max_length = 10000)]
    reason: Option<String>,
}

/// `POST /keys/{name}/rotate`'s body, optional.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct RotateInput {
    /// How long the old key keeps working (0, the default: it stops now).
    #[schema(value_type = i32, required = false, minimum = 0, maximum = 2592000)]
    grace_seconds: Option<i32>,
    /// Why, for the configuration audit.
    #[schema(max_length = 10000)]
    reason: Option<String>,
}

/// A key just made: the only time its text is shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub key: String,
    /// After a rotation: when the old key stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_key_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NoScopes | KeyError::BadName => ApiError::BadRequest(e.to_string()),
            KeyError::NameTaken(_) => ApiError::Conflict(e.to_string()),
            KeyError::NotFound(_) => ApiError::NotFound(e.to_string()),
            KeyError::Db(e) => ApiError::from(e),
            KeyError::Pool(e) => ApiError::from(e),
        }
    }
}

/// `name` and `scopes` (a list) of a new key.
pub fn new_key_of(fields: &Fields) -> Result<(String, Vec<Scope>), ApiError> {
    let name = fields
        .required_text("name", 100, true)
        .map_err(|_| ApiError::bad("name is required (1 to 100 characters)"))?
        .unwrap_or_default();
    let wrong = || ApiError::bad("scopes: one or more of ingest, read, admin");
    let texts: Vec<&str> = match fields.raw("scopes") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(wrong))
            .collect::<Result<_, _>>()?,
        _ => return Err(wrong()),
    };
    let scopes: Option<Vec<Scope>> = texts.iter().map(|s| Scope::parse(s)).collect();
    match scopes {
        Some(scopes) if !scopes.is_empty() => Ok((name, scopes)),
        _ => Err(wrong()),
    }
}

/// The grace period of a rotation, `grace_seconds` (default 0: the old key stops now).
pub fn grace_of(fields: &Fields) -> Result<Duration, ApiError> {
    let seconds = fields.integer("grace_seconds")?.unwrap_or(0);
    let seconds =
        u64::try_from(seconds).map_err(|_| ApiError::bad("grace_seconds must not be negative"))?;
    let grace = Duration::from_secs(seconds);
    if grace > MAX_GRACE {
        return Err(ApiError::bad("grace_seconds: at most 30 days"));
    }
    Ok(grace)
}

/// Every key, newest first; "last used" is the latest of the web UI's note (PostgreSQL)
/// and the ingestors' (Redis).
pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<KeyInfo>, ApiError> {
    caller.require(Scope::Admin)?;
    let mut keys = store::list_keys(&state.pool.get().await?).await?;
    let seen = shared::redis::api_key_mirror::last_used(&mut state.redis.clone(), &state.keys)
        .await
        .unwrap_or_default();
    for key in &mut keys {
        if let Some(at) = seen.get(&key.key_sha256) {
            key.last_used_at = key.last_used_at.max(Some(*at));
        }
    }
    Ok(keys)
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: &str,
    scopes: &[Scope],
    reason: Option<&str>,
) -> Result<NewKey, ApiError> {
    let key = audited(state, caller, reason, async |tx| {
        let (key, id) = store::create_key(tx, name, scopes, caller.name()).await?;
        let change = Change {
            operation: "CREATE",
            table_name: "api_keys",
            record_id: id,
            old_values: None,
            new_values: Some(json!({"name": name, "scopes": scopes})),
        };
        Ok((key, change))
    })
    .await?;
    mirror(state).await;
    Ok(NewKey {
        name: name.to_owned(),
        scopes: scopes.to_vec(),
        key,
        old_key_until: None,
    })
}

pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    name: &str,
    reason: Option<&str>,
) -> Result<Vec<KeyInfo>, ApiError> {
    let revoked = audited(state, caller, reason, async |tx| {
        let revoked = store::revoke_key(tx, name).await?;
        let change = Change {
            operation: "DELETE",
            table_name: "api_keys",
            record_id: revoked.first().map_or(0, |k| k.id),
            old_values: Some(json!({"name": name, "key_ids": ids(&revoked)})),
            new_values: None,
        };
        Ok((revoked, change))
    })
    .await?;
    mirror(state).await;
    Ok(revoked)
}

pub async fn rotate(
    state: &AppState,
    caller: &Caller,
    name: &str,
    grace: Duration,
    reason: Option<&str>,
) -> Result<NewKey, ApiError> {
    let new = audited(state, caller, reason, async |tx| {
        let (key, id, old) = store::rotate_key(tx, name, grace, caller.name()).await?;
        let change = Change {
            operation: "UPDATE",
            table_name: "api_keys",
            record_id: id,
            old_values: Some(json!({"name": name, "key_id": old.id})),
            new_values: Some(json!({
                "name": name,
                "key_id": id,
                "old_key_until": old.revoked_at,
                "grace_seconds": grace.as_secs(),
            })),
        };
        Ok((
            NewKey {
                name: name.to_owned(),
                scopes: old.scopes.clone(),
                key,
                old_key_until: old.revoked_at,
            },
            change,
        ))
    })
    .await?;
    mirror(state).await;
    Ok(new)
}

fn ids(keys: &[KeyInfo]) -> Vec<i32> {
    keys.iter().map(|k| k.id).collect()
}

/// Writes the key directory the ingestors read; a failure is logged and the periodic
/// mirror repairs it.
async fn mirror(state: &AppState) {
    let mut redis = state.redis.clone();
    if let Err(error) =
        shared::redis::api_key_mirror::mirror(&state.pool, &mut redis, &state.keys).await
    {
        tracing::warn!(error = %error, "cannot mirror the API keys to Redis now; the periodic mirror will");
    }
}
