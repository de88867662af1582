//! `/rules`: v2.5's rule routes with validation before anything is
//! stored (a regex the engine cannot compile is a 400 with the compiler's message), the
//! audit row in the same transaction as the change, and a reload notice to the alerters
//! after it. Deleting a rule that audit rows point at deactivates it instead (the audit
//! trail keeps its foreign key; v2.5 answered 500).

use super::fields::Body;
use crate::auth::authorize;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, correlation_id};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use shared::event::Severity;
use shared::rules::{MatchType, Rule};
use shared::store::api_keys::Scope;
use shared::store::config_audit::{self, ConfigChange};
use tokio_postgres::Row;

const COLUMNS: &str = "id, name, description, match_string, trap_oid, syslog_severity, match_type, \
     priority, prod_handling, dev_handling, team_assignment, is_active, created_at, updated_at";
const RULE_FIELDS: [&str; 11] = [
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

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/rules", web::get().to(list))
        .route("/rules", web::post().to(create))
        .route("/rules/{id}", web::get().to(get))
        .route("/rules/{id}", web::put().to(update))
        .route("/rules/{id}", web::delete().to(delete));
}

/// A rule as the API shows it.
fn to_json(row: &Row) -> Value {
    let time = |c: &str| {
        row.get::<_, chrono::DateTime<chrono::Utc>>(c)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    json!({
        "id": row.get::<_, i32>("id"),
        "name": row.get::<_, Option<String>>("name"),
        "description": row.get::<_, Option<String>>("description"),
        "match_string": row.get::<_, Option<String>>("match_string"),
        "trap_oid": row.get::<_, Option<String>>("trap_oid"),
        "syslog_severity": row.get::<_, Option<i32>>("syslog_severity"),
        "match_type": row.get::<_, String>("match_type"),
        "priority": row.get::<_, i32>("priority"),
        "prod_handling": row.get::<_, String>("prod_handling"),
        "dev_handling": row.get::<_, String>("dev_handling"),
        "team_assignment": row.get::<_, String>("team_assignment"),
        "is_active": row.get::<_, bool>("is_active"),
        "created_at": time("created_at"),
        "updated_at": time("updated_at"),
    })
}

/// Every column a client may set.
#[derive(Clone, Debug)]
struct Draft {
    name: Option<String>,
    description: Option<String>,
    match_string: Option<String>,
    trap_oid: Option<String>,
    syslog_severity: Option<i32>,
    match_type: String,
    priority: i32,
    prod_handling: String,
    dev_handling: String,
    team_assignment: String,
    is_active: bool,
}

impl Draft {
    fn from_row(row: &Row) -> Self {
        Self {
            name: row.get("name"),
            description: row.get("description"),
            match_string: row.get("match_string"),
            trap_oid: row.get("trap_oid"),
            syslog_severity: row.get("syslog_severity"),
            match_type: row.get("match_type"),
            priority: row.get("priority"),
            prod_handling: row.get("prod_handling"),
            dev_handling: row.get("dev_handling"),
            team_assignment: row.get("team_assignment"),
            is_active: row.get("is_active"),
        }
    }

    /// v2.5's defaults for what a new rule leaves out.
    fn new_rule(body: &Body) -> Result<Self, ApiError> {
        let mut draft = Self {
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
        };
        let missing: Vec<&str> = ["prod_handling", "dev_handling", "team_assignment"]
            .into_iter()
            .filter(|f| !body.has(f))
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::bad(format!(
                "Missing required fields: {missing:?}"
            )));
        }
        draft.apply(body)?;
        Ok(draft)
    }

    /// Takes every field present in `body`.
    fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        if let Some(v) = body.text("name", 255)? {
            self.name = v;
        }
        if let Some(v) = body.text("description", 10_000)? {
            self.description = v;
        }
        if let Some(v) = body.text("match_string", 255)? {
            self.match_string = v.filter(|s| !s.is_empty());
        }
        if let Some(v) = body.text("trap_oid", 255)? {
            self.trap_oid = v.filter(|s| !s.is_empty());
        }
        if let Some(value) = body.raw("syslog_severity") {
            self.syslog_severity = severity(value)?;
        }
        if let Some(v) = body.required_text("match_type", 20, false)? {
            MatchType::parse(&v).ok_or_else(|| {
                ApiError::bad("match_type must be one of contains, regex, oid_prefix")
            })?;
            self.match_type = v;
        }
        if let Some(v) = body.integer("priority")? {
            self.priority = v;
        }
        if let Some(v) = body.required_text("prod_handling", 100, false)? {
            self.prod_handling = v;
        }
        if let Some(v) = body.required_text("dev_handling", 100, false)? {
            self.dev_handling = v;
        }
        if let Some(v) = body.required_text("team_assignment", 100, false)? {
            self.team_assignment = v;
        }
        if let Some(v) = body.boolean("is_active")? {
            self.is_active = v;
        }
        Ok(())
    }

    /// The engine's own checks: criteria present, oid rules with an oid, regex compiles.
    fn validate(&self) -> Result<(), ApiError> {
        if self.match_string.is_none() && self.trap_oid.is_none() {
            return Err(ApiError::bad("Either match_string or trap_oid is required"));
        }
        let rule = Rule {
            id: 0,
            match_string: self.match_string.clone(),
            trap_oid: self.trap_oid.clone(),
            syslog_severity: None,
            match_type: MatchType::parse(&self.match_type).unwrap_or(MatchType::Contains),
            priority: self.priority,
            prod_handling: self.prod_handling.clone(),
            dev_handling: self.dev_handling.clone(),
            team_assignment: self.team_assignment.clone(),
            is_active: self.is_active,
        };
        rule.validate().map_err(|e| {
            // "rule 0: invalid regex: …" → "invalid regex: …"
            let text = e.to_string();
            ApiError::bad(text.strip_prefix("rule 0: ").unwrap_or(&text).to_owned())
        })
    }
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

fn reason(body: &Body) -> Result<Option<String>, ApiError> {
    Ok(body.text("reason", 10_000)?.flatten())
}

fn known_fields() -> Vec<&'static str> {
    RULE_FIELDS.iter().copied().chain(["reason"]).collect()
}

pub(crate) async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    let conn = state.pool.get().await?;
    let rows = conn
        .query(
            &format!("SELECT {COLUMNS} FROM alert_rules ORDER BY priority, id"),
            &[],
        )
        .await?;
    let rules = with_hits(&state, rows.iter().map(to_json).collect()).await;
    Ok(HttpResponse::Ok().json(json!({ "rules": rules })))
}

/// Per rule: events matched, and the time of the last match.
type HitsAndTimes = (Vec<Option<u64>>, Vec<Option<String>>);

/// Adds `hit_count` and `last_matched_at` (counted by the alerter in Redis) to rule
/// objects; `null` when Redis cannot say, so the rules themselves stay readable.
pub(crate) async fn with_hits(state: &AppState, mut rules: Vec<Value>) -> Vec<Value> {
    if rules.is_empty() {
        return rules;
    }
    let ids: Vec<i64> = rules.iter().filter_map(|r| r["id"].as_i64()).collect();
    let read: redis::RedisResult<HitsAndTimes> = redis::pipe()
        .cmd("HMGET")
        .arg(&state.keys.rule_hits)
        .arg(&ids)
        .cmd("HMGET")
        .arg(&state.keys.rule_last_match)
        .arg(&ids)
        .query_async(&mut state.redis.clone())
        .await;
    match read {
        Ok((hits, last)) => {
            for ((rule, hits), last) in rules.iter_mut().zip(hits).zip(last) {
                rule["hit_count"] = hits.unwrap_or(0).into();
                rule["last_matched_at"] = last.into();
            }
        }
        Err(error) => {
            tracing::warn!(error = %error, "cannot read rule hit counts");
            for rule in &mut rules {
                rule["hit_count"] = Value::Null;
                rule["last_matched_at"] = Value::Null;
            }
        }
    }
    rules
}

pub(crate) async fn with_hits_one(state: &AppState, rule: Value) -> Value {
    with_hits(state, vec![rule]).await.remove(0)
}

/// The stored rule `id` as the API shows it.
pub(super) async fn fetch(state: &AppState, id: i32) -> Result<Value, ApiError> {
    let conn = state.pool.get().await?;
    let row = conn
        .query_opt(
            &format!("SELECT {COLUMNS} FROM alert_rules WHERE id = $1"),
            &[&id],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("Rule not found".into()))?;
    Ok(with_hits_one(state, to_json(&row)).await)
}

pub(crate) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
) -> ApiResult {
    authorize(&req, &state, Scope::Read).await?;
    Ok(HttpResponse::Ok().json(fetch(&state, *id).await?))
}

pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = authorize(&req, &state, Scope::Admin).await?;
    let body = Body::new(body.into_inner(), &known_fields())?;
    let draft = Draft::new_rule(&body)?;
    draft.validate()?;
    let reason = reason(&body)?;
    let mut conn = state.pool.get().await?;
    let tx = conn.transaction().await?;
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO alert_rules (name, description, match_string, trap_oid, syslog_severity, match_type, \
                 priority, prod_handling, dev_handling, team_assignment, is_active) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
            ),
            &[
                &draft.name, &draft.description, &draft.match_string, &draft.trap_oid,
                &draft.syslog_severity, &draft.match_type, &draft.priority, &draft.prod_handling,
                &draft.dev_handling, &draft.team_assignment, &draft.is_active,
            ],
        )
        .await?;
    let rule = to_json(&row);
    let id: i32 = row.get("id");
    config_audit::record(
        &*tx,
        &ConfigChange {
            changed_by: &caller.name,
            operation: "CREATE",
            table_name: "alert_rules",
            record_id: id,
            old_values: None,
            new_values: Some(rule.clone()),
            reason: reason.as_deref(),
            correlation_id: Some(&correlation_id(&req)),
        },
    )
    .await?;
    tx.commit().await?;
    state.announce_change().await;
    let rule = with_hits_one(&state, rule).await;
    Ok(HttpResponse::Created()
        .json(json!({"id": id, "message": "Rule created successfully", "rule": rule})))
}

pub(crate) async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
    body: web::Json<Map<String, Value>>,
) -> ApiResult {
    let caller = authorize(&req, &state, Scope::Admin).await?;
    let body = Body::new(body.into_inner(), &known_fields())?;
    let reason = reason(&body)?;
    let mut conn = state.pool.get().await?;
    let tx = conn.transaction().await?;
    let old = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM alert_rules WHERE id = $1 FOR UPDATE"),
            &[&*id],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("Rule not found".into()))?;
    if !body.has_any(&RULE_FIELDS) {
        return Err(ApiError::bad("No fields to update"));
    }
    let mut draft = Draft::from_row(&old);
    draft.apply(&body)?;
    draft.validate()?;
    let row = tx
        .query_one(
            &format!(
                "UPDATE alert_rules SET name = $2, description = $3, match_string = $4, trap_oid = $5, \
                 syslog_severity = $6, match_type = $7, priority = $8, prod_handling = $9, dev_handling = $10, \
                 team_assignment = $11, is_active = $12, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[
                &*id, &draft.name, &draft.description, &draft.match_string, &draft.trap_oid,
                &draft.syslog_severity, &draft.match_type, &draft.priority, &draft.prod_handling,
                &draft.dev_handling, &draft.team_assignment, &draft.is_active,
            ],
        )
        .await?;
    config_audit::record(
        &*tx,
        &ConfigChange {
            changed_by: &caller.name,
            operation: "UPDATE",
            table_name: "alert_rules",
            record_id: *id,
            old_values: Some(to_json(&old)),
            new_values: Some(to_json(&row)),
            reason: reason.as_deref(),
            correlation_id: Some(&correlation_id(&req)),
        },
    )
    .await?;
    tx.commit().await?;
    state.announce_change().await;
    let rule = with_hits_one(&state, to_json(&row)).await;
    Ok(HttpResponse::Ok().json(json!({"message": "Rule updated successfully", "rule": rule})))
}

pub(crate) async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i32>,
    body: Option<web::Json<Map<String, Value>>>,
) -> ApiResult {
    let caller = authorize(&req, &state, Scope::Admin).await?;
    let body = Body::new(
        body.map(|b| b.into_inner()).unwrap_or_default(),
        &["reason"],
    )?;
    let reason = reason(&body)?;
    let mut conn = state.pool.get().await?;
    let tx = conn.transaction().await?;
    let old = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM alert_rules WHERE id = $1 FOR UPDATE"),
            &[&*id],
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("Rule not found".into()))?;
    // Audit rows reference rules (ON DELETE RESTRICT): such a rule is deactivated instead.
    let referenced: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM event_audit_log WHERE matched_rule_id = $1)",
            &[&*id],
        )
        .await?
        .get(0);
    let (operation, new_values, message) = if referenced {
        let row = tx
            .query_one(
                &format!("UPDATE alert_rules SET is_active = false, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"),
                &[&*id],
            )
            .await?;
        (
            "UPDATE",
            Some(to_json(&row)),
            "Rule deactivated instead of deleted: audit records refer to it",
        )
    } else {
        tx.execute("DELETE FROM alert_rules WHERE id = $1", &[&*id])
            .await?;
        ("DELETE", None, "Rule deleted successfully")
    };
    config_audit::record(
        &*tx,
        &ConfigChange {
            changed_by: &caller.name,
            operation,
            table_name: "alert_rules",
            record_id: *id,
            old_values: Some(to_json(&old)),
            new_values,
            reason: reason.as_deref(),
            correlation_id: Some(&correlation_id(&req)),
        },
    )
    .await?;
    tx.commit().await?;
    state.announce_change().await;
    Ok(HttpResponse::Ok().json(json!({"message": message, "deactivated": referenced})))
}
