//! The web UI and management API (issue #6), and the operator subcommands that manage the
//! database: `webui migrate` (apply migrations, create audit partitions ahead) and
//! `webui seed` (MUTT v2.5's sample rules, dev hosts and teams).
//!
//! The HTML UI and JSON API are not built yet; `main.rs` offers only the subcommands.

pub mod commands;
