//! Named API keys with scopes: created by `webui create-key` (or the key API), stored as
//! SHA-256 hashes, looked up by hash. The key text exists only in the creator's terminal.
//!
//! A key is active while `revoked_at` is unset or still ahead: revoking sets it to now,
//! rotating sets the old key's to the end of a grace period and creates a new key of the
//! same name and scopes.

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Pool};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The SQL condition of an active key.
const ACTIVE: &str = "(revoked_at IS NULL OR revoked_at > now())";

/// What a key may do. `admin` includes `read`; `ingest` is separate (senders must not read
/// the configuration, operators' keys need not ingest).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Ingest,
    Read,
    Admin,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ingest" => Some(Self::Ingest),
            "read" => Some(Self::Read),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingest => "ingest",
            Self::Read => "read",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is calling: the key's name (what audits record) and its scopes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyHolder {
    pub name: String,
    pub scopes: Vec<Scope>,
}

impl KeyHolder {
    /// Whether this key may do what `needed` allows; `admin` covers `read`.
    pub fn may(&self, needed: Scope) -> bool {
        self.scopes.contains(&needed)
            || (needed == Scope::Read && self.scopes.contains(&Scope::Admin))
    }
}

/// Hex SHA-256 of a key.
pub fn key_hash(key: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random key: `mutt_` and 64 hex digits (256 bits from two v4 UUIDs' random bits).
pub fn generate_key() -> String {
    format!(
        "mutt_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a key needs at least one scope of ingest, read, admin")]
    NoScopes,
    #[error("an active key named {0:?} exists already")]
    NameTaken(String),
    #[error("key names are 1 to 100 characters")]
    BadName,
    #[error("no active key is named {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Pool(#[from] deadpool_postgres::PoolError),
}

/// Creates a key; returns its text (shown once, never stored) and its id.
pub async fn create_key(
    client: &impl GenericClient,
    name: &str,
    scopes: &[Scope],
    created_by: &str,
) -> Result<(String, i32), KeyError> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(KeyError::BadName);
    }
    if scopes.is_empty() {
        return Err(KeyError::NoScopes);
    }
    let key = generate_key();
    let mut names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    match client
        .query_one(
            "INSERT INTO api_keys (name, key_sha256, scopes, created_by) VALUES ($1, $2, $3, $4) \
             RETURNING id",
            &[&name, &key_hash(&key), &names, &created_by],
        )
        .await
    {
        Ok(row) => Ok((key, row.get(0))),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            Err(KeyError::NameTaken(name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// What an operator sees of a key: never its text or hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: i32,
    /// For matching notes of use; never shown.
    #[serde(skip)]
    pub key_sha256: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stopped, or (after a rotation) stops, working.
    pub revoked_at: Option<DateTime<Utc>>,
    pub active: bool,
}

/// The columns of a [`KeyInfo`], in [`key_info`]'s order (usable in `RETURNING` too).
const KEY_INFO: &str = "id, name, scopes, created_at, created_by, last_used_at, revoked_at, \
     (revoked_at IS NULL OR revoked_at > now()), key_sha256";

fn key_info(row: &tokio_postgres::Row) -> KeyInfo {
    let scopes: Vec<String> = row.get(2);
    KeyInfo {
        id: row.get(0),
        name: row.get(1),
        scopes: scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        created_at: row.get(3),
        created_by: row.get(4),
        last_used_at: row.get(5),
        revoked_at: row.get(6),
        active: row.get(7),
        key_sha256: row.get(8),
    }
}

/// Every key, newest first, active or not.
pub async fn list_keys(client: &impl GenericClient) -> Result<Vec<KeyInfo>, KeyError> {
    let rows = client
        .query(
            &format!("SELECT {KEY_INFO} FROM api_keys ORDER BY id DESC"),
            &[],
        )
        .await?;
    Ok(rows.iter().map(key_info).collect())
}

/// Stops every active key named `name` now (a rotated one in its grace period too);
/// returns them as they are now.
pub async fn revoke_key(client: &impl GenericClient, name: &str) -> Result<Vec<KeyInfo>, KeyError> {
    let rows = client
        .query(
            &format!(
                "UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND {ACTIVE} \
                 RETURNING {KEY_INFO}"
            ),
            &[&name],
        )
        .await?;
    if rows.is_empty() {
        return Err(KeyError::NotFound(name.to_owned()));
    }
    Ok(rows.iter().map(key_info).collect())
}

/// Gives the key named `name` a successor with the same scopes, which works at once; the
/// old key keeps working for `grace`. Returns the new key's text and id, and the old key.
pub async fn rotate_key(
    client: &impl GenericClient,
    name: &str,
    grace: Duration,
    rotated_by: &str,
) -> Result<(String, i32, KeyInfo), KeyError> {
    let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    let old = client
        .query_opt(
            &format!(
                "UPDATE api_keys SET revoked_at = now() + make_interval(secs => $2::float8 / 1000) \
                 WHERE name = $1 AND revoked_at IS NULL RETURNING {KEY_INFO}"
            ),
            &[&name, &(grace_ms as f64)],
        )
        .await?
        .ok_or_else(|| KeyError::NotFound(name.to_owned()))?;
    let old = key_info(&old);
    let (key, id) = create_key(client, name, &old.scopes, rotated_by).await?;
    Ok((key, id, old))
}

/// Whether the key with hash `hash` is active.
pub async fn is_active(client: &impl GenericClient, hash: &str) -> Result<bool, KeyError> {
    Ok(client
        .query_opt(
            &format!("SELECT 1 FROM api_keys WHERE key_sha256 = $1 AND {ACTIVE}"),
            &[&hash],
        )
        .await?
        .is_some())
}

/// The active key whose text is `key`, if any. Its use is noted for the key list's "last
/// used", with a write at most once a minute per key: a busy caller costs one indexed
/// read per request.
pub async fn find_key(pool: &Pool, key: &str) -> Result<Option<KeyHolder>, KeyError> {
    let conn = pool.get().await?;
    let hash = key_hash(key);
    let Some(row) = conn
        .query_opt(
            &format!(
                "SELECT name, scopes, last_used_at IS NULL OR last_used_at < now() - interval '1 minute' \
                 FROM api_keys WHERE key_sha256 = $1 AND {ACTIVE}"
            ),
            &[&hash],
        )
        .await?
    else {
        return Ok(None);
    };
    if row.get::<_, bool>(2) {
        conn.execute(
            "UPDATE api_keys SET last_used_at = now() WHERE key_sha256 = $1",
            &[&hash],
        )
        .await?;
    }
    let scopes: Vec<String> = row.get(1);
    Ok(Some(KeyHolder {
        name: row.get(0),
        scopes: scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
    }))
}

/// Every active key as (hash, holder, end of its grace period if rotated): what
/// `crate::redis::api_key_mirror::publish` mirrors.
pub async fn active_keys(
    pool: &Pool,
) -> Result<Vec<(String, KeyHolder, Option<DateTime<Utc>>)>, KeyError> {
    let conn = pool.get().await?;
    let rows = conn
        .query(
            &format!(
                "SELECT key_sha256, name, scopes, revoked_at FROM api_keys WHERE {ACTIVE} ORDER BY id"
            ),
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let scopes: Vec<String> = row.get(2);
            (
                row.get::<_, String>(0),
                KeyHolder {
                    name: row.get(1),
                    scopes: scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
                },
                row.get(3),
            )
        })
        .collect())
}
