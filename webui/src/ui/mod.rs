//! The HTML UI: server-rendered pages (askama templates in `webui/templates/`, one
//! stylesheet in `webui/assets/`, no JavaScript) for operators who sign in with an API
//! key ([`session`]).
//!
//! The pages call the same service layer as the JSON API ([`crate::service`]) and render
//! its typed values, so the UI reads and changes exactly what the API does, with the same
//! validation, scopes, audit rows and reload notices. Forms post, then redirect (a notice
//! in the query string); a refused change re-renders the form with the service's message
//! and a 400.

pub mod chart;
mod config;
mod dashboard;
mod dlq;
mod hosts;
mod keys;
mod lists;
mod rule_file;
mod rules;
pub mod session;
mod signin;
mod silences;

use crate::error::ApiError;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;
use session::Viewer;
use std::fmt;

const STYLESHEET: &str = include_str!("../../assets/mutt.css");

pub fn mount(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/assets/mutt.css",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/css; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "max-age=3600"))
                .body(STYLESHEET)
        }),
    )
    .configure(signin::routes)
    .configure(dashboard::routes)
    // Before `/rules/{id}`, which would take `file` for an id.
    .configure(rule_file::routes)
    .configure(rules::routes)
    .configure(hosts::routes)
    .configure(keys::routes)
    .configure(silences::routes)
    .configure(lists::routes)
    .configure(config::routes)
    .configure(dlq::routes);
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum UiError {
    /// No live session: off to the sign-in page.
    SignIn,
    /// A form without this session's CSRF token.
    Csrf,
    Api(ApiError),
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<redis::RedisError> for UiError {
    fn from(e: redis::RedisError) -> Self {
        Self::Api(e.into())
    }
}

impl fmt::Display for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SignIn => f.write_str("sign in first"),
            Self::Csrf => f.write_str(
                "This form is stale or did not come from this site. Go back, reload the page and try again.",
            ),
            Self::Api(e) => e.fmt(f),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    message: String,
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn => StatusCode::SEE_OTHER,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn | Self::Api(ApiError::Unauthorized) => redirect("/login"),
            Self::Api(e) => {
                // The page says only what the API would say; the detail goes to the log.
                e.log();
                page(
                    self.status_code(),
                    &ErrorPage {
                        status: self.status_code().as_u16(),
                        message: e.to_string(),
                    },
                )
            }
            Self::Csrf => page(
                StatusCode::FORBIDDEN,
                &ErrorPage {
                    status: 403,
                    message: self.to_string(),
                },
            ),
        }
    }
}

pub type UiResult = Result<HttpResponse, UiError>;

/// A posted HTML form, field by field.
pub type Form = web::Form<std::collections::HashMap<String, String>>;

/// A rendered page, with the headers every page carries.
pub fn page(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header(("X-Frame-Options", "DENY"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .insert_header((
                "Content-Security-Policy",
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
            ))
            .body(html),
        Err(error) => {
            tracing::error!(error = %error, "cannot render a page");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal server error")
        }
    }
}

/// 400 for a page that shows why the input was refused, else 200.
pub fn status_for(error: &Option<String>) -> StatusCode {
    if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

pub fn ok(template: &impl Template) -> UiResult {
    Ok(page(StatusCode::OK, template))
}

/// 303 to `location` (after a form, so that reload does not post again).
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// 303 to `path` with `pairs` as its query (a notice for the page to show, say).
pub fn redirect_with(path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    redirect(&format!("{path}?{query}"))
}

/// 303 to `path` with a notice for the page to show.
pub fn redirect_with_notice(path: &str, notice: &str) -> HttpResponse {
    redirect_with(path, &[("notice", notice)])
}

/// What a service said to a change: `Ok(done)`, or `Err(message)` when it refused the
/// input (a 4xx the operator can act on); other failures pass up.
pub fn outcome<T>(answer: Result<T, ApiError>) -> Result<Result<T, String>, UiError> {
    match answer {
        Ok(done) => Ok(Ok(done)),
        Err(
            e @ (ApiError::BadRequest(_)
            | ApiError::Invalid(_)
            | ApiError::NotFound(_)
            | ApiError::Conflict(_)
            | ApiError::Forbidden(_)),
        ) => Ok(Err(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// The frame around every page: who is signed in, the token forms carry, whether
/// write controls show, which tab is open, and a notice from the last action.
pub struct Chrome {
    pub user: String,
    pub csrf: String,
    pub can_write: bool,
    pub active: &'static str,
    pub notice: Option<String>,
}

impl Chrome {
    pub fn new(viewer: &Viewer, active: &'static str, notice: &Notice) -> Self {
        Self {
            user: viewer.name().to_owned(),
            csrf: viewer.session.csrf.clone(),
            can_write: viewer.can_write(),
            active,
            notice: notice.notice.clone().filter(|n| !n.is_empty()),
        }
    }

    /// `class="active"` for the open tab's link.
    pub fn tab(&self, name: &str) -> &'static str {
        if self.active == name { "active" } else { "" }
    }
}

#[derive(Deserialize, Default)]
pub struct Notice {
    pub notice: Option<String>,
}

/// An optional value as a table cell: nothing when absent.
pub fn cell(value: &Option<impl std::fmt::Display>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// A form's text field; absent is empty.
pub fn field<'a>(form: &'a std::collections::HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or_default()
}

/// A form's named fields as the service reads a request body (empty ones left out, so
/// that the service says which required one is missing).
pub fn form_fields(
    form: &std::collections::HashMap<String, String>,
    names: &[&str],
) -> Result<crate::service::fields::Fields, ApiError> {
    crate::service::fields::Fields::new(form_body(form, names), names)
}

/// The request body a form's named fields make: each trimmed, the empty ones left out.
pub fn form_body(
    form: &std::collections::HashMap<String, String>,
    names: &[&str],
) -> serde_json::Map<String, serde_json::Value> {
    names
        .iter()
        .filter_map(|n| {
            let v = field(form, n).trim();
            (!v.is_empty()).then(|| ((*n).to_owned(), serde_json::Value::from(v)))
        })
        .collect()
}
