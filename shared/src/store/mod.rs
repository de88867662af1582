//! PostgreSQL: the connection pool, the embedded migrations of `sql/`, the schema-version
//! check every service runs at start-up, partitions ahead, and the v2.5 sample data.

pub mod audit;
mod migrations;
mod partitions;
mod pool;
pub mod rules;
mod seed;

pub use migrations::{MigrationReport, SchemaError, check_schema, latest_version, migrate};
pub use partitions::{ensure_partitions, month_starts};
pub use pool::{PoolError, connect};
pub use seed::{SeedReport, seed_v25_samples};

pub use deadpool_postgres::Pool;
