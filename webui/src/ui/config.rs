//! `/config`: the dynamic settings services read at run time, each with its current
//! value, who reads it and what it does, and (for admins) a form to change it.

use super::session::Viewer;
use super::{Chrome, Notice, UiResult, field, ok, outcome, redirect_with_notice};
use crate::service::AppState;
use crate::service::config::{self, SettingValue};
use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::Value;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/config", web::get().to(show))
        .route("/config", web::post().to(set));
}

#[derive(Template)]
#[template(path = "config.html")]
struct ConfigPage {
    chrome: Chrome,
    settings: Vec<SettingValue>,
}

/// What the page shows of a setting.
impl SettingValue {
    fn shown(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }
}

async fn show(state: web::Data<AppState>, viewer: Viewer, notice: web::Query<Notice>) -> UiResult {
    ok(&ConfigPage {
        chrome: Chrome::new(&viewer, "config", &notice),
        settings: config::settings(&state).await?,
    })
}

async fn set(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: super::Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let key = field(&form, "key");
    let value = Value::from(field(&form, "value").trim());
    let reason = Some(field(&form, "reason").trim()).filter(|r| !r.is_empty());
    let answer = config::set(&state, &caller, key, &value, reason).await;
    let notice = match outcome(answer)? {
        Ok(done) => format!("{key} is now {}.", done.new_value),
        Err(message) => format!("{key} was not changed: {message}"),
    };
    Ok(redirect_with_notice("/config", &notice))
}
