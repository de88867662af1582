//! `/rules`: the rule list (with hit counts), a form to create or edit a rule, delete,
//! and `/rules/test` — which rule an event would match, and why.

use super::Form;
use super::session::Viewer;
use super::{
    Chrome, Notice, UiResult, cells, field, json_of, ok, outcome, page, redirect_with_notice, text,
};
use crate::api;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::{Map, Value};
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

const LIST_COLUMNS: [&str; 11] = [
    "id",
    "name",
    "match_type",
    "match_string",
    "trap_oid",
    "priority",
    "prod_handling",
    "dev_handling",
    "team_assignment",
    "hit_count",
    "last_matched_at",
];

pub struct RuleRow {
    pub id: String,
    pub cells: Vec<String>,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    chrome: Chrome,
    rules: Vec<RuleRow>,
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    notice: web::Query<Notice>,
) -> UiResult {
    viewer.reading(&req);
    let body = json_of(api::rules::list(req.clone(), state).await).await?;
    let rules = body["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| RuleRow {
            id: text(&r["id"]),
            cells: cells(r, &LIST_COLUMNS),
            active: r["is_active"].as_bool().unwrap_or_default(),
        })
        .collect();
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

    fn from_rule(rule: &Value) -> Self {
        Self {
            name: text(&rule["name"]),
            description: text(&rule["description"]),
            match_string: text(&rule["match_string"]),
            trap_oid: text(&rule["trap_oid"]),
            syslog_severity: text(&rule["syslog_severity"]),
            match_type: text(&rule["match_type"]),
            priority: text(&rule["priority"]),
            prod_handling: text(&rule["prod_handling"]),
            dev_handling: text(&rule["dev_handling"]),
            team_assignment: text(&rule["team_assignment"]),
            is_active: rule["is_active"].as_bool().unwrap_or_default(),
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

    /// The API body: empty optional texts become `null`, numbers numbers where they
    /// parse (otherwise the API names the field that is wrong).
    fn to_body(&self) -> Map<String, Value> {
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
        body
    }
}

#[derive(Template)]
#[template(path = "rule_form.html")]
struct RuleFormPage {
    chrome: Chrome,
    /// `None` for a new rule.
    id: Option<String>,
    rule: RuleFields,
    error: Option<String>,
}

fn form_page(
    chrome: Chrome,
    id: Option<String>,
    rule: RuleFields,
    error: Option<String>,
) -> UiResult {
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
    viewer.submitting(&req, &form)?;
    let fields = RuleFields::from_form(&form);
    let answer = api::rules::create(req.clone(), state, web::Json(fields.to_body())).await;
    match outcome(answer).await? {
        Ok(created) => Ok(redirect_with_notice(
            "/rules",
            &format!("Rule {} created.", text(&created["id"])),
        )),
        Err(message) => form_page(
            Chrome::new(&viewer, "rules", &Notice::default()),
            None,
            fields,
            Some(message),
        ),
    }
}

async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i32>,
) -> UiResult {
    viewer.reading(&req);
    let rule = json_of(api::rules::get(req.clone(), state, id).await).await?;
    form_page(
        Chrome::new(&viewer, "rules", &Notice::default()),
        Some(text(&rule["id"])),
        RuleFields::from_rule(&rule),
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
    viewer.submitting(&req, &form)?;
    let fields = RuleFields::from_form(&form);
    let rule_id = *id;
    let answer = api::rules::update(req.clone(), state, id, web::Json(fields.to_body())).await;
    match outcome(answer).await? {
        Ok(_) => Ok(redirect_with_notice(
            "/rules",
            &format!("Rule {rule_id} saved."),
        )),
        Err(message) => form_page(
            Chrome::new(&viewer, "rules", &Notice::default()),
            Some(rule_id.to_string()),
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
    viewer.submitting(&req, &form)?;
    let rule_id = *id;
    let mut body = Map::new();
    let reason = field(&form, "reason").trim();
    if !reason.is_empty() {
        body.insert("reason".into(), reason.into());
    }
    let answer = api::rules::delete(req.clone(), state, id, Some(web::Json(body))).await;
    let notice = match outcome(answer).await? {
        Ok(done) => format!("Rule {rule_id}: {}.", text(&done["message"])),
        Err(message) => format!("Rule {rule_id} was not deleted: {message}"),
    };
    Ok(redirect_with_notice("/rules", &notice))
}

/// What `POST /rules/test` answered, for the page.
pub struct TestResult {
    pub matched: bool,
    pub rule_id: String,
    pub rule_name: String,
    pub environment: String,
    pub handling: String,
    pub forward: bool,
    pub team: String,
    pub why: String,
}

#[derive(Template)]
#[template(path = "rule_test.html")]
struct TestPage {
    chrome: Chrome,
    event: String,
    result: Option<TestResult>,
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
    let answer = api::rule_test::test(req.clone(), state, web::Json(parsed)).await;
    let (result, error) = match outcome(answer).await? {
        Ok(a) => (
            Some(TestResult {
                matched: a["matched"].as_bool().unwrap_or_default(),
                rule_id: text(&a["rule"]["id"]),
                rule_name: text(&a["rule"]["name"]),
                environment: text(&a["environment"]),
                handling: text(&a["handling"]),
                forward: a["forward"].as_bool().unwrap_or_default(),
                team: text(&a["team"]),
                why: text(&a["why"]),
            }),
            None,
        ),
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
