//! Forward-only migrations from `sql/`, embedded in every binary with refinery.
//! `webui migrate` applies them; every service checks at start-up that the database is
//! not behind the code, and refuses to run against an older schema.

use deadpool_postgres::Pool;

mod embedded {
    refinery::embed_migrations!("../sql");
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database schema is at version {found:?} but this build needs version {needed}: \
         run `webui migrate` (or the Helm migration job) first"
    )]
    Behind { found: Option<i64>, needed: i64 },
    #[error("cannot read the schema version: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("cannot get a database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
}

/// What `migrate` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub version: i64,
}

/// The newest migration this build knows.
pub fn latest_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// Applies every pending migration. Running it again is a no-op.
pub async fn migrate(pool: &Pool) -> Result<MigrationReport, SchemaError> {
    let mut conn = pool.get().await?;
    let client: &mut tokio_postgres::Client = &mut conn;
    let report = embedded::migrations::runner().run_async(client).await?;
    let applied = report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect();
    Ok(MigrationReport {
        applied,
        version: latest_version(),
    })
}

/// Fails unless the database has every migration this build knows.
pub async fn check_schema(pool: &Pool) -> Result<(), SchemaError> {
    let conn = pool.get().await?;
    let needed = latest_version();
    let exists: bool = conn
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    let found: Option<i64> = if exists {
        conn.query_one(
            "SELECT MAX(version)::bigint FROM refinery_schema_history",
            &[],
        )
        .await?
        .get(0)
    } else {
        None
    };
    match found {
        Some(v) if v >= needed => Ok(()),
        found => Err(SchemaError::Behind { found, needed }),
    }
}
