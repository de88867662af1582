//! `GET /metrics` (under `/api/…`): the dashboard's figures
//! ([`crate::service::dashboard`]).

use super::reader;
use crate::error::ApiResult;
use crate::service::AppState;
use crate::service::dashboard;
use actix_web::{HttpRequest, HttpResponse, web};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    reader(&req, &state).await?;
    let (figures, cached) = dashboard::figures(&state).await?;
    let mut response = HttpResponse::Ok().json(figures);
    if cached {
        response
            .extensions_mut()
            .insert(crate::error::Marked::Cached);
    }
    Ok(response)
}
