//! The SLO report against a real Prometheus (Debian's `prometheus` package, run by
//! `scripts/prometheus`) scraping the running services: healthy traffic (a fifth of it
//! unhandled, which v2.5 counted as alerter failures) reports every SLO with data as ok and
//! `webui slo-check` passes; a webhook that fails every request makes the forwarder's
//! availability critical and `slo-check` fail.

mod support;

use shared::testing::{ChildProcess, eventually, free_tcp_port};
use std::time::Duration;
use support::load::*;
use support::*;
use webui::slo::{self, SloReport};

/// A Prometheus of the test's own, scraping `targets` (`host:port`) every second.
fn start_prometheus(targets: &[String]) -> (ChildProcess, String, std::path::PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("mutt-prometheus-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let list = targets
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: mutt\n    static_configs:\n      - targets: [{list}]\n"
        ),
    )
    .expect("config");
    let port = free_tcp_port();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/prometheus");
    let process = std::process::Command::new(script)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("scripts/prometheus");
    (
        ChildProcess(process),
        format!("http://127.0.0.1:{port}"),
        dir,
    )
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .expect("an address")
        .to_owned()
}

fn status_of<'a>(report: &'a SloReport, name: &str) -> &'a str {
    report
        .slos
        .iter()
        .find(|s| s.slo_name == name)
        .map(|s| s.status)
        .expect("every SLO is reported")
}

/// `webui slo-check`, in this process; its error as text.
async fn slo_check(prometheus: &str) -> Result<(), String> {
    let env: std::collections::HashMap<&str, &str> =
        [("PROMETHEUS_URL", prometheus), ("LOG_LEVEL", "warn")].into();
    webui::commands::run(webui::commands::Command::SloCheck, &env)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slos_come_from_a_real_prometheus_and_slo_check_fails_when_one_is_critical() {
    let sandbox = Sandbox::start().await;
    let mut targets: Vec<String> = sandbox.metrics.iter().map(|u| host_port(u)).collect();
    for pod in ALERTERS.iter().chain(FORWARDERS.iter()) {
        targets.push(host_port(sandbox.worker_metrics(pod)));
    }
    let (_prometheus, url, dir) = start_prometheus(&targets);
    let client = reqwest::Client::new();
    eventually(
        Duration::from_secs(60),
        "Prometheus to be ready",
        || async {
            let ready = client.get(format!("{url}/-/ready")).send().await.ok()?;
            ready.status().is_success().then_some(())
        },
    )
    .await;

    // Healthy traffic over several scrapes (a rate needs two samples that differ), a fifth
    // of it unhandled.
    let run = uuid::Uuid::new_v4().simple().to_string();
    send_paced(&sandbox, &run, 0..400, 10, Duration::from_millis(150), true).await;
    let report = eventually(
        Duration::from_secs(60),
        "every SLO to have data",
        || async {
            let report = slo::report(&client, &url).await.ok()?;
            let missing: Vec<&str> = report
                .slos
                .iter()
                .filter(|s| s.actual_value.is_none())
                .map(|s| s.slo_name)
                .collect();
            if !missing.is_empty() {
                println!("no data yet: {missing:?}");
            }
            missing.is_empty().then_some(report)
        },
    )
    .await;
    for slo in &report.slos {
        assert!(
            matches!(slo.status, "ok" | "breaching"),
            "healthy traffic: {slo:?}"
        );
    }
    assert_eq!(
        status_of(&report, "alerter_processing_success"),
        "ok",
        "unhandled is no failure"
    );
    assert_eq!(status_of(&report, "alerter_cache_reload_success"), "ok");
    assert_eq!(report.components.ingestor.state, "ok");
    slo_check(&url)
        .await
        .expect("slo-check passes while nothing is critical");

    // Moog fails every request: the forwarders' retries burn the budget.
    sandbox.answer(500);
    send_paced(
        &sandbox,
        &format!("{run}-b"),
        0..400,
        10,
        Duration::from_millis(100),
        false,
    )
    .await;
    eventually(
        Duration::from_secs(60),
        "the forwarder's SLO to be critical",
        || async {
            let report = slo::report(&client, &url).await.ok()?;
            (status_of(&report, "forwarder_availability") == "critical").then_some(())
        },
    )
    .await;
    let failed = slo_check(&url).await.expect_err("slo-check fails");
    assert!(failed.contains("critical"), "{failed}");
    sandbox.answer(200);
    sandbox.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
