//! The web UI and management API (issue #6), and the operator subcommands.
//!
//! [`app::Webui`] serves the JSON `api` (rules, dev hosts, teams, DLQs, partitions,
//! event and config audit, dynamic config, rule test, dashboard data, version) under
//! `/api/v1` and `/api/v2`, with keys checked by `auth`, and its OpenAPI document
//! ([`openapi`], generated from the handlers and their types). The subcommands in
//! [`commands`]: `serve`, `create-key`, `migrate` (migrations and audit partitions ahead),
//! `seed` (MUTT v2.5's sample rules, dev hosts and teams), `partitions`, `retention` (the
//! data lifecycle once, see `shared::lifecycle`), `dlq …`, `keys …`, `reshard`,
//! `slo-check` ([`slo`]: the SLO report from Prometheus, also served at `/api/v*/slo`) and
//! `v25-check` ([`v25_check`]: is a v2.5 site's database and Redis ready for the next step
//! of a swap).
//!
//! `service` is the one place each concept (rules, hosts and teams, audit, config,
//! DLQs, dashboard) keeps its checks, scopes, audit rows and reload notices, over the SQL
//! of `shared::store`; the JSON `api` and the HTML pages of `ui` (for operators, on the
//! same port) are two faces over it.

mod api;
mod app;
mod auth;
pub mod commands;
mod error;
mod service;
mod ui;
pub mod v25_check;

pub use api::openapi;
pub use app::Webui;
pub use service::slo;
