//! `development_hosts` (their events get a rule's dev handling) and `device_teams`
//! (device → team): every statement on these two tables.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use tokio_postgres::Error;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DevHost {
    pub hostname: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TeamMapping {
    pub hostname: String,
    pub team_assignment: String,
}

/// Every dev host, by name.
pub async fn dev_hosts(client: &impl GenericClient) -> Result<Vec<DevHost>, Error> {
    Ok(client
        .query(
            "SELECT hostname FROM development_hosts ORDER BY hostname",
            &[],
        )
        .await?
        .iter()
        .map(|r| DevHost { hostname: r.get(0) })
        .collect())
}

/// Adds a dev host; `false` when it was one already.
pub async fn add_dev_host(client: &impl GenericClient, hostname: &str) -> Result<bool, Error> {
    let n = client
        .execute(
            "INSERT INTO development_hosts (hostname) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&hostname],
        )
        .await?;
    Ok(n == 1)
}

/// Removes a dev host; `false` when there was none.
pub async fn remove_dev_host(client: &impl GenericClient, hostname: &str) -> Result<bool, Error> {
    let n = client
        .execute(
            "DELETE FROM development_hosts WHERE hostname = $1",
            &[&hostname],
        )
        .await?;
    Ok(n == 1)
}

/// Every mapping, by hostname.
pub async fn teams(client: &impl GenericClient) -> Result<Vec<TeamMapping>, Error> {
    Ok(client
        .query(
            "SELECT hostname, team_assignment FROM device_teams ORDER BY hostname",
            &[],
        )
        .await?
        .iter()
        .map(|r| TeamMapping {
            hostname: r.get(0),
            team_assignment: r.get(1),
        })
        .collect())
}

/// Adds a mapping; `false` when the host had one already.
pub async fn add_team(client: &impl GenericClient, mapping: &TeamMapping) -> Result<bool, Error> {
    let n = client
        .execute(
            "INSERT INTO device_teams (hostname, team_assignment) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&mapping.hostname, &mapping.team_assignment],
        )
        .await?;
    Ok(n == 1)
}

/// Gives `hostname` another team; the team it had, `None` when it had no mapping.
pub async fn set_team(
    client: &impl GenericClient,
    hostname: &str,
    team: &str,
) -> Result<Option<String>, Error> {
    let old = client
        .query_opt(
            "SELECT team_assignment FROM device_teams WHERE hostname = $1 FOR UPDATE",
            &[&hostname],
        )
        .await?;
    let Some(old) = old else {
        return Ok(None);
    };
    client
        .execute(
            "UPDATE device_teams SET team_assignment = $2 WHERE hostname = $1",
            &[&hostname, &team],
        )
        .await?;
    Ok(Some(old.get(0)))
}

/// Removes the mapping of `hostname`; the team it had, `None` when it had none.
pub async fn remove_team(
    client: &impl GenericClient,
    hostname: &str,
) -> Result<Option<String>, Error> {
    Ok(client
        .query_opt(
            "DELETE FROM device_teams WHERE hostname = $1 RETURNING team_assignment",
            &[&hostname],
        )
        .await?
        .map(|r| r.get(0)))
}
