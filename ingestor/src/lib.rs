//! The ingestor (issue #3): HTTP and syslog intake that validates events, stamps
//! `_correlation_id` and `_event_id`, and LPUSHes them in pipelined batches onto
//! `mutt:ingest_queue`, with backpressure at the queue cap.
//!
//! Built so far: [`intake`], the IO-free decoding and validation of request bodies. The
//! HTTP and syslog listeners, the coalescing writer and the service face
//! (`build`/`run_until`) are not built yet.

pub mod intake;
