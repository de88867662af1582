//! `/config`: the dynamic settings services read at run time, each with its current
//! value, who reads it and what it does, and (for admins) a form to change it.

use super::session::Viewer;
use super::{Chrome, Notice, UiResult, field, json_of, ok, outcome, redirect_with_notice, text};
use crate::api;
use crate::state::AppState;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::{Map, Value};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/config", web::get().to(show))
        .route("/config", web::post().to(set));
}

pub struct SettingRow {
    pub key: String,
    pub value: String,
    pub read_by: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "config.html")]
struct ConfigPage {
    chrome: Chrome,
    settings: Vec<SettingRow>,
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    notice: web::Query<Notice>,
) -> UiResult {
    viewer.reading(&req);
    let body = json_of(api::config::list(req.clone(), state).await).await?;
    let settings = body["settings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| SettingRow {
            key: text(&s["key"]),
            value: text(&s["value"]),
            read_by: match &s["read_by"] {
                Value::Array(services) => services.iter().map(text).collect::<Vec<_>>().join(", "),
                other => text(other),
            },
            description: text(&s["description"]),
        })
        .collect();
    ok(&ConfigPage {
        chrome: Chrome::new(&viewer, "config", &notice),
        settings,
    })
}

async fn set(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: super::Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let key = field(&form, "key").to_owned();
    let mut body = Map::new();
    body.insert("value".into(), field(&form, "value").trim().into());
    let reason = field(&form, "reason").trim();
    if !reason.is_empty() {
        body.insert("reason".into(), reason.into());
    }
    let answer = api::config::set(
        req.clone(),
        state,
        web::Path::from(key.clone()),
        web::Json(body),
    )
    .await;
    let notice = match outcome(answer).await? {
        Ok(done) => format!("{key} is now {}.", text(&done["new_value"])),
        Err(message) => format!("{key} was not changed: {message}"),
    };
    Ok(redirect_with_notice("/config", &notice))
}
