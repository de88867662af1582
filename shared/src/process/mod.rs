//! What every service process runs besides its work: the admin listener (`/health`,
//! `/ready`, `/metrics`), its Prometheus registry, logging, and the shutdown signal.

pub mod admin;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;
