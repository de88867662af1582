//! `/hosts`: development hosts (their events get a rule's dev handling) and device → team
//! mappings, with forms to add, change and remove them.

use super::Form;
use super::session::Viewer;
use super::{Chrome, Notice, UiResult, field, json_of, ok, outcome, redirect_with_notice, text};
use crate::api;
use crate::error::ApiResult;
use crate::state::AppState;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/hosts", web::get().to(show))
        .route("/hosts/dev", web::post().to(add_dev_host))
        .route("/hosts/dev/delete", web::post().to(delete_dev_host))
        .route("/hosts/teams", web::post().to(add_team))
        .route("/hosts/teams/update", web::post().to(update_team))
        .route("/hosts/teams/delete", web::post().to(delete_team));
}

#[derive(Template)]
#[template(path = "hosts.html")]
struct HostsPage {
    chrome: Chrome,
    dev_hosts: Vec<String>,
    /// (hostname, team)
    teams: Vec<(String, String)>,
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    notice: web::Query<Notice>,
) -> UiResult {
    viewer.reading(&req);
    let hosts = json_of(api::hosts::list_dev_hosts(req.clone(), state.clone()).await).await?;
    let teams = json_of(api::hosts::list_teams(req.clone(), state).await).await?;
    ok(&HostsPage {
        chrome: Chrome::new(&viewer, "hosts", &notice),
        dev_hosts: hosts["hosts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| text(&h["hostname"]))
            .collect(),
        teams: teams["teams"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| (text(&t["hostname"]), text(&t["team_assignment"])))
            .collect(),
    })
}

/// The API body from the named form fields (empty ones left out, so the API says which
/// required one is missing).
fn body(form: &HashMap<String, String>, names: &[&str]) -> web::Json<Map<String, Value>> {
    web::Json(
        names
            .iter()
            .filter_map(|n| {
                let v = field(form, n).trim();
                (!v.is_empty()).then(|| ((*n).to_owned(), Value::from(v)))
            })
            .collect(),
    )
}

/// Back to the page with the API's message, or with `done`.
async fn finish(answer: ApiResult, done: String) -> UiResult {
    let notice = match outcome(answer).await? {
        Ok(_) => done,
        Err(message) => format!("Not changed: {message}"),
    };
    Ok(redirect_with_notice("/hosts", &notice))
}

async fn add_dev_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let answer =
        api::hosts::add_dev_host(req.clone(), state, body(&form, &["hostname", "reason"])).await;
    finish(
        answer,
        format!("Dev host {} added.", field(&form, "hostname").trim()),
    )
    .await
}

async fn delete_dev_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let hostname = field(&form, "hostname").to_owned();
    let answer =
        api::hosts::delete_dev_host(req.clone(), state, web::Path::from(hostname.clone())).await;
    finish(answer, format!("Dev host {hostname} removed.")).await
}

async fn add_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let answer = api::hosts::add_team(
        req.clone(),
        state,
        body(&form, &["hostname", "team_assignment", "reason"]),
    )
    .await;
    finish(
        answer,
        format!(
            "{} now belongs to {}.",
            field(&form, "hostname").trim(),
            field(&form, "team_assignment").trim()
        ),
    )
    .await
}

async fn update_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let hostname = field(&form, "hostname").to_owned();
    let answer = api::hosts::update_team(
        req.clone(),
        state,
        web::Path::from(hostname.clone()),
        body(&form, &["team_assignment", "reason"]),
    )
    .await;
    finish(
        answer,
        format!(
            "{hostname} now belongs to {}.",
            field(&form, "team_assignment").trim()
        ),
    )
    .await
}

async fn delete_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let hostname = field(&form, "hostname").to_owned();
    let answer =
        api::hosts::delete_team(req.clone(), state, web::Path::from(hostname.clone())).await;
    finish(answer, format!("Team mapping of {hostname} removed.")).await
}
