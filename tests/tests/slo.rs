//! The SLO report against a real Prometheus (Debian's `prometheus` package, run by
//! `scripts/prometheus`) scraping the running services: healthy traffic (a fifth of it
//! unhandled, which v2.5 counted as alerter failures) reports every SLO with data as ok and
//! `webui slo-check` passes; a webhook that fails every request makes the forwarder's
//! availability critical and `slo-check` fail.

mod support;

use shared::testing::eventually;
use std::time::Duration;
use support::load::*;
use support::scraping::{host_port, scraping_all, start_prometheus};
use support::*;
use webui::slo::{self, SloReport};

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
    // Every service's /metrics: the ingestor's, the web UI's and each worker's.
    let targets: Vec<String> = sandbox.metrics.iter().map(|u| host_port(u)).collect();
    let (_prometheus, url, dir) = start_prometheus(&targets, None);
    let client = reqwest::Client::new();
    // A target first scraped after the traffic has only its final counts, and no rate.
    scraping_all(&client, &url, targets.len()).await;

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
    // Asked again, Prometheus may answer from other samples (a scrape of a busy process
    // can time out, and its series drop out of the sums until the next one): slo-check
    // must fail, naming a critical SLO, once the state it reads is critical too.
    eventually(
        Duration::from_secs(30),
        "slo-check to fail on a critical SLO",
        || async {
            slo_check(&url)
                .await
                .err()
                .filter(|failed| failed.contains("critical"))
        },
    )
    .await;
    sandbox.answer(200);
    sandbox.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
