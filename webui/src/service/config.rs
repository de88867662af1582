//! Dynamic configuration with a schema (`shared::dynamic_config`). Only settings some
//! service reads may be set, and only to values it parses (v2.5 stored anything, `true`
//! as `"True"`). A change is audited (`table_name` `dynamic_config`) and published on
//! `mutt:config:updates`; services see it within a second.
//!
//! Redis and PostgreSQL cannot share a transaction: the audit row is written in a
//! transaction that commits only after Redis took the value, and a failed commit puts
//! the old value back, so a change and its audit row stand or fall together.

use super::AppState;
use super::audit::{self, ConfigQuery, ConfigRecord, Found};
use super::paging::Page;
use super::{Caller, values};
use crate::error::ApiError;
use serde::Serialize;
use serde_json::Value;
use shared::dynamic_config::{SETTINGS, normalise, setting};
use shared::store::api_keys::Scope;
use shared::store::config_audit::{self, ConfigChange};

/// `PUT /config/{key}`'s body.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct SettingInput {
    /// The new value: a number, or a number as text; which numbers, the setting says.
    #[schema(schema_with = number_or_text)]
    value: Value,
    /// Why, for the configuration audit.
    #[schema(max_length = 10000)]
    reason: Option<String>,
}

fn number_or_text() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::String))
        .into()
}

/// A setting's name in a path: one of [`SETTINGS`], listed in the OpenAPI document.
pub struct SettingKey;

impl utoipa::PartialSchema for SettingKey {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(SETTINGS.iter().map(|s| s.key())))
            .into()
    }
}

impl utoipa::ToSchema for SettingKey {}

/// A setting, its current value (when one is set) and what reads it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SettingValue {
    pub key: &'static str,
    pub value: Option<String>,
    pub read_by: &'static str,
    pub description: &'static str,
}

/// What a change did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SettingChange {
    pub key: &'static str,
    pub old_value: Option<String>,
    pub new_value: String,
}

#[derive(Serialize)]
struct Stored<'a> {
    key: &'a str,
    value: &'a str,
}

/// Every setting with its value now.
pub async fn settings(state: &AppState) -> Result<Vec<SettingValue>, ApiError> {
    let keys: Vec<String> = SETTINGS
        .iter()
        .map(|s| state.keys.config(s.key()))
        .collect();
    let values: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&keys)
        .query_async(&mut state.redis.clone())
        .await?;
    Ok(SETTINGS
        .iter()
        .zip(values)
        .map(|(s, value)| SettingValue {
            key: s.key(),
            value,
            read_by: s.read_by,
            description: s.description,
        })
        .collect())
}

/// Sets `key` to `value` (checked and normalised as its readers parse it), audited.
pub async fn set(
    state: &AppState,
    caller: &Caller,
    key: &str,
    value: &Value,
    reason: Option<&str>,
) -> Result<SettingChange, ApiError> {
    caller.require(Scope::Admin)?;
    let setting = setting(key).ok_or_else(|| {
        ApiError::bad(format!(
            "unknown configuration key {key:?}; known: {}",
            SETTINGS
                .iter()
                .map(|s| s.key())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let new_value = normalise(setting, value).map_err(ApiError::BadRequest)?;
    let redis_key = state.keys.config(setting.key());
    let mut redis = state.redis.clone();

    let mut conn = state.pool.get().await?;
    let tx = conn.transaction().await?;
    let old_value: Option<String> = redis::cmd("GET")
        .arg(&redis_key)
        .query_async(&mut redis)
        .await?;
    config_audit::record(
        &tx,
        &ConfigChange {
            changed_by: caller.name(),
            operation: if old_value.is_some() {
                "UPDATE"
            } else {
                "CREATE"
            },
            table_name: "dynamic_config",
            record_id: 0,
            old_values: old_value.as_deref().and_then(|value| {
                values(&Stored {
                    key: setting.key(),
                    value,
                })
            }),
            new_values: values(&Stored {
                key: setting.key(),
                value: &new_value,
            }),
            reason,
            correlation_id: Some(&caller.correlation_id),
        },
    )
    .await?;
    let _: () = redis::cmd("SET")
        .arg(&redis_key)
        .arg(&new_value)
        .query_async(&mut redis)
        .await?;
    if let Err(error) = tx.commit().await {
        let mut undo = redis::cmd("DEL");
        if let Some(old) = &old_value {
            undo = redis::cmd("SET");
            undo.arg(&redis_key).arg(old);
        } else {
            undo.arg(&redis_key);
        }
        let _: Result<(), _> = undo.query_async(&mut redis).await;
        return Err(error.into());
    }
    let _: Result<i64, _> = redis::cmd("PUBLISH")
        .arg(state.keys.config_updates_channel())
        .arg(setting.key())
        .query_async(&mut redis)
        .await;
    Ok(SettingChange {
        key: setting.key(),
        old_value,
        new_value,
    })
}

/// Changes of the dynamic settings, newest first.
pub async fn history(state: &AppState, page: &Page) -> Result<Found<ConfigRecord>, ApiError> {
    let query = ConfigQuery {
        table_name: Some("dynamic_config".into()),
        ..ConfigQuery::default()
    };
    audit::changes(state, page, &query).await
}
