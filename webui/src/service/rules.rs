//! Alert rules (`alert_rules`, through `shared::store::rules`): listing with the
//! alerter's hit counts, and changes validated by the rule engine's own checks before anything is stored (a regex the engine
//! cannot compile is refused with the compiler's message). Deleting a rule that audit rows
//! point at deactivates it instead: the audit trail keeps its foreign key (v2.5 answered
//! 500).

use super::AppState;
use super::fields::Fields;
use super::{Caller, Change, audited, values};
use crate::error::ApiError;
use serde::Serialize;
use serde_json::Value;
use shared::event::Severity;
use shared::rules::{MatchType, Rule as EngineRule};
use shared::store::api_keys::Scope;
use shared::store::audit;
use shared::store::rules::{self as store, RuleValues, StoredRule};

/// The fields a client may set, and the one field every change may carry besides.
pub const RULE_FIELDS: [&str; 11] = [
    "name",
    "description",
    "match_string",
    "trap_oid",
    "syslog_severity",
    "match_type",
    "priority",
    "prod_handling",
    "dev_handling",
    "team_assignment",
    "is_active",
];

/// A rule's fields, each optional in an update. A new rule needs `prod_handling`,
/// `dev_handling` and `team_assignment`, and `match_string` or `trap_oid`.
// `POST /rules` takes the same fields with the three required ([`NewRule`]); `RuleDraft`
// reads them one by one, and `Fields::of` takes exactly these names.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the fields are read through `Fields`.
pub struct RuleFields {
    #[schema(max_length = 255)]
    name: Option<String>,
    #[schema(max_length = 10000)]
    description: Option<String>,
    /// Text (or a regex) the message must contain; this or `trap_oid` is needed.
    #[schema(max_length = 255)]
    match_string: Option<String>,
    /// An OID the event's `trap_oid` must equal (or start with, for `oid_prefix`).
    #[schema(max_length = 255)]
    trap_oid: Option<String>,
    /// `null`, a level 0 to 7, or a syslog severity name such as `error`.
    syslog_severity: Option<Value>,
    #[schema(value_type = String, required = false, pattern = "^(contains|regex|oid_prefix)$")]
    match_type: Option<String>,
    /// Lower matches first.
    #[schema(value_type = i32, required = false)]
    priority: Option<i32>,
    #[schema(value_type = String, required = false, max_length = 100, pattern = "\\S")]
    prod_handling: Option<String>,
    #[schema(value_type = String, required = false, max_length = 100, pattern = "\\S")]
    dev_handling: Option<String>,
    #[schema(value_type = String, required = false, max_length = 100, pattern = "\\S")]
    team_assignment: Option<String>,
    #[schema(value_type = bool, required = false)]
    is_active: Option<bool>,
    /// Why, for the configuration audit.
    #[schema(max_length = 10000)]
    reason: Option<String>,
}

/// `POST /rules`'s body: [`RuleFields`] with the handlings and team required.
pub struct NewRule;

impl utoipa::PartialSchema for NewRule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::fields::requiring::<RuleFields>(&[
            "prod_handling",
            "dev_handling",
            "team_assignment",
        ])
    }
}

impl utoipa::ToSchema for NewRule {}

/// A rule with what the alerter counted of it in Redis: events matched and the time of
/// the last match. Both `None` when Redis cannot say, so the rules stay readable.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RuleWithHits {
    #[serde(flatten)]
    pub rule: StoredRule,
    pub hit_count: Option<u64>,
    pub last_matched_at: Option<String>,
}

/// The columns of a rule to store, read from a client's fields and checked as the rule
/// engine checks them.
#[derive(Clone, Debug)]
pub struct RuleDraft(RuleValues);

impl RuleDraft {
    /// A new rule from `fields`, with v2.5's defaults for what it leaves out.
    pub fn new_rule(fields: &Fields) -> Result<Self, ApiError> {
        let missing: Vec<&str> = ["prod_handling", "dev_handling", "team_assignment"]
            .into_iter()
            .filter(|f| !fields.has(f))
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::bad(format!(
                "Missing required fields: {missing:?}"
            )));
        }
        let mut draft = Self(RuleValues {
            name: None,
            description: None,
            match_string: None,
            trap_oid: None,
            syslog_severity: None,
            match_type: "contains".into(),
            priority: 100,
            prod_handling: String::new(),
            dev_handling: String::new(),
            team_assignment: String::new(),
            is_active: true,
        });
        draft.apply(fields)?;
        Ok(draft)
    }

    /// Takes every field present in `fields`.
    fn apply(&mut self, fields: &Fields) -> Result<(), ApiError> {
        if let Some(v) = fields.text("name", 255)? {
            self.0.name = v;
        }
        if let Some(v) = fields.text("description", 10_000)? {
            self.0.description = v;
        }
        if let Some(v) = fields.text("match_string", 255)? {
            self.0.match_string = v.filter(|s| !s.is_empty());
        }
        if let Some(v) = fields.text("trap_oid", 255)? {
            self.0.trap_oid = v.filter(|s| !s.is_empty());
        }
        if let Some(value) = fields.raw("syslog_severity") {
            self.0.syslog_severity = severity(value)?;
        }
        if let Some(v) = fields.required_text("match_type", 20, false)? {
            MatchType::parse(&v).ok_or_else(|| {
                ApiError::bad("match_type must be one of contains, regex, oid_prefix")
            })?;
            self.0.match_type = v;
        }
        if let Some(v) = fields.integer("priority")? {
            self.0.priority = v;
        }
        if let Some(v) = fields.required_text("prod_handling", 100, false)? {
            self.0.prod_handling = v;
        }
        if let Some(v) = fields.required_text("dev_handling", 100, false)? {
            self.0.dev_handling = v;
        }
        if let Some(v) = fields.required_text("team_assignment", 100, false)? {
            self.0.team_assignment = v;
        }
        if let Some(v) = fields.boolean("is_active")? {
            self.0.is_active = v;
        }
        Ok(())
    }

    /// The engine's own checks: criteria present, oid rules with an oid, regex compiles.
    fn validate(&self) -> Result<(), ApiError> {
        if self.0.match_string.is_none() && self.0.trap_oid.is_none() {
            return Err(ApiError::bad("Either match_string or trap_oid is required"));
        }
        let rule = EngineRule {
            id: 0,
            match_string: self.0.match_string.clone(),
            trap_oid: self.0.trap_oid.clone(),
            syslog_severity: None,
            match_type: MatchType::parse(&self.0.match_type).unwrap_or(MatchType::Contains),
            priority: self.0.priority,
            prod_handling: self.0.prod_handling.clone(),
            dev_handling: self.0.dev_handling.clone(),
            team_assignment: self.0.team_assignment.clone(),
            is_active: self.0.is_active,
        };
        rule.validate().map_err(|e| {
            // "rule 0: invalid regex: …" → "invalid regex: …"
            let text = e.to_string();
            ApiError::bad(text.strip_prefix("rule 0: ").unwrap_or(&text).to_owned())
        })
    }
}

/// A new rule's columns from `fields`, with v2.5's defaults, checked as `POST /rules`
/// checks them (a rules file's entries are read with it).
pub fn checked_rule(fields: &Fields) -> Result<RuleValues, ApiError> {
    let draft = RuleDraft::new_rule(fields)?;
    draft.validate()?;
    Ok(draft.0)
}

/// `null`, a level 0–7, or a syslog severity name.
fn severity(value: &Value) -> Result<Option<i32>, ApiError> {
    let invalid =
        || ApiError::bad("syslog_severity must be null, 0 to 7, or a name such as \"error\"");
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .filter(|n| (0..=7).contains(n))
            .map(|n| Some(n as i32))
            .ok_or_else(invalid),
        Value::String(s) => Severity::parse(s)
            .map(|s| Some(i32::from(s.level())))
            .map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// Every rule, by priority then id, with hit counts.
pub async fn list(state: &AppState) -> Result<Vec<RuleWithHits>, ApiError> {
    let rules = store::all(&state.pool.get().await?).await?;
    Ok(with_hits(state, rules).await)
}

/// The stored rule `id`, with hit counts.
pub async fn get(state: &AppState, id: i32) -> Result<RuleWithHits, ApiError> {
    let rule = store::get(&state.pool.get().await?, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(with_one(state, rule).await)
}

fn not_found() -> ApiError {
    ApiError::NotFound("Rule not found".into())
}

/// Per rule: events matched, and the time of the last match.
type HitsAndTimes = (Vec<Option<u64>>, Vec<Option<String>>);

async fn with_hits(state: &AppState, rules: Vec<StoredRule>) -> Vec<RuleWithHits> {
    if rules.is_empty() {
        return Vec::new();
    }
    let ids: Vec<i32> = rules.iter().map(|r| r.id).collect();
    let read: redis::RedisResult<HitsAndTimes> = redis::pipe()
        .cmd("HMGET")
        .arg(&state.keys.rule_hits)
        .arg(&ids)
        .cmd("HMGET")
        .arg(&state.keys.rule_last_match)
        .arg(&ids)
        .query_async(&mut state.redis.clone())
        .await;
    let (hits, last) = match read {
        Ok((hits, last)) => (
            hits.into_iter().map(|h| Some(h.unwrap_or(0))).collect(),
            last,
        ),
        Err(error) => {
            tracing::warn!(error = %error, "cannot read rule hit counts");
            (vec![None; rules.len()], vec![None; rules.len()])
        }
    };
    rules
        .into_iter()
        .zip(hits)
        .zip(last)
        .map(|((rule, hit_count), last_matched_at)| RuleWithHits {
            rule,
            hit_count,
            last_matched_at,
        })
        .collect()
}

async fn with_one(state: &AppState, rule: StoredRule) -> RuleWithHits {
    with_hits(state, vec![rule])
        .await
        .pop()
        .expect("one rule in, one out")
}

/// Stores a new rule, audited.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    draft: RuleDraft,
    reason: Option<&str>,
) -> Result<RuleWithHits, ApiError> {
    caller.require(Scope::Admin)?;
    draft.validate()?;
    let rule = audited(state, caller, reason, async |tx| {
        let rule = store::insert(tx, &draft.0).await?;
        let change = Change {
            operation: "CREATE",
            table_name: "alert_rules",
            record_id: rule.id,
            old_values: None,
            new_values: values(&rule),
        };
        Ok((rule, change))
    })
    .await?;
    Ok(with_one(state, rule).await)
}

/// Changes the fields of rule `id` that `changes` names, audited with the old and new rule.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i32,
    changes: &Fields,
    reason: Option<&str>,
) -> Result<RuleWithHits, ApiError> {
    let rule = audited(state, caller, reason, async |tx| {
        let old = store::lock(tx, id).await?.ok_or_else(not_found)?;
        if !changes.has_any(&RULE_FIELDS) {
            return Err(ApiError::bad("No fields to update"));
        }
        let mut draft = RuleDraft(old.values.clone());
        draft.apply(changes)?;
        draft.validate()?;
        let rule = store::update(tx, id, &draft.0).await?;
        let change = Change {
            operation: "UPDATE",
            table_name: "alert_rules",
            record_id: id,
            old_values: values(&old),
            new_values: values(&rule),
        };
        Ok((rule, change))
    })
    .await?;
    Ok(with_one(state, rule).await)
}

/// What deleting a rule did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    Deleted,
    /// Audit rows refer to the rule (`ON DELETE RESTRICT`): it was deactivated instead.
    Deactivated,
}

impl Removal {
    pub fn message(self) -> &'static str {
        match self {
            Self::Deleted => "Rule deleted successfully",
            Self::Deactivated => "Rule deactivated instead of deleted: audit records refer to it",
        }
    }
}

/// Deletes rule `id`, or deactivates it when audit rows refer to it; audited.
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    id: i32,
    reason: Option<&str>,
) -> Result<Removal, ApiError> {
    audited(state, caller, reason, async |tx| {
        let old = store::lock(tx, id).await?.ok_or_else(not_found)?;
        let (removal, operation, new_values) = if audit::refers_to_rule(tx, id).await? {
            let rule = store::deactivate(tx, id).await?;
            (Removal::Deactivated, "UPDATE", values(&rule))
        } else {
            store::delete(tx, id).await?;
            (Removal::Deleted, "DELETE", None)
        };
        let change = Change {
            operation,
            table_name: "alert_rules",
            record_id: id,
            old_values: values(&old),
            new_values,
        };
        Ok((removal, change))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::{NewRule, RULE_FIELDS, RuleFields};
    use crate::service::fields::property_names;

    /// `Fields::of` takes a body's fields from its schema: the schema and the list the
    /// pages and `has_any` use must agree.
    #[test]
    fn the_rule_schemas_list_the_rule_fields_and_reason() {
        let mut expected: Vec<String> = RULE_FIELDS
            .iter()
            .chain(&["reason"])
            .map(|s| s.to_string())
            .collect();
        expected.sort();
        for mut listed in [property_names::<RuleFields>(), property_names::<NewRule>()] {
            listed.sort();
            assert_eq!(listed, expected);
        }
    }
}
