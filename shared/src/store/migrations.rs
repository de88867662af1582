//! Forward-only migrations from `sql/`, embedded in every binary with refinery.
//! `webui migrate` applies them; every service checks at start-up that the database is
//! not behind the code, and refuses to run against an older schema.
//!
//! They apply to an empty database and, in place, to a database MUTT v2.5 created (issue
//! #20). All pending migrations run in one transaction: if one fails, none is applied.
//! One step comes before them, on its own: v2.5's view `partition_health_summary` is
//! replaced by this project's (see [`ADOPT_V25_VIEW`]).

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

/// v2.5's `partition_health_summary` has a `name`-typed `partition_name` (and a row
/// estimate that is always 1); V1's `CREATE OR REPLACE VIEW` cannot change a column's type,
/// so on a v2.5 database V1 failed. This replaces v2.5's view with V1's (same name, same
/// columns; `text`, and a real estimate) in one statement, and does nothing to any other
/// database. It is the one step outside the migrations' transaction: if they then fail, the
/// view stays replaced, which v2.5's scripts read alike, and the next `migrate` goes on.
pub const ADOPT_V25_VIEW: &str = r"
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'partition_health_summary'
                 AND column_name = 'partition_name' AND data_type = 'name') THEN
        DROP VIEW partition_health_summary;
        CREATE VIEW partition_health_summary AS
        SELECT child.relname::text                               AS partition_name,
               pg_get_expr(child.relpartbound, child.oid)         AS partition_range,
               pg_size_pretty(pg_total_relation_size(child.oid))  AS partition_size,
               GREATEST(child.reltuples, 0)::bigint               AS row_count_estimate
        FROM pg_inherits
        JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
        JOIN pg_class child  ON child.oid  = pg_inherits.inhrelid
        WHERE parent.oid = 'event_audit_log'::regclass
        ORDER BY child.relname;
    END IF;
END $$";

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
    conn.batch_execute(ADOPT_V25_VIEW).await?;
    let client: &mut tokio_postgres::Client = &mut conn;
    let report = embedded::migrations::runner()
        .set_grouped(true)
        .run_async(client)
        .await?;
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
    let needed = latest_version();
    match schema_version(pool).await? {
        Some(v) if v >= needed => Ok(()),
        found => Err(SchemaError::Behind { found, needed }),
    }
}

/// The newest migration applied to the database, `None` when none ever was.
pub async fn schema_version(pool: &Pool) -> Result<Option<i64>, SchemaError> {
    let conn = pool.get().await?;
    let exists: bool = conn
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    Ok(conn
        .query_one(
            "SELECT MAX(version)::bigint FROM refinery_schema_history",
            &[],
        )
        .await?
        .get(0))
}
