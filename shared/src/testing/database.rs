//! `TestDatabase`: a fresh, migrated schema in the `mutt_test` database, dropped after.

use crate::config::DbConfig;
use crate::store::{self, Pool};

const TEST_DB: &str = "mutt_test";

pub struct TestDatabase {
    pub config: DbConfig,
    pub pool: Pool,
    schema: String,
}

fn admin_config(dbname: &str) -> DbConfig {
    DbConfig {
        host: super::env_or("MUTT_TEST_PG_HOST", "127.0.0.1"),
        port: super::env_or("MUTT_TEST_PG_PORT", "5432")
            .parse()
            .expect("MUTT_TEST_PG_PORT is a port"),
        name: dbname.to_owned(),
        user: super::env_or("MUTT_TEST_PG_USER", "postgres"),
        password: None,
        password_next: None,
        tls_enabled: false,
        ca_cert_path: None,
        pool_min: 1,
        pool_max: 4,
        schema: None,
    }
}

impl TestDatabase {
    /// A new schema with every migration applied.
    pub async fn new() -> Self {
        let db = Self::empty().await;
        store::migrate(&db.pool)
            .await
            .expect("migrations apply to an empty schema");
        db
    }

    /// A new schema holding a database as MUTT v2.5 leaves it, not migrated
    /// (`data/fixtures/v25_database.sql`), for the adoption tests.
    pub async fn v25() -> Self {
        let db = Self::empty().await;
        db.pool
            .get()
            .await
            .expect("connection")
            .batch_execute(include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../data/fixtures/v25_database.sql"
            )))
            .await
            .expect("the v2.5 fixture loads");
        db
    }

    /// A new schema with nothing in it (for migration tests).
    pub async fn empty() -> Self {
        ensure_test_database().await;
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = store::connect(&admin_config(TEST_DB))
            .await
            .expect("connect to the test database");
        admin
            .get()
            .await
            .expect("connection")
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create the test schema");
        let mut config = admin_config(TEST_DB);
        config.pool_max = 8;
        config.schema = Some(schema.clone());
        let pool = store::connect(&config)
            .await
            .expect("connect with the test schema");
        Self {
            config,
            pool,
            schema,
        }
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }
}

/// Creates `mutt_test` if it is missing; tests racing to create it all succeed.
async fn ensure_test_database() {
    let config = admin_config("postgres");
    let pool = store::connect(&config).await.unwrap_or_else(|e| {
        panic!(
            "{e}\nthe tests need PostgreSQL on {}:{} with trust auth for user {}: \
             run `scripts/test` (it starts PostgreSQL) or `scripts/infra up`",
            config.host, config.port, config.user
        )
    });
    let conn = pool.get().await.expect("connection");
    let exists = conn
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&TEST_DB])
        .await
        .expect("query pg_database")
        .is_some();
    if exists {
        return;
    }
    if let Err(e) = conn
        .batch_execute(&format!("CREATE DATABASE {TEST_DB}"))
        .await
    {
        // Another test created it between our check and our CREATE.
        let raced = e.code().is_some_and(|c| {
            *c == tokio_postgres::error::SqlState::DUPLICATE_DATABASE
                || *c == tokio_postgres::error::SqlState::UNIQUE_VIOLATION
        });
        assert!(raced, "cannot create the test database: {e}");
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside a runtime: use a thread of its own.
        let schema = self.schema.clone();
        let config = admin_config(TEST_DB);
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(pool) = store::connect(&config).await
                    && let Ok(conn) = pool.get().await
                {
                    let _ = conn
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}
