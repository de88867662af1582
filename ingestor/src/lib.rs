//! The ingestor (issue #3): HTTP and syslog intake that validates events, stamps
//! `_correlation_id` and `_event_id`, and LPUSHes them in pipelined batches onto
//! `mutt:ingest_queue`, with backpressure at the queue cap.
//!
//! The flow: `http` and `syslog` decode and validate with `intake` (pure), hand the
//! accepted events to the coalescing `writer`, and consult `depth` (a sampled queue
//! length) for backpressure. `app` wires it together behind `build` / `run_until`.
//! `answers` are the HTTP answers as types, from which (with `intake::IngestEvent`)
//! [`openapi`] generates the API's OpenAPI document.

mod answers;
mod app;
mod depth;
mod http;
mod intake;
mod metrics;
pub mod openapi;
mod syslog;
mod writer;

pub use app::Ingestor;
