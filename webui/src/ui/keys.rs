//! `/keys` (admin scope): the named API keys, with forms to create, rotate and revoke them.
//! A key made here is shown once, on the page that answers the form (never in a redirect's
//! address, which browsers keep in their history).

use super::Form;
use super::session::Viewer;
use super::{
    Chrome, Notice, UiResult, field, form_body, form_fields, ok, outcome, redirect_with_notice,
};
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::fields::Fields;
use crate::service::keys::{self, NewKey};
use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::Value;
use shared::store::api_keys::KeyInfo;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(show))
        .route("/keys/create", web::post().to(create))
        .route("/keys/rotate", web::post().to(rotate))
        .route("/keys/revoke", web::post().to(revoke));
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyInfo>,
    /// A key made by the form this page answers: shown this once.
    made: Option<NewKey>,
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    req: &HttpRequest,
    notice: &Notice,
    made: Option<NewKey>,
) -> UiResult {
    let caller = viewer.reading(req);
    ok(&KeysPage {
        chrome: Chrome::new(viewer, "keys", notice),
        keys: keys::list(state, &caller).await?,
        made,
    })
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    notice: web::Query<Notice>,
) -> UiResult {
    page(&state, &viewer, &req, &notice, None).await
}

/// The page with the new key, or back to it with the service's message.
async fn answer(
    state: &AppState,
    viewer: &Viewer,
    req: &HttpRequest,
    made: Result<NewKey, ApiError>,
) -> UiResult {
    match outcome(made)? {
        Ok(made) => {
            let notice = Notice {
                notice: Some(format!(
                    "Key {} made. Copy it now: it is not shown again.",
                    made.name
                )),
            };
            page(state, viewer, req, &notice, Some(made)).await
        }
        Err(message) => Ok(redirect_with_notice(
            "/keys",
            &format!("Not changed: {message}"),
        )),
    }
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let made = async {
        // The form's one comma-separated field becomes the API's list.
        let scopes: Vec<Value> = field(&form, "scopes")
            .split(',')
            .map(|s| Value::from(s.trim()))
            .collect();
        let mut body = form_body(&form, &["name", "reason"]);
        body.insert("scopes".to_owned(), scopes.into());
        let input = Fields::of::<keys::KeyInput>(body)?;
        let (name, scopes) = keys::new_key_of(&input)?;
        keys::create(&state, &caller, &name, &scopes, input.reason()?.as_deref()).await
    }
    .await;
    answer(&state, &viewer, &req, made).await
}

async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let name = field(&form, "name").to_owned();
    let made = async {
        let seconds = field(&form, "grace_seconds").trim();
        let grace = match seconds {
            "" => Value::from(0),
            text => text
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| ApiError::bad("grace_seconds must be a whole number of seconds"))?,
        };
        let input = Fields::new(
            [("grace_seconds".to_owned(), grace)].into_iter().collect(),
            &["grace_seconds"],
        )?;
        let grace = keys::grace_of(&input)?;
        let reason = form_fields(&form, &["reason"])?.reason()?;
        keys::rotate(&state, &caller, &name, grace, reason.as_deref()).await
    }
    .await;
    answer(&state, &viewer, &req, made).await
}

async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let name = field(&form, "name").to_owned();
    let answer = async {
        let reason = form_fields(&form, &["reason"])?.reason()?;
        keys::revoke(&state, &caller, &name, reason.as_deref()).await
    }
    .await;
    let notice = match outcome(answer)? {
        Ok(revoked) => format!("Revoked {} key(s) named {name}.", revoked.len()),
        Err(message) => format!("Not changed: {message}"),
    };
    Ok(redirect_with_notice("/keys", &notice))
}
