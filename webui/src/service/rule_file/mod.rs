//! Rules as code: the active rules as a YAML file (export), and a file applied back as one
//! audited change (import), or only compared (dry run). Sites that keep their rules in git
//! apply the file from CI or from the Helm hook (`helm/mutt`, `rulesFile`).
//!
//! A file lists the active rules; a rule is matched to a stored one by `id`, else by
//! `name`. Importing creates what is new, changes what differs, and deactivates the
//! active rules the file leaves out, in one transaction with one `config_audit_log` row
//! and the operator's reason. A file with any problem changes nothing, and every problem
//! is named with its line.

mod parse;
mod plan;
mod render;

pub use parse::{Entry, parse};
pub use plan::{Plan, plan, resolve};

use super::{AppState, Caller, Change, audited};
use crate::error::ApiError;
use serde::Serialize;
use serde_json::{Value, json};
use shared::store::api_keys::Scope;
use shared::store::rules::{self as store, StoredRule};

/// The media type of a rules file.
pub const MEDIA_TYPE: &str = "application/yaml";

/// The document `GET /rules/export` answers (as YAML): the shape the OpenAPI document
/// gives it. `render` writes it; `parse` reads it back (and more: names for ids, `null`s,
/// severity names).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A schema: the file is written by `render`.
pub struct RulesFile {
    rules: Vec<ExportedRule>,
}

/// An active rule in an exported rules file.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A schema: the file is written by `render`.
pub struct ExportedRule {
    id: i32,
    name: Option<String>,
    description: Option<String>,
    /// `contains`, `regex` or `oid_prefix`.
    match_type: String,
    match_string: Option<String>,
    trap_oid: Option<String>,
    #[schema(minimum = 0, maximum = 7)]
    syslog_severity: Option<i32>,
    priority: i32,
    prod_handling: String,
    dev_handling: String,
    team_assignment: String,
}

/// A created rule.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    pub line: usize,
    /// After the import; none in a dry run.
    pub id: Option<i32>,
    pub name: Option<String>,
}

/// One field a changed rule changes.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// A changed rule.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Updated {
    pub line: usize,
    pub id: i32,
    pub name: Option<String>,
    pub changes: Vec<FieldChange>,
}

/// A deactivated rule.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Deactivated {
    pub id: i32,
    pub name: Option<String>,
}

/// What an import did, or in a dry run would do.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// False for a dry run, and when nothing differed.
    pub applied: bool,
    pub created: Vec<Created>,
    pub updated: Vec<Updated>,
    pub deactivated: Vec<Deactivated>,
    /// Rules the file lists as they are stored.
    pub unchanged: usize,
}

fn changes(old: &StoredRule, entry: &Entry) -> Vec<FieldChange> {
    let (Value::Object(from), Value::Object(to)) = (json!(old.values), json!(entry.values)) else {
        unreachable!("rule values serialise as objects");
    };
    to.into_iter()
        .filter(|(field, value)| from.get(field) != Some(value))
        .map(|(field, value)| FieldChange {
            from: from.get(&field).cloned().unwrap_or(Value::Null),
            field,
            to: value,
        })
        .collect()
}

fn report(plan: &Plan, created_ids: &[i32], applied: bool) -> ImportReport {
    ImportReport {
        applied,
        created: plan
            .create
            .iter()
            .enumerate()
            .map(|(i, e)| Created {
                line: e.line,
                id: created_ids.get(i).copied(),
                name: e.name.clone(),
            })
            .collect(),
        updated: plan
            .update
            .iter()
            .map(|(old, e)| Updated {
                line: e.line,
                id: old.id,
                name: e.name.clone(),
                changes: changes(old, e),
            })
            .collect(),
        deactivated: plan
            .deactivate
            .iter()
            .map(|r| Deactivated {
                id: r.id,
                name: r.values.name.clone(),
            })
            .collect(),
        unchanged: plan.unchanged,
    }
}

/// The active rules as a rules file.
pub async fn export(state: &AppState, caller: &Caller) -> Result<String, ApiError> {
    caller.require(Scope::Read)?;
    let rules = store::all(&state.pool.get().await?).await?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(render::render(&rules, &now))
}

/// The checked entries of `text`, or a 400 that names every problem.
pub fn entries(text: &str) -> Result<Vec<Entry>, ApiError> {
    parse(text).map_err(ApiError::Invalid)
}

/// Applies the rules file `text` (admin), or with `dry_run` only says what it would do
/// (read).
pub async fn import(
    state: &AppState,
    caller: &Caller,
    text: &str,
    dry_run: bool,
    reason: Option<&str>,
) -> Result<ImportReport, ApiError> {
    caller.require(if dry_run { Scope::Read } else { Scope::Admin })?;
    let entries = entries(text)?;
    let stored = store::all(&state.pool.get().await?).await?;
    let preview = plan(entries.clone(), &stored).map_err(ApiError::Invalid)?;
    if dry_run || preview.is_empty() {
        return Ok(report(&preview, &[], false));
    }
    audited(state, caller, reason, async |tx| {
        // Decided again on the rules as they are under the lock.
        tx.batch_execute("LOCK TABLE alert_rules IN SHARE ROW EXCLUSIVE MODE")
            .await?;
        let stored = store::all(tx).await?;
        let plan = plan(entries, &stored).map_err(ApiError::Invalid)?;
        let mut created_ids = Vec::with_capacity(plan.create.len());
        for entry in &plan.create {
            created_ids.push(store::insert(tx, &entry.values).await?.id);
        }
        for (old, entry) in &plan.update {
            store::update(tx, old.id, &entry.values).await?;
        }
        for old in &plan.deactivate {
            store::deactivate(tx, old.id).await?;
        }
        let done = report(&plan, &created_ids, true);
        let before: Vec<&StoredRule> = plan
            .update
            .iter()
            .map(|(old, _)| old)
            .chain(&plan.deactivate)
            .collect();
        let change = Change {
            operation: "UPDATE",
            table_name: "alert_rules",
            record_id: 0,
            old_values: Some(json!({ "rules": before })),
            new_values: Some(json!({ "import": done })),
        };
        Ok((done, change))
    })
    .await
}

#[cfg(test)]
mod tests;
