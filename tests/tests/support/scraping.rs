//! A Prometheus of a test's own: Debian's `prometheus` package, run by
//! `scripts/prometheus`, scraping the sandbox's services.

use shared::testing::{ChildProcess, eventually, free_tcp_port};
use std::time::Duration;

/// A Prometheus of the test's own, scraping `targets` (`host:port`) every second, on
/// `port` (a free one when `None`); the process, its URL and its data directory.
pub fn start_prometheus(
    targets: &[String],
    port: Option<u16>,
) -> (ChildProcess, String, std::path::PathBuf) {
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
    let port = port.unwrap_or_else(free_tcp_port);
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

pub fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .expect("an address")
        .to_owned()
}

/// Waits until the Prometheus at `url` is ready and has scraped each of its `targets`.
pub async fn scraping_all(client: &reqwest::Client, url: &str, targets: usize) {
    eventually(
        Duration::from_secs(60),
        "Prometheus to be ready",
        || async {
            let ready = client.get(format!("{url}/-/ready")).send().await.ok()?;
            ready.status().is_success().then_some(())
        },
    )
    .await;
    eventually(
        Duration::from_secs(60),
        "Prometheus to have scraped every service",
        || async {
            let up = client
                .get(format!("{url}/api/v1/query?query=count%28up%3D%3D1%29"))
                .send()
                .await
                .ok()?
                .json::<serde_json::Value>()
                .await
                .ok()?;
            let count = up["data"]["result"][0]["value"][1]
                .as_str()?
                .parse::<usize>()
                .ok()?;
            (count == targets).then_some(())
        },
    )
    .await;
}
