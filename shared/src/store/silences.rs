//! `silences`: every statement on the table. The alerter reads the silences that have not
//! ended (with the rules, in `rules::load_routing`); the web UI lists and changes them.
//! Ending a silence early sets its end to now: it stays listed as expired, and a deleted
//! one leaves its id on the audit rows it quieted.

use super::Stamp;
use crate::rules::Silence;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};
use tokio_postgres::{Error, Row};

/// Where a silence stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SilenceState {
    /// It has started and not ended: matching events are silenced.
    Active,
    /// It starts later.
    Upcoming,
    /// It has ended; it never matches again.
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Upcoming => "upcoming",
            Self::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Upcoming, Self::Expired]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The SQL condition that selects silences in this state.
    fn condition(self) -> &'static str {
        match self {
            Self::Active => "starts_at <= now() AND ends_at > now()",
            Self::Upcoming => "starts_at > now()",
            Self::Expired => "ends_at <= now()",
        }
    }
}

/// What a new silence is made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewSilence {
    pub hostname: Option<String>,
    pub team: Option<String>,
    pub rule_id: Option<i32>,
    pub message_regex: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

impl NewSilence {
    /// Its matchers and window as the alerter will compile them, under `id`.
    pub fn silence(&self, id: i32) -> Silence {
        Silence {
            id,
            hostname: self.hostname.clone(),
            team: self.team.clone(),
            rule_id: self.rule_id,
            message_regex: self.message_regex.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }
}

/// A stored silence, as operators see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SilenceRecord {
    pub id: i32,
    /// Exact, or a glob (`*`, `?`, `[…]`, `{a,b}`); case-insensitive.
    pub hostname: Option<String>,
    pub team: Option<String>,
    pub rule_id: Option<i32>,
    /// Case-insensitive, unanchored.
    pub message_regex: Option<String>,
    pub starts_at: Stamp,
    pub ends_at: Stamp,
    /// At the time of the answer.
    pub state: SilenceState,
    pub created_by: String,
    pub reason: String,
    pub created_at: Stamp,
    pub updated_at: Stamp,
}

impl SilenceRecord {
    /// The matchers and window the alerter uses.
    pub fn silence(&self) -> Silence {
        Silence {
            id: self.id,
            hostname: self.hostname.clone(),
            team: self.team.clone(),
            rule_id: self.rule_id,
            message_regex: self.message_regex.clone(),
            starts_at: self.starts_at.0,
            ends_at: self.ends_at.0,
        }
    }
}

const COLUMNS: &str = "id, hostname, team, rule_id, message_regex, starts_at, ends_at, \
    created_by, reason, created_at, updated_at, \
    CASE WHEN ends_at <= now() THEN 'expired' WHEN starts_at > now() THEN 'upcoming' \
    ELSE 'active' END AS state";

fn record(row: &Row) -> SilenceRecord {
    let state: &str = row.get("state");
    SilenceRecord {
        id: row.get("id"),
        hostname: row.get("hostname"),
        team: row.get("team"),
        rule_id: row.get("rule_id"),
        message_regex: row.get("message_regex"),
        starts_at: Stamp(row.get("starts_at")),
        ends_at: Stamp(row.get("ends_at")),
        state: SilenceState::parse(state).expect("the CASE gives a state"),
        created_by: row.get("created_by"),
        reason: row.get("reason"),
        created_at: Stamp(row.get("created_at")),
        updated_at: Stamp(row.get("updated_at")),
    }
}

/// Every silence that has not ended (active and upcoming), for the alerter.
pub async fn pending(client: &impl GenericClient) -> Result<Vec<Silence>, Error> {
    Ok(client
        .query(
            &format!("SELECT {COLUMNS} FROM silences WHERE ends_at > now() ORDER BY id"),
            &[],
        )
        .await?
        .iter()
        .map(|r| record(r).silence())
        .collect())
}

/// A page of silences, in `state` or all; active and upcoming ones by end, the expired
/// newest first; and how many there are.
pub async fn list(
    client: &impl GenericClient,
    state: Option<SilenceState>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SilenceRecord>, i64), Error> {
    let filter = state.map_or("TRUE", SilenceState::condition);
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM silences WHERE {filter} \
                 ORDER BY ends_at <= now(), CASE WHEN ends_at > now() THEN ends_at END, \
                 ends_at DESC, id DESC LIMIT $1 OFFSET $2"
            ),
            &[&limit, &offset],
        )
        .await?;
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM silences WHERE {filter}"),
            &[],
        )
        .await?
        .get(0);
    Ok((rows.iter().map(record).collect(), total))
}

pub async fn get(client: &impl GenericClient, id: i32) -> Result<Option<SilenceRecord>, Error> {
    Ok(client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM silences WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(record))
}

/// The silence, locked until the transaction ends.
pub async fn lock(client: &impl GenericClient, id: i32) -> Result<Option<SilenceRecord>, Error> {
    Ok(client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM silences WHERE id = $1 FOR UPDATE"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(record))
}

pub async fn insert(
    client: &impl GenericClient,
    new: &NewSilence,
    created_by: &str,
) -> Result<SilenceRecord, Error> {
    let row = client
        .query_one(
            &format!(
                "INSERT INTO silences (hostname, team, rule_id, message_regex, starts_at, ends_at, \
                 created_by, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
            ),
            &[
                &new.hostname,
                &new.team,
                &new.rule_id,
                &new.message_regex,
                &new.starts_at,
                &new.ends_at,
                &created_by,
                &new.reason,
            ],
        )
        .await?;
    Ok(record(&row))
}

/// Moves the silence's end to `ends_at`.
pub async fn set_end(
    client: &impl GenericClient,
    id: i32,
    ends_at: DateTime<Utc>,
) -> Result<SilenceRecord, Error> {
    let row = client
        .query_one(
            &format!(
                "UPDATE silences SET ends_at = $2, updated_at = now() WHERE id = $1 \
                 RETURNING {COLUMNS}"
            ),
            &[&id, &ends_at],
        )
        .await?;
    Ok(record(&row))
}

/// Ends the silence now (an upcoming one never starts).
pub async fn expire(client: &impl GenericClient, id: i32) -> Result<SilenceRecord, Error> {
    let row = client
        .query_one(
            &format!(
                "UPDATE silences SET ends_at = now(), starts_at = LEAST(starts_at, now()), \
                 updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[&id],
        )
        .await?;
    Ok(record(&row))
}

/// Deletes the silence; `false` when there was none.
pub async fn delete(client: &impl GenericClient, id: i32) -> Result<bool, Error> {
    Ok(client
        .execute("DELETE FROM silences WHERE id = $1", &[&id])
        .await?
        == 1)
}
