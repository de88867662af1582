//! HTTPS on the ingest listener (`INGEST_TLS_CERT_FILE` / `INGEST_TLS_KEY_FILE`), with a
//! real client (`curl --cacert`) and certificates made by the test; a renewed certificate is
//! served without a restart.

mod support;

use shared::testing::{TestCerts, TestRedis, eventually};
use std::process::Command;
use std::time::Duration;
use support::*;

/// `curl` over HTTPS trusting only the test CA; its status code, or `None` when the
/// connection or the certificate check failed.
fn curl(certs: &TestCerts, url: &str, body: Option<&str>) -> Option<u16> {
    let mut command = Command::new("curl");
    command
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .arg("--cacert")
        .arg(&certs.ca_file);
    if let Some(body) = body {
        command.args(["-H", "content-type: application/json", "-H"]);
        command
            .arg(format!("x-api-key: {KEY}"))
            .args(["--data", body]);
    }
    let output = command.arg(url).output().expect("curl");
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).parse().ok())
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_listener_serves_https_and_picks_up_a_renewed_certificate() {
    let certs = TestCerts::make();
    let redis = TestRedis::new().await;
    let cert = certs.server.cert_file.display().to_string();
    let key = certs.server.key_file.display().to_string();
    let app = start(config(
        &redis,
        &[
            ("INGEST_TLS_CERT_FILE", &cert),
            ("INGEST_TLS_KEY_FILE", &key),
        ],
    ))
    .await;
    let port = app.http.port();
    let https = |path: &str| format!("https://127.0.0.1:{port}{path}");

    let event =
        r#"{"hostname":"core-r1","message":"LINK-DOWN","timestamp":"2026-12-07T00:00:00Z"}"#;
    assert_eq!(curl(&certs, &https("/health"), None), Some(200));
    assert_eq!(curl(&certs, &https("/ingest"), Some(event)), Some(200));
    assert_eq!(
        curl(&certs, &format!("http://127.0.0.1:{port}/health"), None),
        None,
        "no plain HTTP on a TLS listener"
    );

    // A renewed certificate (new serial) is served without a restart.
    let first = certs.served_serial(port);
    assert!(first.starts_with("serial="), "{first}");
    certs.renew();
    eventually(
        Duration::from_secs(10),
        "the renewed certificate",
        || async { (certs.served_serial(port) != first).then_some(()) },
    )
    .await;
    assert_eq!(curl(&certs, &https("/ingest"), Some(event)), Some(200));
    app.stop().await;
}
