//! What every service process runs besides its work: the admin listener (`/health`,
//! `/ready`, `/metrics`), its Prometheus registry, logging, the shutdown signal, retrying
//! until it works or stops, and the skeleton of a queue worker (`upkeep`).

pub mod admin;
pub mod metrics;
pub mod retry;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod upkeep;
