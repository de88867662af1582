//! Rules as code: `GET /rules/export` (the active rules as YAML), `POST /rules/import`
//! (a rules file applied as one audited change, or compared with `dry_run`), over
//! [`crate::service::rule_file`], and `POST /rules/backtest` (a draft rules file run over
//! the sample of recent events, [`crate::service::backtest`]). The file is the request
//! body as it is, YAML (JSON is YAML too).

use super::caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::service::AppState;
use crate::service::backtest::{self, BacktestReport};
use crate::service::rule_file::{self, ImportReport, RulesFile};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use shared::process::admin::resource;
use shared::store::api_keys::Scope;
use utoipa::IntoParams;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/rules/export", "GET").get(export))
        .service(resource("/rules/import", "POST").post(import))
        .service(resource("/rules/backtest", "POST").post(backtest));
}

/// How to import.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Only say what the import would do (read scope suffices).
    dry_run: Option<bool>,
    /// Why, for the configuration audit.
    reason: Option<String>,
}

/// The body as text: a rules file is UTF-8.
pub fn text_of(body: &web::Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|_| ApiError::bad("the rules file must be UTF-8 text"))
}

/// The active rules as a rules file (read).
#[utoipa::path(get, operation_id = "export_rules", path = "/rules/export", tag = "rules",
    responses((status = 200, content_type = "application/yaml", body = RulesFile)),
    security(("api_key" = [])))]
pub(super) async fn export(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    let caller = caller(&req, &state, Scope::Read).await?;
    let text = rule_file::export(&state, &caller).await?;
    Ok(HttpResponse::Ok()
        .content_type(rule_file::MEDIA_TYPE)
        .body(text))
}

/// Applies a rules file in one transaction, audited as one change (admin): creates the
/// new rules, changes those that differ, deactivates the active rules it leaves out.
/// With `dry_run=true` it only says what it would do (read). A file with problems
/// changes nothing: 400 with every problem and its line.
#[utoipa::path(post, operation_id = "import_rules", path = "/rules/import", tag = "rules",
    params(ImportQuery),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn import(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ImportQuery>,
    body: web::Bytes,
) -> ApiResult {
    let dry_run = query.dry_run.unwrap_or(false);
    let caller = caller(
        &req,
        &state,
        if dry_run { Scope::Read } else { Scope::Admin },
    )
    .await?;
    let text = text_of(&body)?;
    let report = rule_file::import(&state, &caller, text, dry_run, query.reason.as_deref()).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// What a draft rules file would have done to the last events the alerters saw (read):
/// per draft rule, the events it would take; which decisions change from the live rules,
/// with examples. Silences are left out on both sides.
#[utoipa::path(post, operation_id = "backtest_rules", path = "/rules/backtest", tag = "rules",
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = BacktestReport), (status = 400, body = ErrorBody)),
    security(("api_key" = [])))]
pub(super) async fn backtest(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult {
    let caller = caller(&req, &state, Scope::Read).await?;
    let report = backtest::run(&state, &caller, text_of(&body)?).await?;
    Ok(HttpResponse::Ok().json(report))
}
