//! The APIs as a checked contract (issue #17). Each service serves its OpenAPI document
//! (the ingestor at `/openapi.json`, the web UI at `/api/v2/openapi.json`), which must
//! equal the one checked in under `docs/openapi/`; and schemathesis (PyPI, pinned, run by
//! `scripts/schemathesis`) runs every operation of both documents against the running
//! services with a working key, and must find no 5xx, no answer the document does not
//! describe, and no input the document forbids accepted.
//!
//! After a change to either API, `MUTT_UPDATE_OPENAPI=1 cargo test -p mutt-e2e --test
//! api_contract` writes the served documents to `docs/openapi/` (review the diff).
//! `MUTT_SCHEMATHESIS_EXAMPLES` (default 50) and `MUTT_SCHEMATHESIS_SEED` (default 1)
//! explore further, e.g. with another seed before a release.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::scraping::{host_port, scraping_all, start_prometheus};
use support::*;

/// The checks: all of schemathesis's but two. `positive_data_acceptance` wants every
/// input the schema allows accepted, and some rules are not a schema's to say (a regex
/// that compiles, a timestamp that parses, a batch judged item by item). `use_after_free`
/// wants a deleted resource gone, and two deletes are documented to leave it: `DELETE
/// /dlq/{name}` empties the queue, and `DELETE /rules/{id}` deactivates a rule that audit
/// rows name.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_headers_conformance,response_schema_conformance,negative_data_rejection,\
missing_required_header,unsupported_method,allow_header_conformance,\
ensure_resource_availability,ignored_auth";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository")
        .to_owned()
}

async fn sandbox_with_prometheus() -> (Sandbox, shared::testing::ChildProcess, PathBuf) {
    // The web UI's `/slo` asks Prometheus: a real one, scraping the ingestor and the web UI.
    let port = shared::testing::free_tcp_port();
    let prometheus_url = format!("http://127.0.0.1:{port}");
    let sandbox = Sandbox::start_configured(
        false,
        Settings {
            webui: &[("PROMETHEUS_URL", &prometheus_url)],
            ..Settings::default()
        },
    )
    .await;
    let targets: Vec<String> = sandbox.metrics.iter().map(|u| host_port(u)).collect();
    let (prometheus, url, dir) = start_prometheus(&targets, Some(port));
    assert_eq!(url, prometheus_url);
    scraping_all(&sandbox.client, &url, targets.len()).await;
    (sandbox, prometheus, dir)
}

/// Runs schemathesis over the document at `url` with `key`; its whole report on failure.
async fn schemathesis(url: String, key: &'static str) {
    let examples = std::env::var("MUTT_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "50".into());
    let seed = std::env::var("MUTT_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let work = std::env::temp_dir().join(format!(
        "mutt-schemathesis-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&work).expect("a directory");
    let script = repository().join("scripts/schemathesis");
    let output = tokio::task::spawn_blocking({
        let (work, url) = (work.clone(), url.clone());
        move || {
            Command::new(script)
                .current_dir(&work)
                .args(["run", &url, "--header"])
                .arg(format!("X-API-KEY: {key}"))
                .args([
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    &examples,
                    "--seed",
                    &seed,
                ])
                .args(["--generation-database", "none", "--no-color"])
                .output()
                .expect("scripts/schemathesis")
        }
    })
    .await
    .expect("schemathesis ran");
    let _ = std::fs::remove_dir_all(work);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The summary (operations, phases, warnings, test cases) goes to the test's log.
    let summary = report.find(" SUMMARY ").map_or("", |at| &report[at..]);
    println!("schemathesis over {url}:\n{summary}");
    assert!(
        output.status.success(),
        "schemathesis over {url}:\n{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_wrong_in_either_api() {
    let (sandbox, _prometheus, dir) = sandbox_with_prometheus().await;
    schemathesis(format!("http://{}/openapi.json", sandbox.http), INGEST_KEY).await;
    schemathesis(format!("{}/api/v2/openapi.json", sandbox.webui), ADMIN_KEY).await;
    sandbox.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_documents_are_the_checked_in_ones() {
    let sandbox = Sandbox::start_configured(false, Settings::default()).await;
    let update = std::env::var_os("MUTT_UPDATE_OPENAPI").is_some();
    let mut stale = Vec::new();
    for (served, file) in [
        (
            format!("http://{}/openapi.json", sandbox.http),
            "ingestor.json",
        ),
        (
            format!("{}/api/v2/openapi.json", sandbox.webui),
            "webui.json",
        ),
    ] {
        let response = sandbox.client.get(&served).send().await.expect("served");
        assert_eq!(response.status(), 200, "{served}");
        let text = response.text().await.expect("a document");
        let document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(document["openapi"], "3.1.0", "{served}");
        let path = repository().join("docs/openapi").join(file);
        if update {
            std::fs::write(&path, &text).expect("written");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(format!("docs/openapi/{file} differs from {served}"));
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?}: if the API change is meant, run \
         MUTT_UPDATE_OPENAPI=1 cargo test -p mutt-e2e --test api_contract and review the diff"
    );
    sandbox.stop().await;
}
