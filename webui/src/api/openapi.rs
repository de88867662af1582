//! The management API's OpenAPI 3.1 document, served at `/api/v2/openapi.json` and
//! checked in as `docs/openapi/webui.json` (a test fails when they differ).
//!
//! It is generated, not written: each handler's `#[utoipa::path]` names its route and
//! answers, the request and response types derive their schemas, and request bodies are
//! read through `Fields::of` (`crate::service::fields`), which takes exactly the fields
//! their schema lists. What every operation shares is added here once (`Contract`): the
//! key, and the answers of the key check, the input checks and a dependency that is down.

use super::{audit, config, dashboard, dlq, hosts, keys, rule_file, rules, silences, system};
use crate::error::ErrorBody;
use actix_web::HttpResponse;
use std::sync::OnceLock;
use utoipa::openapi::RefOr;
use utoipa::openapi::path::Operation;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{Schema, Type};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    paths(
        system::version,
        system::partitions,
        system::slo,
        rules::list,
        rules::create,
        rules::test,
        rules::get,
        rules::update,
        rules::delete,
        rule_file::export,
        rule_file::import,
        rule_file::backtest,
        hosts::list_dev_hosts,
        hosts::add_dev_host,
        hosts::delete_dev_host,
        hosts::list_teams,
        hosts::add_team,
        hosts::update_team,
        hosts::delete_team,
        keys::list,
        keys::create,
        keys::revoke,
        keys::rotate,
        silences::list,
        silences::create,
        silences::get,
        silences::extend,
        silences::expire,
        silences::delete,
        dlq::depths,
        dlq::list,
        dlq::replay,
        dlq::purge,
        audit::events,
        audit::changes_as_logs,
        audit::changes,
        config::list,
        config::history,
        config::set,
        dashboard::metrics,
    ),
    components(schemas(ErrorBody))
)]
struct Routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mutt-rs management API",
        description = "Rules, hosts, teams, keys, dead-letter queues, audits, settings and figures of mutt-rs. Every route is also served under /api/v1 (deprecated) with the same bodies. Send a key in X-API-KEY: reading needs the read scope, changing the admin scope."
    ),
    nest((path = "/api/v2", api = Routes)),
    modifiers(&Contract),
)]
struct ManagementApi;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    shared::openapi::finish(ManagementApi::openapi())
}

/// The document as served: pretty JSON, as checked in.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| shared::openapi::to_text(&document()))
}

pub(super) async fn serve() -> HttpResponse {
    shared::openapi::answer(document_json())
}

/// What every operation of this API shares.
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "api_key",
                shared::openapi::api_key_scheme(
                    "A key made with `webui create-key` or `POST /api/v2/keys`, or WEBUI_API_KEY",
                ),
            );
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.delete, &mut item.post].into_iter().flatten() {
                if let Some(body) = &mut operation.request_body {
                    body_may_be_left_out(body);
                }
            }
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                shared_answers(operation);
            }
        }
    }
}

/// An optional body (`Option<T>` in `#[utoipa::path]`) is `T` or nothing, not `T` or
/// `null`: the handlers read an absent body as `{}` and refuse a `null` one.
fn body_may_be_left_out(body: &mut RequestBody) {
    if body.required.is_some() {
        return;
    }
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema
            && let [null, object] = one_of.items.as_slice()
            && matches!(null, RefOr::T(Schema::Object(o)) if o.schema_type == Type::Null.into())
        {
            content.schema = Some(object.clone());
        }
    }
}

fn shared_answers(operation: &mut Operation) {
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    let takes_input = operation.request_body.is_some()
        || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let keyed = operation.security.is_some();
    let mut answers = Vec::new();
    if takes_input {
        answers.push(("400", "The input is wrong; the error says how"));
    }
    if keyed {
        answers.push(("401", "No key, or not a working one"));
        answers.push(("403", "The key lacks the scope this operation needs"));
        answers.push((
            "503",
            "PostgreSQL or Redis is down; the detail is in the service's log",
        ));
    }
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error(description).into());
    }
}
