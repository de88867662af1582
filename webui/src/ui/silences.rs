//! `/silences`: maintenance windows, active, upcoming and expired, with forms to create,
//! extend, expire and delete them, over [`crate::service::silences`]. Durations are asked
//! in minutes here (the API takes seconds).

use super::Form;
use super::session::Viewer;
use super::{Chrome, Notice, UiResult, form_body, ok, outcome, redirect_with_notice};
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::fields::Fields;
use crate::service::paging::Page;
use crate::service::silences::{self, ExtendInput, SilenceInput};
use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::{Map, Value};
use shared::store::silences::{SilenceRecord, SilenceState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/silences", web::get().to(show))
        .route("/silences/create", web::post().to(create))
        .route("/silences/{id}/extend", web::post().to(extend))
        .route("/silences/{id}/expire", web::post().to(expire))
        .route("/silences/{id}/delete", web::post().to(delete));
}

/// How many expired silences the page lists (the newest); the API pages through all.
const EXPIRED_SHOWN: i64 = 50;

#[derive(Template)]
#[template(path = "silences.html")]
struct SilencesPage {
    chrome: Chrome,
    active: Vec<SilenceRecord>,
    upcoming: Vec<SilenceRecord>,
    expired: Vec<SilenceRecord>,
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    notice: web::Query<Notice>,
) -> UiResult {
    let caller = viewer.reading(&req);
    let listed = async |wanted, limit| {
        let page = Page {
            page: 1,
            limit: Some(limit),
        };
        silences::list(&state, &caller, Some(wanted), &page)
            .await
            .map(|found| found.silences)
    };
    let max = crate::service::paging::MAX_LIMIT;
    ok(&SilencesPage {
        chrome: Chrome::new(&viewer, "silences", &notice),
        active: listed(SilenceState::Active, max).await?,
        upcoming: listed(SilenceState::Upcoming, max).await?,
        expired: listed(SilenceState::Expired, EXPIRED_SHOWN).await?,
    })
}

/// The form's text fields `texts` and its whole-number fields `numbers` (minutes become
/// the API's seconds) as a request body.
fn body_of(
    form: &Form,
    texts: &[&str],
    minutes: &[(&str, &str)],
    numbers: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    let mut body = form_body(form, texts);
    let whole = |name: &str| -> Result<Option<i64>, ApiError> {
        match form.get(name).map(|t| t.trim()).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => text
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::bad(format!("{name} must be a whole number"))),
        }
    };
    for (field, seconds) in minutes {
        if let Some(n) = whole(field)? {
            body.insert((*seconds).to_owned(), n.saturating_mul(60).into());
        }
    }
    for name in numbers {
        if let Some(n) = whole(name)? {
            body.insert((*name).to_owned(), n.into());
        }
    }
    Ok(body)
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let made = async {
        let texts = ["hostname", "team", "message_regex", "starts_at", "reason"];
        let body = body_of(
            &form,
            &texts,
            &[("duration_minutes", "duration_seconds")],
            &["rule_id"],
        )?;
        let fields = Fields::of::<SilenceInput>(body)?;
        let new = silences::new_silence_of(&fields, chrono::Utc::now())?;
        silences::create(&state, &caller, &new).await
    }
    .await;
    back(made, "Not made", |made| {
        format!("Silence {} made, until {}.", made.id, made.ends_at)
    })
}

async fn extend(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i32>,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let done = async {
        let body = body_of(&form, &["reason"], &[("by_minutes", "by_seconds")], &[])?;
        let fields = Fields::of::<ExtendInput>(body)?;
        let reason = fields.reason()?;
        let end = |current| silences::new_end_of(&fields, current);
        silences::extend(&state, &caller, *id, end, reason.as_deref()).await
    }
    .await;
    back(done, &format!("Silence {id} not changed"), |done| {
        format!("Silence {} now ends {}.", done.id, done.ends_at)
    })
}

async fn expire(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i32>,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let done = silences::expire(&state, &caller, *id, None).await;
    back(done, &format!("Silence {id} not changed"), |done| {
        format!("Silence {} expired.", done.id)
    })
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i32>,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let done = silences::delete(&state, &caller, *id, None).await;
    back(done, &format!("Silence {id} not deleted"), |done| {
        format!("Silence {} deleted; its audit stays.", done.id)
    })
}

/// Back to the page, saying what a change did, or (`refused`: the service's reason)
/// why it did not.
fn back(
    done: Result<SilenceRecord, ApiError>,
    refused: &str,
    said: impl FnOnce(&SilenceRecord) -> String,
) -> UiResult {
    let notice = match outcome(done)? {
        Ok(done) => said(&done),
        Err(message) => format!("{refused}: {message}"),
    };
    Ok(redirect_with_notice("/silences", &notice))
}
