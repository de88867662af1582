//! Silences (maintenance windows): list, create, extend, expire and delete (admin scope
//! for changes), each change audited in `config_audit_log` and announced, so that the
//! alerters take it within a second, as they take rule changes.
//!
//! A silence is checked with the alerter's own compiler (`shared::rules::Silence`), so a
//! glob or regex the alerter could not use is refused here. An expired silence stays
//! expired: it cannot be extended (make a new one), and it never matches again.

use super::fields::Fields;
use super::paging::{Page, Pagination};
use super::{AppState, Caller, Change, audited, values};
use crate::error::ApiError;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use shared::rules::SilenceError;
use shared::store::api_keys::Scope;
use shared::store::silences::{self as store, NewSilence, SilenceRecord, SilenceState};

/// The longest a silence may last: a longer one is a rule change in disguise.
pub const MAX_DURATION: Duration = Duration::days(366);

/// `POST /silences`'s body. At least one matcher; `ends_at` or `duration_seconds`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct SilenceInput {
    /// Exact, or a glob (`*`, `?`, `[a-z]`, `{a,b}`); case-insensitive.
    #[schema(max_length = 255, pattern = "\\S")]
    hostname: Option<String>,
    /// The team the event would go to (its rule's, or the host's device team).
    #[schema(max_length = 100, pattern = "\\S")]
    team: Option<String>,
    /// The id of an existing rule.
    rule_id: Option<i32>,
    /// Case-insensitive, unanchored regular expression searched for in the message.
    #[schema(max_length = 1000, pattern = "\\S")]
    message_regex: Option<String>,
    /// RFC 3339; now when absent.
    #[schema(format = DateTime)]
    starts_at: Option<String>,
    /// RFC 3339; or give `duration_seconds`.
    #[schema(format = DateTime)]
    ends_at: Option<String>,
    /// How long from its start; or give `ends_at`.
    #[schema(minimum = 1, maximum = 31622400)]
    duration_seconds: Option<i32>,
    /// Why: the change, the ticket.
    #[schema(max_length = 10000, pattern = "\\S")]
    reason: String,
}

/// `POST /silences/{id}/extend`'s body: `ends_at` or `by_seconds`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct ExtendInput {
    /// The new end, RFC 3339, later than now.
    #[schema(format = DateTime)]
    ends_at: Option<String>,
    /// How much later than its current end it ends.
    #[schema(minimum = 1, maximum = 31622400)]
    by_seconds: Option<i32>,
    /// Why, for the configuration audit.
    #[schema(max_length = 10000)]
    reason: Option<String>,
}

/// A page of silences.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SilenceList {
    /// Active and upcoming ones by end, then the expired ones newest first.
    pub silences: Vec<SilenceRecord>,
    pub pagination: Pagination,
}

impl From<SilenceError> for ApiError {
    fn from(e: SilenceError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

fn time(fields: &Fields, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = fields.text(name, 100)?.flatten() else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| ApiError::bad(format!("{name} must be an RFC 3339 time")))
}

fn seconds(fields: &Fields, name: &str) -> Result<Option<Duration>, ApiError> {
    match fields.integer(name)? {
        None => Ok(None),
        Some(n) if n >= 1 && Duration::seconds(n.into()) <= MAX_DURATION => {
            Ok(Some(Duration::seconds(n.into())))
        }
        Some(_) => Err(ApiError::bad(format!(
            "{name}: 1 to {} seconds",
            MAX_DURATION.num_seconds()
        ))),
    }
}

/// A new silence from a request's fields, checked as the alerter will compile it.
pub fn new_silence_of(fields: &Fields, now: DateTime<Utc>) -> Result<NewSilence, ApiError> {
    let starts_at = time(fields, "starts_at")?.unwrap_or(now);
    let ends_at = match (
        time(fields, "ends_at")?,
        seconds(fields, "duration_seconds")?,
    ) {
        (Some(end), None) => end,
        (None, Some(duration)) => starts_at + duration,
        _ => {
            return Err(ApiError::bad(
                "give ends_at or duration_seconds (one of them)",
            ));
        }
    };
    if ends_at - starts_at > MAX_DURATION {
        return Err(ApiError::bad("a silence lasts at most 366 days"));
    }
    if ends_at <= now {
        return Err(ApiError::bad("ends_at is not in the future"));
    }
    let new = NewSilence {
        hostname: fields.required_text("hostname", 255, false)?,
        team: fields.required_text("team", 100, false)?,
        rule_id: fields.integer("rule_id")?,
        message_regex: fields.required_text("message_regex", 1000, false)?,
        starts_at,
        ends_at,
        reason: fields
            .required_text("reason", 10_000, true)?
            .unwrap_or_default(),
    };
    new.silence(0).validate()?;
    Ok(new)
}

/// The new end an extension asks for: `ends_at`, or `by_seconds` after `current`.
pub fn new_end_of(fields: &Fields, current: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    match (time(fields, "ends_at")?, seconds(fields, "by_seconds")?) {
        (Some(end), None) => Ok(end),
        (None, Some(by)) => Ok(current + by),
        _ => Err(ApiError::bad("give ends_at or by_seconds (one of them)")),
    }
}

/// `state` as a query parameter: `active`, `upcoming`, `expired`, or all when absent.
pub fn state_of(text: Option<&str>) -> Result<Option<SilenceState>, ApiError> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            SilenceState::parse(t)
                .ok_or_else(|| ApiError::bad("state: active, upcoming or expired"))
        })
        .transpose()
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    wanted: Option<SilenceState>,
    page: &Page,
) -> Result<SilenceList, ApiError> {
    caller.require(Scope::Read)?;
    let (limit, offset) = page.bounds(state.page_size)?;
    let (silences, total) = store::list(&state.pool.get().await?, wanted, limit, offset).await?;
    Ok(SilenceList {
        silences,
        pagination: Pagination::new(page, limit, total),
    })
}

pub async fn get(state: &AppState, caller: &Caller, id: i32) -> Result<SilenceRecord, ApiError> {
    caller.require(Scope::Read)?;
    store::get(&state.pool.get().await?, id)
        .await?
        .ok_or_else(|| not_found(id))
}

fn not_found(id: i32) -> ApiError {
    ApiError::NotFound(format!("silence {id} not found"))
}

/// Silence `id`, locked for the rest of `tx`, or a 404.
async fn locked(
    tx: &deadpool_postgres::Transaction<'_>,
    id: i32,
) -> Result<SilenceRecord, ApiError> {
    store::lock(tx, id).await?.ok_or_else(|| not_found(id))
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    new: &NewSilence,
) -> Result<SilenceRecord, ApiError> {
    audited(state, caller, Some(&new.reason), async |tx| {
        if let Some(rule) = new.rule_id
            && shared::store::rules::get(tx, rule).await?.is_none()
        {
            return Err(ApiError::bad(format!(
                "rule_id: rule {rule} does not exist"
            )));
        }
        let made = store::insert(tx, new, caller.name()).await?;
        let change = Change {
            operation: "CREATE",
            table_name: "silences",
            record_id: made.id,
            old_values: None,
            new_values: values(&made),
        };
        Ok((made, change))
    })
    .await
}

/// Moves the end of a silence that has not ended; `new_end` picks the end from the
/// silence as it stands.
pub async fn extend(
    state: &AppState,
    caller: &Caller,
    id: i32,
    new_end: impl FnOnce(DateTime<Utc>) -> Result<DateTime<Utc>, ApiError>,
    reason: Option<&str>,
) -> Result<SilenceRecord, ApiError> {
    audited(state, caller, reason, async |tx| {
        let old = locked(tx, id).await?;
        if old.state == SilenceState::Expired {
            return Err(ApiError::Conflict(format!(
                "silence {id} has expired and stays so: make a new one"
            )));
        }
        let end = new_end(old.ends_at.0)?;
        if end <= Utc::now() || end <= old.starts_at.0 {
            return Err(ApiError::bad(
                "the new end must be in the future and after the start (to end it now, expire it)",
            ));
        }
        if end - old.starts_at.0 > MAX_DURATION {
            return Err(ApiError::bad("a silence lasts at most 366 days"));
        }
        let new = store::set_end(tx, id, end).await?;
        Ok((new.clone(), update(&old, &new)))
    })
    .await
}

/// Ends a silence now; an upcoming one never starts.
pub async fn expire(
    state: &AppState,
    caller: &Caller,
    id: i32,
    reason: Option<&str>,
) -> Result<SilenceRecord, ApiError> {
    audited(state, caller, reason, async |tx| {
        let old = locked(tx, id).await?;
        if old.state == SilenceState::Expired {
            return Err(ApiError::Conflict(format!(
                "silence {id} has expired already"
            )));
        }
        let new = store::expire(tx, id).await?;
        Ok((new.clone(), update(&old, &new)))
    })
    .await
}

fn update(old: &SilenceRecord, new: &SilenceRecord) -> Change {
    Change {
        operation: "UPDATE",
        table_name: "silences",
        record_id: new.id,
        old_values: values(old),
        new_values: values(new),
    }
}

/// Deletes a silence, in whatever state. The audit rows of the events it quieted keep its
/// id, and the configuration audit keeps what it was.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    id: i32,
    reason: Option<&str>,
) -> Result<SilenceRecord, ApiError> {
    audited(state, caller, reason, async |tx| {
        let old = locked(tx, id).await?;
        store::delete(tx, id).await?;
        let change = Change {
            operation: "DELETE",
            table_name: "silences",
            record_id: id,
            old_values: values(&old),
            new_values: None,
        };
        Ok((old, change))
    })
    .await
}
