//! The alerter (issue #4): takes events in batches from `mutt:ingest_queue` into its own
//! processing list, decides each with the rule engine, writes idempotent audit rows, pushes
//! alerts onto `mutt:alert_queue`, then acknowledges.
//!
//! `decide` is the pure core (rule, environment, handling, alert shape); `worker` runs
//! one batch against Redis and PostgreSQL; [`cache`] keeps the compiled rules fresh;
//! `unhandled` counts unmatched events toward meta-alerts; `pressure` samples the alert
//! queue for backpressure; `hits` adds up rule hits for the web UI; `sample` keeps the recent events the web
//! UI's backtest runs draft rules over; `remediation` replays the
//! alerter DLQ while dependencies are healthy; `app` wires it all behind
//! `build` / `run_until`.

mod app;
pub mod cache;
mod decide;
mod hits;
pub mod metrics;
mod pressure;
mod remediation;
mod sample;
mod unhandled;
mod worker;

pub use app::Alerter;
