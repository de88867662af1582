//! Named API keys with scopes: created by `webui create-key`, stored as SHA-256
//! hashes, looked up by hash. The key text exists only in the creator's terminal.

use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a key may do. `admin` includes `read`; `ingest` is separate (senders must not read
/// the configuration, operators' keys need not ingest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Ingest,
    Read,
    Admin,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
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
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Pool(#[from] deadpool_postgres::PoolError),
}

/// Creates a key; returns its text (shown once, never stored).
pub async fn create_key(pool: &Pool, name: &str, scopes: &[Scope]) -> Result<String, KeyError> {
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
    let conn = pool.get().await?;
    match conn
        .execute(
            "INSERT INTO api_keys (name, key_sha256, scopes) VALUES ($1, $2, $3)",
            &[&name, &key_hash(&key), &names],
        )
        .await
    {
        Ok(_) => Ok(key),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            Err(KeyError::NameTaken(name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The active key whose text is `key`, if any.
pub async fn find_key(pool: &Pool, key: &str) -> Result<Option<KeyHolder>, KeyError> {
    let conn = pool.get().await?;
    let row = conn
        .query_opt(
            "SELECT name, scopes FROM api_keys WHERE key_sha256 = $1 AND revoked_at IS NULL",
            &[&key_hash(key)],
        )
        .await?;
    Ok(row.map(|row| {
        let scopes: Vec<String> = row.get(1);
        KeyHolder {
            name: row.get(0),
            scopes: scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        }
    }))
}

/// Every active key as (hash, holder): what `crate::redis::api_key_mirror::publish` mirrors.
pub async fn active_keys(pool: &Pool) -> Result<Vec<(String, KeyHolder)>, KeyError> {
    let conn = pool.get().await?;
    let rows = conn
        .query(
            "SELECT key_sha256, name, scopes FROM api_keys WHERE revoked_at IS NULL ORDER BY id",
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
            )
        })
        .collect())
}
