//! The ingestor (issue #3): HTTP and syslog intake that validates events, stamps
//! `_correlation_id` and `_event_id`, and LPUSHes them in pipelined batches onto
//! `mutt:ingest_queue`, with backpressure at the queue cap.
//!
//! Not built yet: this crate holds its place in the workspace. The contracts it will use
//! (event types, keys, `queue::push_batch`, `IngestorConfig`, the admin server) are in
//! `shared`.
