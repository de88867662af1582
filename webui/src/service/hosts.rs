//! Development hosts (their events get a rule's dev handling) and device → team
//! mappings, through `shared::store::hosts`. Every change is audited in the same
//! transaction (record id 0, the hostname in the values; v2.5's rows) and the alerters are
//! told to reload.

use super::AppState;
use super::fields::Fields;
use super::{Caller, Change, audited, values};
use crate::error::ApiError;
use shared::store::hosts as store;
pub use shared::store::hosts::{DevHost, TeamMapping};

/// `POST /dev-hosts`'s body.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct DevHostInput {
    #[schema(max_length = 255, pattern = "\\S")]
    hostname: String,
    /// Why, for the configuration audit.
    #[schema(max_length = 10000)]
    reason: Option<String>,
}

/// `POST /teams`'s body.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct TeamInput {
    #[schema(max_length = 255, pattern = "\\S")]
    hostname: String,
    #[schema(max_length = 100, pattern = "\\S")]
    team_assignment: String,
    /// Why, for the configuration audit.
    #[schema(max_length = 10000)]
    reason: Option<String>,
}

/// `PUT /teams/{hostname}`'s body.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct TeamUpdate {
    #[schema(max_length = 100, pattern = "\\S")]
    team_assignment: String,
    /// Why, for the configuration audit.
    #[schema(max_length = 10000)]
    reason: Option<String>,
}

/// A dev host from `hostname`.
pub fn dev_host_of(fields: &Fields) -> Result<DevHost, ApiError> {
    let hostname = fields
        .required_text("hostname", 255, true)
        .map_err(|_| ApiError::bad("hostname is required"))?
        .unwrap_or_default();
    Ok(DevHost { hostname })
}

/// A mapping from `hostname` and `team_assignment`.
pub fn mapping_of(fields: &Fields) -> Result<TeamMapping, ApiError> {
    let required = "hostname and team_assignment are required";
    let text = |name, max| {
        fields
            .required_text(name, max, true)
            .map_err(|_| ApiError::bad(required))
            .map(Option::unwrap_or_default)
    };
    Ok(TeamMapping {
        hostname: text("hostname", 255)?,
        team_assignment: text("team_assignment", 100)?,
    })
}

/// The new team from `team_assignment`.
pub fn team_of(fields: &Fields) -> Result<String, ApiError> {
    Ok(fields
        .required_text("team_assignment", 100, true)
        .map_err(|_| ApiError::bad("team_assignment is required"))?
        .unwrap_or_default())
}

pub async fn dev_hosts(state: &AppState) -> Result<Vec<DevHost>, ApiError> {
    Ok(store::dev_hosts(&state.pool.get().await?).await?)
}

fn not_found() -> ApiError {
    ApiError::NotFound("Hostname not found".into())
}

pub async fn add_dev_host(
    state: &AppState,
    caller: &Caller,
    host: DevHost,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    audited(state, caller, reason, async |tx| {
        if !store::add_dev_host(tx, &host.hostname).await? {
            return Err(ApiError::Conflict("Hostname already exists".into()));
        }
        let change = Change {
            operation: "CREATE",
            table_name: "development_hosts",
            record_id: 0,
            old_values: None,
            new_values: values(&host),
        };
        Ok(((), change))
    })
    .await
}

pub async fn remove_dev_host(
    state: &AppState,
    caller: &Caller,
    hostname: &str,
) -> Result<(), ApiError> {
    audited(state, caller, None, async |tx| {
        if !store::remove_dev_host(tx, hostname).await? {
            return Err(not_found());
        }
        let change = Change {
            operation: "DELETE",
            table_name: "development_hosts",
            record_id: 0,
            old_values: values(&DevHost {
                hostname: hostname.to_owned(),
            }),
            new_values: None,
        };
        Ok(((), change))
    })
    .await
}

pub async fn teams(state: &AppState) -> Result<Vec<TeamMapping>, ApiError> {
    Ok(store::teams(&state.pool.get().await?).await?)
}

pub async fn add_team(
    state: &AppState,
    caller: &Caller,
    mapping: TeamMapping,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    audited(state, caller, reason, async |tx| {
        if !store::add_team(tx, &mapping).await? {
            return Err(ApiError::Conflict(
                "Hostname already has a team assignment".into(),
            ));
        }
        let change = Change {
            operation: "CREATE",
            table_name: "device_teams",
            record_id: 0,
            old_values: None,
            new_values: values(&mapping),
        };
        Ok(((), change))
    })
    .await
}

pub async fn set_team(
    state: &AppState,
    caller: &Caller,
    hostname: &str,
    team: String,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    audited(state, caller, reason, async |tx| {
        let old = store::set_team(tx, hostname, &team)
            .await?
            .ok_or_else(not_found)?;
        let mapping = |team_assignment| TeamMapping {
            hostname: hostname.to_owned(),
            team_assignment,
        };
        let change = Change {
            operation: "UPDATE",
            table_name: "device_teams",
            record_id: 0,
            old_values: values(&mapping(old)),
            new_values: values(&mapping(team.clone())),
        };
        Ok(((), change))
    })
    .await
}

pub async fn remove_team(
    state: &AppState,
    caller: &Caller,
    hostname: &str,
) -> Result<(), ApiError> {
    audited(state, caller, None, async |tx| {
        let old = store::remove_team(tx, hostname)
            .await?
            .ok_or_else(not_found)?;
        let change = Change {
            operation: "DELETE",
            table_name: "device_teams",
            record_id: 0,
            old_values: values(&TeamMapping {
                hostname: hostname.to_owned(),
                team_assignment: old,
            }),
            new_values: None,
        };
        Ok(((), change))
    })
    .await
}
