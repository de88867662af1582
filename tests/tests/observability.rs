//! The Grafana dashboard and the Prometheus rules (deploy/) may only name metrics the
//! services really export: this runs the pipeline, scrapes every service's `/metrics`, and
//! checks each `mutt_*` name the two files use against what was scraped. Where Debian's
//! `prometheus` package can be fetched, `promtool check rules` checks the rules file too.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use support::*;

fn repo_file(path: &str) -> (PathBuf, String) {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    (full, text)
}

/// Metric names (`mutt_…`, not the recording rules' `mutt:…`) used in `text`.
fn names_used(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("mutt_") {
        let start = i + at;
        let boundary = start == 0
            || !(bytes[start - 1].is_ascii_alphanumeric()
                || bytes[start - 1] == b'_'
                || bytes[start - 1] == b':');
        let end = start
            + text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(text.len() - start);
        // `mutt_*` in prose is a pattern, not a name.
        if boundary && !text[start..end].ends_with('_') {
            names.insert(text[start..end].to_owned());
        }
        i = end;
    }
    names
}

/// Families in a Prometheus text scrape, with their types.
fn families(scrape: &str) -> Vec<(String, String)> {
    scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), kind.to_owned()))
        .collect()
}

#[tokio::test]
async fn dashboards_and_alert_rules_use_only_metrics_the_services_export() {
    let sandbox = Sandbox::start().await;
    // Traffic that touches the ingestor, the alerter (handled and unhandled), the
    // forwarder and the data lifecycle run the alerter starts with.
    sandbox
        .ingest(&event("obs-r1", "%LINK-3-UPDOWN: LINK-DOWN on Gi0/1"))
        .await;
    sandbox
        .ingest(&event("obs-r2", "nothing matches this"))
        .await;
    sandbox.delivered_for("obs-r1").await;
    sandbox.audited("obs-r1", 1).await;

    let mut exported = BTreeSet::new();
    for url in &sandbox.metrics {
        let scrape = sandbox
            .client
            .get(url)
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("text");
        for (name, kind) in families(&scrape) {
            if kind == "histogram" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    exported.insert(format!("{name}{suffix}"));
                }
            }
            exported.insert(name);
        }
    }
    assert!(
        exported.contains("mutt_ingest_requests_total"),
        "{exported:?}"
    );

    for file in [
        "deploy/prometheus/mutt-rules.yml",
        "deploy/grafana/mutt-dashboard.json",
    ] {
        let (_, text) = repo_file(file);
        let used = names_used(&text);
        assert!(used.len() >= 10, "{file} names only {used:?}");
        let unknown: Vec<&String> = used.iter().filter(|n| !exported.contains(*n)).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses metrics no service exports: {unknown:?}\nexported: {exported:?}"
        );
    }
    sandbox.stop().await;
}

#[test]
fn the_rules_file_passes_promtool() {
    let (rules, _) = repo_file("deploy/prometheus/mutt-rules.yml");
    let (script, _) = repo_file("scripts/promtool");
    let output = std::process::Command::new(script)
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("running scripts/promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "promtool check rules failed:\n{text}"
    );
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn names_are_found_at_word_boundaries_only() {
    let used = names_used("sum(rate(mutt_a_total[5m])) mutt:b:rate5m x_mutt_c \"mutt_d_bucket\"");
    assert_eq!(
        used,
        ["mutt_a_total", "mutt_d_bucket"].map(String::from).into()
    );
}
