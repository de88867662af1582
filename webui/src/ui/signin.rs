//! `/login` and `/logout`, and v2.5's key-in-the-query bookmarks.

use super::session::{self, LOGIN_COOKIE};
use super::{UiError, UiResult, page, redirect};
use crate::auth::holder_of;
use crate::service::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use shared::store::api_keys::Scope;
use std::collections::HashMap;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(form))
        .route("/login", web::post().to(sign_in))
        .route("/logout", web::post().to(sign_out));
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
}

fn login_page(req: &HttpRequest, status: StatusCode, error: Option<String>) -> HttpResponse {
    let (csrf, cookie) = session::login_token(req);
    let mut response = page(status, &LoginPage { csrf, error });
    response
        .add_cookie(&cookie)
        .expect("a cookie is a valid header");
    response
}

async fn form(req: HttpRequest) -> HttpResponse {
    login_page(&req, StatusCode::OK, None)
}

async fn sign_in(req: HttpRequest, state: web::Data<AppState>, form: super::Form) -> UiResult {
    if !session::login_token_ok(&req, &form) {
        return Ok(login_page(
            &req,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired. Try again.".into()),
        ));
    }
    let key = form.get("api_key").map(|k| k.trim()).unwrap_or_default();
    let holder = if key.is_empty() {
        None
    } else {
        holder_of(&state, key).await?
    };
    let Some(holder) = holder.filter(|h| h.may(Scope::Read)) else {
        return Ok(login_page(
            &req,
            StatusCode::UNAUTHORIZED,
            Some("That key is not a valid key with the read or admin scope.".into()),
        ));
    };
    tracing::info!(user = %holder.name, "signed in to the web UI");
    let cookie = session::start(&state, holder, key, &req).await?;
    let mut response = redirect("/");
    response.add_cookie(&cookie).expect("a valid cookie");
    response
        .add_removal_cookie(&session::cookie(LOGIN_COOKIE, String::new(), 0, &req))
        .expect("a valid cookie");
    Ok(response)
}

/// v2.5's bookmarks, `/?api_key=…` and `/audit?api_key=…`: the key in the query signs in
/// (logged as deprecated) and the answer redirects to the same page without it, so the key
/// leaves the address bar and the history. `None` when the query holds no key.
pub async fn key_in_query(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<HttpResponse>, UiError> {
    let Ok(query) = web::Query::<HashMap<String, String>>::from_query(req.query_string()) else {
        return Ok(None);
    };
    let Some(key) = query.get("api_key") else {
        return Ok(None);
    };
    tracing::warn!(
        path = req.path(),
        "api_key in the query string is deprecated; sign in at /login"
    );
    let Some(holder) = holder_of(state, key).await?.filter(|h| h.may(Scope::Read)) else {
        return Ok(Some(redirect("/login")));
    };
    let cookie = session::start(state, holder, key, req).await?;
    let mut response = redirect(req.path());
    response.add_cookie(&cookie).expect("a valid cookie");
    Ok(Some(response))
}

async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: super::session::Viewer,
    form: super::Form,
) -> UiResult {
    viewer.submitting(&req, &form)?;
    let cookie = session::end(&state, &req).await.map_err(UiError::Api)?;
    let mut response = redirect("/login");
    response.add_cookie(&cookie).expect("a valid cookie");
    Ok(response)
}
