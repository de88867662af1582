//! The dead-letter queues for operators, over `shared::queue::dead_letter`: depths, the items of one
//! queue (oldest first), replay and purge. Reading needs `read`; replay and purge `admin`.

use super::AppState;
use super::Caller;
use super::fields::Fields;
use crate::error::ApiError;
use serde::Serialize;
use serde_json::Value;
use shared::queue::dead_letter::{Dlq, DlqError, DlqName, ReplayReport};
use shared::store::api_keys::Scope;

/// Most items one page lists.
pub const MAX_LIMIT: u64 = 200;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QueueDepth {
    pub name: &'static str,
    pub depth: u64,
}

/// A page of one queue.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Listing {
    pub name: &'static str,
    pub depth: u64,
    pub offset: u64,
    pub limit: u64,
    /// Each item as stored (a string where it is not JSON).
    pub items: Vec<Value>,
}

/// `POST /dlq/{name}/replay`'s body: `{"count": N}` or `{"all": true}`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct ReplayInput {
    /// The oldest this many items.
    #[schema(value_type = i32, required = false, minimum = 1)]
    count: Option<i32>,
    /// Every item (instead of `count`).
    #[schema(value_type = bool, required = false)]
    all: Option<bool>,
}

/// The queue `text` names, or a 404.
pub fn queue(text: &str) -> Result<DlqName, ApiError> {
    DlqName::parse(text).ok_or_else(|| {
        ApiError::NotFound(format!(
            "unknown DLQ {text:?}: expected alerter, moog or dead"
        ))
    })
}

pub async fn depths(state: &AppState) -> Result<Vec<QueueDepth>, ApiError> {
    let dlq = Dlq::new(&state.keys);
    let mut redis = state.redis.clone();
    let mut queues = Vec::new();
    for name in DlqName::ALL {
        let depth = dlq.depth(&mut redis, name).await?;
        queues.push(QueueDepth {
            name: name.as_str(),
            depth,
        });
    }
    Ok(queues)
}

pub async fn items(
    state: &AppState,
    name: DlqName,
    offset: u64,
    limit: u64,
) -> Result<Listing, ApiError> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let dlq = Dlq::new(&state.keys);
    let mut redis = state.redis.clone();
    let depth = dlq.depth(&mut redis, name).await?;
    let items = dlq.list(&mut redis, name, offset, limit).await?;
    Ok(Listing {
        name: name.as_str(),
        depth,
        offset,
        limit,
        items,
    })
}

/// How many items a replay asks for, from `count` (N ≥ 1) or `all` (`true`): `None` for
/// all of them.
pub fn replay_count(fields: &Fields) -> Result<Option<u64>, ApiError> {
    match (fields.integer("count")?, fields.boolean("all")?) {
        (Some(n), None | Some(false)) if n > 0 => Ok(Some(n as u64)),
        (None, Some(true)) => Ok(None),
        _ => Err(ApiError::bad(
            "send {\"count\": N} with N ≥ 1, or {\"all\": true}",
        )),
    }
}

/// Replays the oldest `count` items (all of them with `None`).
pub async fn replay(
    state: &AppState,
    caller: &Caller,
    name: DlqName,
    count: Option<u64>,
) -> Result<ReplayReport, ApiError> {
    caller.require(Scope::Admin)?;
    Dlq::new(&state.keys)
        .replay(
            &mut state.redis.clone(),
            name,
            count,
            state.max_poison_retries,
        )
        .await
        .map_err(|e| match e {
            DlqError::NotReplayable => ApiError::bad(format!(
                "the {} DLQ cannot be replayed; inspect or purge it",
                name.as_str()
            )),
            other => ApiError::Unavailable(other.to_string()),
        })
}

/// Removes every item; returns how many there were.
pub async fn purge(state: &AppState, caller: &Caller, name: DlqName) -> Result<u64, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(Dlq::new(&state.keys)
        .purge(&mut state.redis.clone(), name)
        .await?)
}
