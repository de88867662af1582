//! `/rules/file`: rules as code in the browser. The page holds the rules file (the export
//! of the active rules, to edit, or a file uploaded from disk, or pasted); "Review" shows
//! what an import would change, "Backtest" what the draft would have done to the recent
//! events, and "Apply" imports it as one audited change, with the reason given.

use super::Form;
use super::session::Viewer;
use super::{Chrome, Notice, UiResult, field, outcome, page, redirect_with_notice};
use crate::error::ApiError;
use crate::service::AppState;
use crate::service::backtest::{self, BacktestReport};
use crate::service::rule_file::{self, ImportReport};
use actix_multipart::form::{MultipartForm, bytes::Bytes, text::Text};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;

/// The largest rules file the form takes (actix's form default is 16 KiB).
const MAX_FILE: usize = 4 * 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/rules/file")
            .app_data(web::FormConfig::default().limit(MAX_FILE))
            .route(web::get().to(show))
            .route(web::post().to(act)),
    )
    .service(
        web::resource("/rules/file/upload")
            .app_data(actix_multipart::form::MultipartFormConfig::default().total_limit(MAX_FILE))
            .route(web::post().to(upload)),
    )
    .route("/rules/export.yaml", web::get().to(download));
}

#[derive(Template)]
#[template(path = "rule_file.html")]
struct FilePage {
    chrome: Chrome,
    text: String,
    review: Option<ImportReport>,
    backtest: Option<BacktestReport>,
    error: Option<String>,
}

async fn show(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> UiResult {
    let text = rule_file::export(&state, &viewer.reading(&req)).await?;
    Ok(page(
        StatusCode::OK,
        &FilePage {
            chrome: Chrome::new(&viewer, "file", &Notice::default()),
            text,
            review: None,
            backtest: None,
            error: None,
        },
    ))
}

async fn download(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer) -> UiResult {
    let text = rule_file::export(&state, &viewer.reading(&req)).await?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type(rule_file::MEDIA_TYPE)
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"mutt-rules.yaml\"",
        ))
        .body(text))
}

async fn act(req: HttpRequest, state: web::Data<AppState>, viewer: Viewer, form: Form) -> UiResult {
    let caller = viewer.submitting(&req, &form)?;
    let text = field(&form, "file").replace("\r\n", "\n");
    let mut shown = FilePage {
        chrome: Chrome::new(&viewer, "file", &Notice::default()),
        text: text.clone(),
        review: None,
        backtest: None,
        error: None,
    };
    match field(&form, "action") {
        "apply" => {
            let reason = Some(field(&form, "reason").trim()).filter(|r| !r.is_empty());
            match outcome(rule_file::import(&state, &caller, &text, false, reason).await)? {
                Ok(done) => {
                    let notice = format!(
                        "Rules file applied: {} created, {} changed, {} deactivated, {} unchanged.",
                        done.created.len(),
                        done.updated.len(),
                        done.deactivated.len(),
                        done.unchanged
                    );
                    return Ok(redirect_with_notice("/rules", &notice));
                }
                Err(message) => shown.error = Some(message),
            }
        }
        "backtest" => match outcome(backtest::run(&state, &caller, &text).await)? {
            Ok(report) => shown.backtest = Some(report),
            Err(message) => shown.error = Some(message),
        },
        _ => match outcome(rule_file::import(&state, &caller, &text, true, None).await)? {
            Ok(report) => shown.review = Some(report),
            Err(message) => shown.error = Some(message),
        },
    }
    let status = super::status_for(&shown.error);
    Ok(page(status, &shown))
}

/// The upload form: the session's token and the file.
#[derive(MultipartForm)]
struct Upload {
    csrf: Text<String>,
    #[multipart(limit = "4MiB")]
    file: Bytes,
}

/// An uploaded rules file, shown in the page's editor with what importing it would change.
async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    MultipartForm(form): MultipartForm<Upload>,
) -> UiResult {
    let token: std::collections::HashMap<String, String> =
        [("csrf".to_owned(), form.csrf.0)].into();
    let caller = viewer.submitting(&req, &token)?;
    let mut shown = FilePage {
        chrome: Chrome::new(&viewer, "file", &Notice::default()),
        text: String::new(),
        review: None,
        backtest: None,
        error: None,
    };
    let reviewed = match std::str::from_utf8(&form.file.data) {
        Ok(text) => {
            shown.text = text.replace("\r\n", "\n");
            rule_file::import(&state, &caller, &shown.text, true, None).await
        }
        Err(_) => Err(ApiError::bad("the uploaded file is not UTF-8 text")),
    };
    match outcome(reviewed)? {
        Ok(report) => shown.review = Some(report),
        Err(message) => shown.error = Some(message),
    }
    Ok(page(super::status_for(&shown.error), &shown))
}
