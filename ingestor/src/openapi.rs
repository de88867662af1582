//! The ingest API's OpenAPI 3.1 document, served at `/openapi.json` and checked in as
//! `docs/openapi/ingestor.json` (a test fails when they differ). Generated from the
//! handlers' `#[utoipa::path]` and the types of their bodies and answers
//! (`crate::answers`, `crate::intake::IngestEvent`).

use actix_web::HttpResponse;
use std::sync::OnceLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mutt-rs ingest API",
        description = "Events in: one JSON object, a JSON array, or NDJSON. Send a key in X-API-KEY: INGEST_API_KEY, or a named key with the ingest scope. Unknown paths answer 401 without a working key and 404 with one, as v2.5 did."
    ),
    paths(crate::http::ingest, crate::http::info)
)]
struct IngestApi;

/// `/ingest` and `/api/v1/ingest` are the same operation as `/api/v2/ingest`.
const ALIASES: [(&str, &str); 2] = [("/ingest", "ingest_v25"), ("/api/v1/ingest", "ingest_v1")];

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = IngestApi::openapi();
    document
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "api_key",
            shared::openapi::api_key_scheme(
                "INGEST_API_KEY, or a key with the ingest scope (`webui create-key`)",
            ),
        );
    let served = document.paths.paths["/api/v2/ingest"].clone();
    for (path, operation_id) in ALIASES {
        let mut alias = served.clone();
        if let Some(post) = &mut alias.post {
            post.operation_id = Some(operation_id.to_owned());
        }
        document.paths.paths.insert(path.to_owned(), alias);
    }
    shared::openapi::finish(document)
}

/// The document as served: pretty JSON, as checked in.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| shared::openapi::to_text(&document()))
}

pub(crate) async fn serve() -> HttpResponse {
    shared::openapi::answer(document_json())
}
