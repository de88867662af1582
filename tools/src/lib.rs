//! What development, tests and benchmarks use and production does not, kept out of the
//! service crates so that they depend only on what the services use:
//! - [`receiver`]: the local stand-in for the Moogsoft webhook (the `mock-moog` binary, and
//!   in-process in the tests);
//! - the `mutt-load` binary: drives the ingestor and the whole pipeline under load.

pub mod receiver;
