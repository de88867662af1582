//! What schemathesis found in the management API (issue #17), each kept as a regression
//! test, and a promise of the document that a fuzzer does not check: every documented
//! operation is served and asks for a key unless it says otherwise.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Ui, answer};

const AUDITS: &str = "SELECT count(*) FROM config_audit_log";

/// Found: a method a route does not take fell through to the API's 404.
#[tokio::test]
async fn a_method_a_route_does_not_take_is_a_405_naming_the_ones_it_does() {
    let ui = Ui::start().await;
    for (method, path, allow) in [
        (Method::TRACE, "/api/v2/rules", "GET, POST"),
        (Method::GET, "/api/v2/rules/test", "POST"),
        (Method::PATCH, "/api/v2/rules/1", "GET, PUT, DELETE"),
        (Method::PUT, "/api/v2/config/history", "GET"),
        (Method::POST, "/api/v1/dlq", "GET"),
        (Method::POST, "/health", "GET"),
    ] {
        let response = ui.admin(method.clone(), path).send().await.expect("send");
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(
            response.headers()["allow"].to_str().expect("text"),
            allow,
            "{method} {path}"
        );
    }
    // An unknown path is still a 404.
    let response = ui
        .admin(Method::GET, "/api/v2/nothing")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404);
    ui.stop().await;
}

/// Found: a NUL character, which PostgreSQL cannot store in text, was a 500 (a team) or a
/// 503 (a key name).
#[tokio::test]
async fn text_postgresql_cannot_store_is_a_400_that_changes_nothing() {
    let ui = Ui::start().await;
    let (code, _) = answer(
        ui.admin(Method::POST, "/api/v2/teams")
            .json(&json!({"hostname": "contract-sw1", "team_assignment": "NET"}))
            .send()
            .await
            .expect("a team"),
    )
    .await;
    assert_eq!(code, 201);
    let audits = ui.count(AUDITS).await;
    let refused = [
        ui.admin(Method::PUT, "/api/v2/teams/contract-sw1")
            .json(&json!({"team_assignment": "net\u{0}work"})),
        ui.admin(Method::POST, "/api/v2/keys")
            .json(&json!({"name": "relay\u{0}", "scopes": ["ingest"]})),
        ui.admin(Method::POST, "/api/v2/dev-hosts")
            .json(&json!({"hostname": "lab\u{0}1"})),
        ui.admin(Method::GET, "/api/v2/audit-logs?hostname=a%00b"),
    ];
    for request in refused {
        let (code, body) = answer(request.send().await.expect("send")).await;
        assert_eq!(code, 400, "{body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("PostgreSQL cannot store")),
            "{body}"
        );
    }
    assert_eq!(ui.count(AUDITS).await, audits);
    ui.stop().await;
}

/// Found: an offset past i64::MAX dropped the connection (an overflow panicked the
/// handler); the document says `int64`, and larger is a 400.
#[tokio::test]
async fn a_dlq_page_offset_is_a_signed_64_bit_count() {
    let ui = Ui::start().await;
    for (offset, status) in [
        ("9223372036854775808", 400),
        ("18446744073709551615", 400),
        ("-1", 400),
        ("9223372036854775807", 200),
    ] {
        let (code, body) = answer(
            ui.admin(Method::GET, &format!("/api/v2/dlq/moog?offset={offset}"))
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(code, status, "offset {offset}: {body}");
        if code == 200 {
            assert_eq!(body["items"], json!([]));
        }
    }
    ui.stop().await;
}

/// Found: an optional body that was not a JSON object (`[1]`, `null`) was taken for no
/// body, and the delete went ahead.
#[tokio::test]
async fn an_optional_body_that_is_not_an_object_is_refused_and_changes_nothing() {
    let ui = Ui::start().await;
    let (_, created) = answer(
        ui.admin(Method::POST, "/api/v2/rules")
            .json(&json!({"match_string": "contract", "prod_handling": "Page",
                          "dev_handling": "Ignore", "team_assignment": "NET"}))
            .send()
            .await
            .expect("create"),
    )
    .await;
    let path = format!("/api/v2/rules/{}", created["id"]);
    for body in ["[1]", "null", "\"why\"", "{"] {
        let (code, answered) = answer(
            ui.admin(Method::DELETE, &path)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("delete"),
        )
        .await;
        assert_eq!(code, 400, "body {body}: {answered}");
        let (code, _) = answer(ui.admin(Method::GET, &path).send().await.expect("get")).await;
        assert_eq!(code, 200, "the rule is still there after body {body}");
    }
    let (code, _) = answer(
        ui.admin(Method::DELETE, &path)
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(code, 200, "no body at all is no reason");
    ui.stop().await;
}

/// The document says `scopes` is a list of `ingest`, `read`, `admin`: the comma-separated
/// text a UI form sends is the UI's to split, and a name with spaces is no scope.
#[tokio::test]
async fn scopes_are_a_list_of_exact_names() {
    let ui = Ui::start().await;
    for scopes in [
        json!("ingest,read"),
        json!([" read"]),
        json!([]),
        json!(["Admin"]),
    ] {
        let (code, body) = answer(
            ui.admin(Method::POST, "/api/v2/keys")
                .json(&json!({"name": "relay", "scopes": scopes}))
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(code, 400, "{scopes}: {body}");
    }
    ui.stop().await;
}

/// Every operation the document lists is served, and asks for a key unless the document
/// says it needs none (a route missing from the code would answer 404 or 405 here).
#[tokio::test]
async fn every_documented_operation_is_served_and_keyed_as_documented() {
    let ui = Ui::start().await;
    let document: Value =
        serde_json::from_str(webui::openapi::document_json()).expect("the document is JSON");
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("an item") {
            let concrete = path
                .replace("{id}", "1")
                .replace("{name}", "moog")
                .replace("{hostname}", "test-switch1")
                .replace("{key}", "max_ingest_queue_size");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            // A well-formed (empty) body where one is taken: the key is what is missing.
            let mut request = ui.request(method.clone(), &concrete, None);
            if operation.get("requestBody").is_some() {
                request = request.json(&json!({}));
            }
            let response = request.send().await.expect("send");
            let keyed = operation.get("security").is_some();
            let status = response.status().as_u16();
            if keyed {
                assert_eq!(status, 401, "{method} {path} without a key");
            } else {
                assert!(
                    ![401, 404, 405].contains(&status),
                    "{method} {path}: {status}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} operations");
    ui.stop().await;
}
