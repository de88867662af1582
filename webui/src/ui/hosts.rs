//! `/hosts`: development hosts (their events get a rule's dev handling) and device → team
//! mappings, with forms to add, change and remove them.

use super::Form;
use super::session::Viewer;
use super::{Chrome, Notice, UiResult, field, form_fields, ok, outcome, redirect_with_notice};
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::hosts;
use actix_web::{HttpRequest, web};
use askama::Template;

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

async fn show(state: web::Data<AppState>, viewer: Viewer, notice: web::Query<Notice>) -> UiResult {
    ok(&HostsPage {
        chrome: Chrome::new(&viewer, "hosts", &notice),
        dev_hosts: hosts::dev_hosts(&state)
            .await?
            .into_iter()
            .map(|h| h.hostname)
            .collect(),
        teams: hosts::teams(&state)
            .await?
            .into_iter()
            .map(|t| (t.hostname, t.team_assignment))
            .collect(),
    })
}

/// Back to the page with the service's message, or with `done`.
fn finish(answer: Result<(), ApiError>, done: String) -> UiResult {
    let notice = match outcome(answer)? {
        Ok(()) => done,
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
    let caller = viewer.submitting(&req, &form)?;
    let answer = async {
        let input = form_fields(&form, &["hostname", "reason"])?;
        let host = hosts::dev_host_of(&input)?;
        hosts::add_dev_host(&state, &caller, host, input.reason()?.as_deref()).await
    }
    .await;
    finish(
        answer,
        format!("Dev host {} added.", field(&form, "hostname").trim()),
    )
}

async fn delete_dev_host(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let hostname = field(&form, "hostname");
    let answer = hosts::remove_dev_host(&state, &caller, hostname).await;
    finish(answer, format!("Dev host {hostname} removed."))
}

async fn add_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let answer = async {
        let input = form_fields(&form, &["hostname", "team_assignment", "reason"])?;
        let mapping = hosts::mapping_of(&input)?;
        hosts::add_team(&state, &caller, mapping, input.reason()?.as_deref()).await
    }
    .await;
    finish(
        answer,
        format!(
            "{} now belongs to {}.",
            field(&form, "hostname").trim(),
            field(&form, "team_assignment").trim()
        ),
    )
}

async fn update_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let hostname = field(&form, "hostname");
    let answer = async {
        let input = form_fields(&form, &["team_assignment", "reason"])?;
        let team = hosts::team_of(&input)?;
        hosts::set_team(&state, &caller, hostname, team, input.reason()?.as_deref()).await
    }
    .await;
    finish(
        answer,
        format!(
            "{hostname} now belongs to {}.",
            field(&form, "team_assignment").trim()
        ),
    )
}

async fn delete_team(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let hostname = field(&form, "hostname");
    let answer = hosts::remove_team(&state, &caller, hostname).await;
    finish(answer, format!("Team mapping of {hostname} removed."))
}
