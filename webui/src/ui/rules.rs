//! `/rules`: the rule list (with hit counts), a form to create or edit a rule, delete,
//! and `/rules/test` — which rule an event would match, and why.

use super::Form;
use super::session::Viewer;
use super::{Chrome, Notice, UiResult, cell, field, ok, outcome, page, redirect_with_notice};
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::fields::Fields;
use crate::service::rules::{self, RULE_FIELDS, RuleDraft, RuleWithHits};
use crate::service::trial::{self, Trial};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::{Map, Value};
use shared::store::rules::StoredRule;
use std::collections::HashMap;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Fixed paths before `/rules/{id}`.
    cfg.route("/rules", web::get().to(list))
        .route("/rules", web::post().to(create))
        .route("/rules/new", web::get().to(new_form))
        .route("/rules/test", web::get().to(test_form))
        .route("/rules/test", web::post().to(test))
        .route("/rules/{id}", web::get().to(edit_form))
        .route("/rules/{id}", web::post().to(update))
        .route("/rules/{id}/delete", web::post().to(delete));
}

pub struct RuleRow {
    pub id: i32,
    pub cells: Vec<String>,
    pub active: bool,
}

impl RuleRow {
    /// The list's columns: id, name, type, match, trap OID, priority, prod, dev, team,
    /// hits, last match.
    fn of(r: &RuleWithHits) -> Self {
        let rule = &r.rule.values;
        Self {
            id: r.rule.id,
            cells: vec![
                r.rule.id.to_string(),
                cell(&rule.name),
                rule.match_type.clone(),
                cell(&rule.match_string),
                cell(&rule.trap_oid),
                rule.priority.to_string(),
                rule.prod_handling.clone(),
                rule.dev_handling.clone(),
                rule.team_assignment.clone(),
                cell(&r.hit_count),
                cell(&r.last_matched_at),
            ],
            active: rule.is_active,
        }
    }
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    chrome: Chrome,
    rules: Vec<RuleRow>,
}

async fn list(state: web::Data<AppState>, viewer: Viewer, notice: web::Query<Notice>) -> UiResult {
    let rules = rules::list(&state).await?.iter().map(RuleRow::of).collect();
    ok(&RulesPage {
        chrome: Chrome::new(&viewer, "rules", &notice),
        rules,
    })
}

/// The rule form's fields, as shown (from a stored rule or from what was typed).
#[derive(Default)]
pub struct RuleFields {
    pub name: String,
    pub description: String,
    pub match_string: String,
    pub trap_oid: String,
    pub syslog_severity: String,
    pub match_type: String,
    pub priority: String,
    pub prod_handling: String,
    pub dev_handling: String,
    pub team_assignment: String,
    pub is_active: bool,
    pub reason: String,
}

impl RuleFields {
    fn blank() -> Self {
        Self {
            match_type: "contains".into(),
            priority: "100".into(),
            is_active: true,
            ..Default::default()
        }
    }

    fn from_rule(rule: &StoredRule) -> Self {
        let rule = &rule.values;
        Self {
            name: cell(&rule.name),
            description: cell(&rule.description),
            match_string: cell(&rule.match_string),
            trap_oid: cell(&rule.trap_oid),
            syslog_severity: cell(&rule.syslog_severity),
            match_type: rule.match_type.clone(),
            priority: rule.priority.to_string(),
            prod_handling: rule.prod_handling.clone(),
            dev_handling: rule.dev_handling.clone(),
            team_assignment: rule.team_assignment.clone(),
            is_active: rule.is_active,
            reason: String::new(),
        }
    }

    fn from_form(form: &HashMap<String, String>) -> Self {
        let f = |name| field(form, name).to_owned();
        Self {
            name: f("name"),
            description: f("description"),
            match_string: f("match_string"),
            trap_oid: f("trap_oid"),
            syslog_severity: f("syslog_severity"),
            match_type: f("match_type"),
            priority: f("priority"),
            prod_handling: f("prod_handling"),
            dev_handling: f("dev_handling"),
            team_assignment: f("team_assignment"),
            is_active: form.contains_key("is_active"),
            reason: f("reason"),
        }
    }

    /// The service's input, as the API would take it: empty optional texts become
    /// `null`, numbers numbers where they parse (otherwise the service names the field
    /// that is wrong).
    fn to_fields(&self) -> Result<Fields, ApiError> {
        let optional = |s: &str| {
            let s = s.trim();
            if s.is_empty() { Value::Null } else { s.into() }
        };
        let number_or_text = |s: &str| {
            let s = s.trim();
            s.parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| s.into())
        };
        let mut body = Map::new();
        body.insert("name".into(), optional(&self.name));
        body.insert("description".into(), optional(&self.description));
        body.insert("match_string".into(), optional(&self.match_string));
        body.insert("trap_oid".into(), optional(&self.trap_oid));
        body.insert(
            "syslog_severity".into(),
            if self.syslog_severity.trim().is_empty() {
                Value::Null
            } else {
                number_or_text(&self.syslog_severity)
            },
        );
        body.insert("match_type".into(), self.match_type.trim().into());
        body.insert("priority".into(), number_or_text(&self.priority));
        body.insert("prod_handling".into(), self.prod_handling.trim().into());
        body.insert("dev_handling".into(), self.dev_handling.trim().into());
        body.insert("team_assignment".into(), self.team_assignment.trim().into());
        body.insert("is_active".into(), self.is_active.into());
        body.insert("reason".into(), optional(&self.reason));
        Fields::new(
            body,
            &RULE_FIELDS
                .iter()
                .copied()
                .chain(["reason"])
                .collect::<Vec<_>>(),
        )
    }
}

#[derive(Template)]
#[template(path = "rule_form.html")]
struct RuleFormPage {
    chrome: Chrome,
    /// `None` for a new rule.
    id: Option<i32>,
    rule: RuleFields,
    error: Option<String>,
}

fn form_page(chrome: Chrome, id: Option<i32>, rule: RuleFields, error: Option<String>) -> UiResult {
    let status = super::status_for(&error);
    Ok(page(
        status,
        &RuleFormPage {
            chrome,
            id,
            rule,
            error,
        },
    ))
}

async fn new_form(viewer: Viewer) -> UiResult {
    form_page(
        Chrome::new(&viewer, "rules", &Notice::default()),
        None,
        RuleFields::blank(),
        None,
    )
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let fields = RuleFields::from_form(&form);
    let answer = async {
        let input = fields.to_fields()?;
        let draft = RuleDraft::new_rule(&input)?;
        rules::create(&state, &caller, draft, input.reason()?.as_deref()).await
    }
    .await;
    match outcome(answer)? {
        Ok(created) => Ok(redirect_with_notice(
            "/rules",
            &format!("Rule {} created.", created.rule.id),
        )),
        Err(message) => form_page(
            Chrome::new(&viewer, "rules", &Notice::default()),
            None,
            fields,
            Some(message),
        ),
    }
}

async fn edit_form(state: web::Data<AppState>, viewer: Viewer, id: web::Path<i32>) -> UiResult {
    let rule = rules::get(&state, *id).await?;
    form_page(
        Chrome::new(&viewer, "rules", &Notice::default()),
        Some(rule.rule.id),
        RuleFields::from_rule(&rule.rule),
        None,
    )
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i32>,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let fields = RuleFields::from_form(&form);
    let rule_id = *id;
    let answer = async {
        let input = fields.to_fields()?;
        rules::update(&state, &caller, rule_id, &input, input.reason()?.as_deref()).await
    }
    .await;
    match outcome(answer)? {
        Ok(_) => Ok(redirect_with_notice(
            "/rules",
            &format!("Rule {rule_id} saved."),
        )),
        Err(message) => form_page(
            Chrome::new(&viewer, "rules", &Notice::default()),
            Some(rule_id),
            fields,
            Some(message),
        ),
    }
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i32>,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let rule_id = *id;
    let reason = Some(field(&form, "reason").trim()).filter(|r| !r.is_empty());
    let answer = rules::remove(&state, &caller, rule_id, reason).await;
    let notice = match outcome(answer)? {
        Ok(done) => format!("Rule {rule_id}: {}.", done.message()),
        Err(message) => format!("Rule {rule_id} was not deleted: {message}"),
    };
    Ok(redirect_with_notice("/rules", &notice))
}

/// What the test page shows of a trial.
impl Trial {
    fn rule_id(&self) -> String {
        cell(&self.rule.as_ref().map(|r| r.rule.id))
    }

    fn rule_name(&self) -> String {
        cell(&self.rule.as_ref().and_then(|r| r.rule.values.name.clone()))
    }

    fn handling(&self) -> String {
        cell(&self.handling)
    }

    fn team(&self) -> String {
        cell(&self.team)
    }
}

#[derive(Template)]
#[template(path = "rule_test.html")]
struct TestPage {
    chrome: Chrome,
    event: String,
    result: Option<Trial>,
    error: Option<String>,
}

const EXAMPLE_EVENT: &str = r#"{
  "hostname": "router1.prod.example.com",
  "message": "%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down",
  "syslog_severity": 3
}"#;

async fn test_form(viewer: Viewer) -> UiResult {
    ok(&TestPage {
        chrome: Chrome::new(&viewer, "test", &Notice::default()),
        event: EXAMPLE_EVENT.into(),
        result: None,
        error: None,
    })
}

async fn test(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let event = field(&form, "event").to_owned();
    let chrome = Chrome::new(&viewer, "test", &Notice::default());
    let parsed: Value = match serde_json::from_str(&event) {
        Ok(value) => value,
        Err(e) => {
            return Ok(page(
                StatusCode::BAD_REQUEST,
                &TestPage {
                    chrome,
                    event,
                    result: None,
                    error: Some(format!("The event is not valid JSON: {e}")),
                },
            ));
        }
    };
    let answer = async { trial::run(&state, &trial::event_of(parsed)?).await }.await;
    let (result, error) = match outcome(answer)? {
        Ok(trial) => (Some(trial), None),
        Err(message) => (None, Some(message)),
    };
    let status = super::status_for(&error);
    Ok(page(
        status,
        &TestPage {
            chrome,
            event,
            result,
            error,
        },
    ))
}
