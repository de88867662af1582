//! The alerter (issue #4): takes events in batches from `mutt:ingest_queue` into its
//! processing list, matches rules, writes idempotent audit rows, pushes alerts onto
//! `mutt:alert_queue`, then acknowledges.
//!
//! Not built yet: this crate holds its place in the workspace. The reliable queue,
//! heartbeat, janitor, `AlerterConfig` and the store it will use are in `shared`.
