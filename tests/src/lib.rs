//! End-to-end tests of the whole pipeline in one process (issue #7): `tests/pipeline.rs`
//! runs the four services against one Redis prefix, one database schema and the local
//! webhook receiver (`tests/support`).
