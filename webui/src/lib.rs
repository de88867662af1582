//! The web UI and management API (issue #6), and the operator subcommands:
//! `webui migrate` (apply migrations, create audit partitions ahead), `webui seed`
//! (MUTT v2.5's sample rules, dev hosts and teams), `webui partitions`, `webui retention`
//! (the data lifecycle once, see `shared::retention`) and `webui dlq …` (depths, list,
//! replay, purge the dead-letter queues).
//!
//! The HTML UI and JSON API are not built yet; `main.rs` offers only the subcommands.

pub mod commands;
