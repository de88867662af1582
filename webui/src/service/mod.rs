//! The web UI's service layer: one module per concept, each owning its tables' SQL, the
//! validation of what may be stored, the `config_audit_log` row of a change and the
//! notice that tells the alerters to reload. Inputs and outputs are typed values.
//!
//! Two faces call the same functions: [`crate::api`] maps HTTP requests to them and
//! serialises their results as JSON, and [`crate::ui`] renders the same values in askama
//! templates. So the API and the pages read and change exactly the same things, with the
//! same checks and the same audit; a renamed field breaks the build, not a page.
//!
//! Who may do what is checked here too ([`Caller::require`]): a page or an API handler
//! cannot forget it.

pub mod audit;
pub mod backtest;
pub mod config;
pub mod dashboard;
pub mod dlq;
pub mod fields;
pub mod hosts;
pub mod keys;
pub mod paging;
pub mod rule_file;
pub mod rules;
pub mod silences;
pub mod slo;
mod state;
pub mod trial;

pub use state::AppState;

use crate::error::ApiError;
use serde::Serialize;
use serde_json::Value;
use shared::store::api_keys::{KeyHolder, Scope};
use shared::store::config_audit::{self, ConfigChange};

/// Who asks, and the correlation id their request carries (written on audit rows).
#[derive(Clone, Debug)]
pub struct Caller {
    holder: KeyHolder,
    correlation_id: String,
}

impl Caller {
    pub fn new(holder: KeyHolder, correlation_id: String) -> Self {
        Self {
            holder,
            correlation_id,
        }
    }

    pub fn name(&self) -> &str {
        &self.holder.name
    }

    /// A 403 unless the caller's key has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.holder.may(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(scope.as_str()))
        }
    }
}

/// What a change did, for its `config_audit_log` row.
pub(crate) struct Change {
    pub operation: &'static str,
    pub table_name: &'static str,
    pub record_id: i32,
    pub old_values: Option<Value>,
    pub new_values: Option<Value>,
}

/// The audit values of a typed row.
pub(crate) fn values(row: &impl Serialize) -> Option<Value> {
    Some(serde_json::to_value(row).expect("a stored row serialises"))
}

/// Runs `change` and its audit row in one transaction; once committed, tells the
/// alerters to reload. A refused change (`Err`) rolls back and announces nothing.
pub(crate) async fn audited<T>(
    state: &AppState,
    caller: &Caller,
    reason: Option<&str>,
    change: impl AsyncFnOnce(&deadpool_postgres::Transaction<'_>) -> Result<(T, Change), ApiError>,
) -> Result<T, ApiError> {
    caller.require(Scope::Admin)?;
    let mut conn = state.pool.get().await?;
    let tx = conn.transaction().await?;
    let (done, what) = change(&tx).await?;
    config_audit::record(
        &tx,
        &ConfigChange {
            changed_by: caller.name(),
            operation: what.operation,
            table_name: what.table_name,
            record_id: what.record_id,
            old_values: what.old_values,
            new_values: what.new_values,
            reason,
            correlation_id: Some(&caller.correlation_id),
        },
    )
    .await?;
    tx.commit().await?;
    state.announce_change().await;
    Ok(done)
}
