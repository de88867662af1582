//! `webui silences`: list, make, extend, expire and delete silences, checked and audited
//! exactly as the API does it (the options become the API's body).

use super::{cli_caller, cli_state};
use shared::config::WebuiConfig;

#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum SilencesCommand {
    /// Silences as JSON lines, active and upcoming first, then the expired newest first.
    List {
        /// active, upcoming or expired; all when omitted.
        #[arg(long)]
        state: Option<String>,
    },
    /// Make a silence and print it as JSON. Every matcher given must hold.
    Add {
        /// Exact, or a glob (core-rtr-*); case-insensitive.
        #[arg(long)]
        hostname: Option<String>,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        rule_id: Option<i32>,
        /// Case-insensitive regular expression searched for in the message.
        #[arg(long)]
        message_regex: Option<String>,
        /// RFC 3339; now when omitted.
        #[arg(long)]
        starts_at: Option<String>,
        /// RFC 3339; or give --duration-seconds.
        #[arg(long)]
        ends_at: Option<String>,
        #[arg(long)]
        duration_seconds: Option<i32>,
        #[arg(long)]
        reason: String,
    },
    /// Move the end of a silence that has not ended.
    Extend {
        id: i32,
        /// The new end, RFC 3339.
        #[arg(long)]
        ends_at: Option<String>,
        /// How much later than its current end.
        #[arg(long)]
        by_seconds: Option<i32>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// End a silence now.
    Expire {
        id: i32,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete a silence (the audit rows of what it quieted keep its id).
    Delete {
        id: i32,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub async fn silences(action: SilencesCommand, config: &WebuiConfig) -> anyhow::Result<()> {
    use crate::service::fields::Fields;
    use crate::service::silences::{self, ExtendInput, SilenceInput};
    use serde_json::{Map, Value};

    let state = cli_state(config).await?;
    let caller = cli_caller();
    let failed = |e: crate::error::ApiError| anyhow::anyhow!("{e}");
    // The options as the API's body, so that they are checked exactly as the API checks it.
    let body = |pairs: Vec<(&str, Option<Value>)>| -> Map<String, Value> {
        pairs
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name.to_owned(), v)))
            .collect()
    };
    let print = |silence: &shared::store::silences::SilenceRecord| -> anyhow::Result<()> {
        println!("{}", serde_json::to_string(silence)?);
        Ok(())
    };
    match action {
        SilencesCommand::List { state: wanted } => {
            let wanted = silences::state_of(wanted.as_deref()).map_err(failed)?;
            let mut page = crate::service::paging::Page {
                page: 1,
                limit: Some(crate::service::paging::MAX_LIMIT),
            };
            loop {
                let found = silences::list(&state, &caller, wanted, &page)
                    .await
                    .map_err(failed)?;
                found.silences.iter().try_for_each(print)?;
                if page.page >= found.pagination.pages {
                    break;
                }
                page.page += 1;
            }
        }
        SilencesCommand::Add {
            hostname,
            team,
            rule_id,
            message_regex,
            starts_at,
            ends_at,
            duration_seconds,
            reason,
        } => {
            let fields = Fields::of::<SilenceInput>(body(vec![
                ("hostname", hostname.map(Value::from)),
                ("team", team.map(Value::from)),
                ("rule_id", rule_id.map(Value::from)),
                ("message_regex", message_regex.map(Value::from)),
                ("starts_at", starts_at.map(Value::from)),
                ("ends_at", ends_at.map(Value::from)),
                ("duration_seconds", duration_seconds.map(Value::from)),
                ("reason", Some(Value::from(reason))),
            ]))
            .map_err(failed)?;
            let new = silences::new_silence_of(&fields, chrono::Utc::now()).map_err(failed)?;
            print(
                &silences::create(&state, &caller, &new)
                    .await
                    .map_err(failed)?,
            )?;
        }
        SilencesCommand::Extend {
            id,
            ends_at,
            by_seconds,
            reason,
        } => {
            let fields = Fields::of::<ExtendInput>(body(vec![
                ("ends_at", ends_at.map(Value::from)),
                ("by_seconds", by_seconds.map(Value::from)),
            ]))
            .map_err(failed)?;
            let end = |current| silences::new_end_of(&fields, current);
            let done = silences::extend(&state, &caller, id, end, reason.as_deref());
            print(&done.await.map_err(failed)?)?;
        }
        SilencesCommand::Expire { id, reason } => {
            let done = silences::expire(&state, &caller, id, reason.as_deref());
            print(&done.await.map_err(failed)?)?;
        }
        SilencesCommand::Delete { id, reason } => {
            let done = silences::delete(&state, &caller, id, reason.as_deref());
            print(&done.await.map_err(failed)?)?;
        }
    }
    Ok(())
}
