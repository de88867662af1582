//! The sandbox: the services in this process on port 0, as they run in production: one
//! ingestor, two alerters, two forwarders and the web UI, against one Redis prefix, one
//! database schema (migrated, v2.5 sample data) and the local webhook receiver in place
//! of Moog. A test can crash a worker (its task is aborted: no shutdown path runs, its
//! heartbeat and processing list stay behind) and start a replacement under a new name.

#![allow(dead_code)] // each test file uses part of this

pub mod load;
pub mod scraping;
pub mod v25;

use mutt_tools::receiver::{Behaviour, Received, Receiver, ReceiverState};
use serde_json::Value;
use shared::config::{AlerterConfig, Env, ForwarderConfig, IngestorConfig, WebuiConfig};
use shared::testing::{RunningService, TestDatabase, TestRedis, eventually};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const INGEST_KEY: &str = "e2e-ingest-key";
pub const ADMIN_KEY: &str = "e2e-admin-key";
pub const MOOG_KEY: &str = "e2e-moog-key";
/// Unhandled events per host before one meta-alert (v2.5's default is 100).
pub const UNHANDLED_THRESHOLD: usize = 5;
pub const WAIT: Duration = Duration::from_secs(15);

pub struct Sandbox {
    pub db: TestDatabase,
    pub redis: TestRedis,
    pub moog: ReceiverState,
    /// The receiver's webhook URL (what the forwarders post to).
    pub moog_url: String,
    pub http: SocketAddr,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub webui: String,
    /// Every service's `/metrics` URL.
    pub metrics: Vec<String>,
    pub client: reqwest::Client,
    /// Running services by name: `ingestor`, `webui`, and the pod names of the workers.
    services: Vec<(String, RunningService)>,
    alerter_config: AlerterConfig,
    forwarder_config: ForwarderConfig,
    /// Each worker's pod name and `/metrics` URL.
    worker_metrics: Vec<(String, String)>,
    stop_moog: CancellationToken,
}

/// The pod names the sandbox's workers start with.
pub const ALERTERS: [&str; 2] = ["e2e-alerter-1", "e2e-alerter-2"];
pub const FORWARDERS: [&str; 2] = ["e2e-forwarder-1", "e2e-forwarder-2"];

fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> HashMap<&'a str, &'a str> {
    let mut all: HashMap<&str, &str> = [("LISTEN_HOST", "127.0.0.1"), ("LOG_LEVEL", "warn")].into();
    all.extend(vars.iter().copied());
    all
}

/// A database of the test's own, migrated, with MUTT v2.5's sample rules, hosts and teams.
pub async fn seeded_database() -> TestDatabase {
    let db = TestDatabase::new().await;
    shared::store::seed_v25_samples(&db.pool)
        .await
        .expect("seed");
    db
}

/// Settings added to the sandbox services' own: to the ingestor's, to every forwarder's,
/// to the web UI's.
#[derive(Clone, Copy, Default)]
pub struct Settings<'a> {
    pub ingestor: &'a [(&'a str, &'a str)],
    pub forwarder: &'a [(&'a str, &'a str)],
    pub webui: &'a [(&'a str, &'a str)],
}

impl Sandbox {
    pub async fn start() -> Self {
        Self::start_on(TestRedis::new().await).await
    }

    /// The sandbox on a given Redis (e.g. a private one, to count its commands).
    pub async fn start_on(redis: TestRedis) -> Self {
        Self::start_with(redis, seeded_database().await, true, Settings::default()).await
    }

    /// The sandbox on a Redis prefix and a seeded database of its own, with `settings`;
    /// with `workers`, the alerters and forwarders too.
    pub async fn start_configured(workers: bool, settings: Settings<'_>) -> Self {
        Self::start_with(
            TestRedis::new().await,
            seeded_database().await,
            workers,
            settings,
        )
        .await
    }

    /// The sandbox on a given Redis and (migrated) database; with `workers`, the two
    /// alerters and two forwarders start too, else only the ingestor and the web UI.
    /// `settings` adds to the services' own.
    pub async fn start_with(
        redis: TestRedis,
        db: TestDatabase,
        workers: bool,
        settings: Settings<'_>,
    ) -> Self {
        let Settings {
            ingestor: ingestor_env,
            forwarder: forwarder_env,
            webui: webui_env,
        } = settings;
        shared::process::telemetry::init(&shared::config::TelemetryConfig {
            log_level: "warn".into(),
            log_json: false,
        });
        let receiver = Receiver::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("receiver");
        let (moog, moog_url) = (
            receiver.state.clone(),
            format!("http://{}/api/v1/events", receiver.addr),
        );
        let stop_moog = CancellationToken::new();
        tokio::spawn(receiver.run_until(stop_moog.clone()));

        let mut ingestor_vars = vec![
            ("INGEST_API_KEY", INGEST_KEY),
            ("SERVER_PORT_INGESTOR", "0"),
            ("RATE_LIMIT_ENABLED", "false"),
        ];
        ingestor_vars.extend_from_slice(ingestor_env);
        let mut ingestor =
            IngestorConfig::from_env(&Env::new(&env(&ingestor_vars))).expect("ingestor config");
        ingestor.redis = redis.config.clone();
        ingestor.syslog_udp_port = Some(0);
        ingestor.syslog_tcp_port = Some(0);

        let threshold = UNHANDLED_THRESHOLD.to_string();
        let mut alerter = AlerterConfig::from_env(&Env::new(&env(&[
            ("POD_NAME", "e2e-alerter"),
            ("METRICS_PORT_ALERTER", "0"),
            ("HEALTH_PORT_ALERTER", "0"),
            ("BRPOPLPUSH_TIMEOUT", "0.2"),
            // A crashed worker's items come back within a few seconds.
            ("ALERTER_HEARTBEAT_INTERVAL", "0.5"),
            ("ALERTER_JANITOR_TIMEOUT", "2"),
            ("UNHANDLED_THRESHOLD", &threshold),
        ])))
        .expect("alerter config");
        alerter.redis = redis.config.clone();
        alerter.db = db.config.clone();

        let mut forwarder_vars = vec![
            ("POD_NAME", "e2e-forwarder"),
            ("METRICS_PORT_MOOG", "0"),
            ("HEALTH_PORT_MOOG", "0"),
            ("BRPOPLPUSH_TIMEOUT", "0.2"),
            ("MOOG_HEARTBEAT_INTERVAL", "0.5"),
            ("MOOG_JANITOR_TIMEOUT", "2"),
            ("MOOG_WEBHOOK_URL", &moog_url),
            ("MOOG_API_KEY", MOOG_KEY),
            ("MOOG_RATE_LIMIT", "1000"),
            ("MOOG_RETRY_BASE_DELAY", "0.1"),
            ("MOOG_RETRY_MAX_DELAY", "0.5"),
            ("MOOG_MAX_RETRIES", "20"),
            ("CIRCUIT_BREAKER_TIMEOUT", "1"),
        ];
        forwarder_vars.extend_from_slice(forwarder_env);
        let mut forwarder =
            ForwarderConfig::from_env(&Env::new(&env(&forwarder_vars))).expect("forwarder config");
        forwarder.redis = redis.config.clone();

        let mut webui_vars = vec![("SERVER_PORT_WEBUI", "0"), ("WEBUI_API_KEY", ADMIN_KEY)];
        webui_vars.extend_from_slice(webui_env);
        let mut webui = WebuiConfig::from_env(&Env::new(&env(&webui_vars))).expect("webui config");
        webui.redis = redis.config.clone();
        webui.db = db.config.clone();

        let registry = || prometheus::Registry::new();
        let ingestor = ingestor::Ingestor::build(ingestor, &registry())
            .await
            .expect("ingestor");
        let (http, udp, tcp) = (
            ingestor.http_addr(),
            ingestor.syslog_udp_addr().expect("udp"),
            ingestor.syslog_tcp_addr().expect("tcp"),
        );
        let webui = webui::Webui::build(webui, &registry())
            .await
            .expect("webui");
        let webui_url = format!("http://{}", webui.addr());
        let mut sandbox = Self {
            db,
            redis,
            moog,
            moog_url,
            http,
            udp,
            tcp,
            webui: webui_url.clone(),
            metrics: vec![
                format!("http://{http}/metrics"),
                format!("{webui_url}/metrics"),
            ],
            client: reqwest::Client::new(),
            services: vec![
                (
                    "ingestor".into(),
                    RunningService::spawn(|stop| ingestor.run_until(stop)),
                ),
                (
                    "webui".into(),
                    RunningService::spawn(|stop| webui.run_until(stop)),
                ),
            ],
            alerter_config: alerter,
            forwarder_config: forwarder,
            worker_metrics: Vec::new(),
            stop_moog,
        };
        if workers {
            for pod in ALERTERS {
                sandbox.start_alerter(pod).await;
            }
            for pod in FORWARDERS {
                sandbox.start_forwarder(pod).await;
            }
        }
        sandbox
    }

    /// Starts an alerter under the pod name `pod`; returns its `/metrics` URL.
    pub async fn start_alerter(&mut self, pod: &str) -> String {
        let mut config = self.alerter_config.clone();
        config.identity.pod_name = pod.to_owned();
        let alerter = alerter::Alerter::build(config, &prometheus::Registry::new())
            .await
            .expect("alerter");
        let metrics = format!("http://{}/metrics", alerter.admin_addrs()[0]);
        self.metrics.push(metrics.clone());
        self.worker_metrics.push((pod.to_owned(), metrics.clone()));
        self.services.push((
            pod.to_owned(),
            RunningService::spawn(|stop| alerter.run_until(stop)),
        ));
        metrics
    }

    /// Starts a forwarder under the pod name `pod`; returns its `/metrics` URL.
    pub async fn start_forwarder(&mut self, pod: &str) -> String {
        let mut config = self.forwarder_config.clone();
        config.identity.pod_name = pod.to_owned();
        let forwarder = moog_forwarder::Forwarder::build(config, &prometheus::Registry::new())
            .await
            .expect("forwarder");
        let metrics = format!("http://{}/metrics", forwarder.admin_addrs()[0]);
        self.metrics.push(metrics.clone());
        self.worker_metrics.push((pod.to_owned(), metrics.clone()));
        self.services.push((
            pod.to_owned(),
            RunningService::spawn(|stop| forwarder.run_until(stop)),
        ));
        metrics
    }

    fn take_service(&mut self, name: &str) -> RunningService {
        let at = self
            .services
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no running service {name}"));
        self.services.remove(at).1
    }

    /// Stops the service `name` the way a signal would (a clean shutdown).
    pub async fn stop_one(&mut self, name: &str) {
        self.take_service(name).stop().await;
    }

    /// Crashes the service `name`: its task is aborted mid-work, so nothing of its shutdown
    /// runs (its heartbeat expires on its own; its processing list stays for the janitor).
    pub async fn crash(&mut self, name: &str) {
        let service = self.take_service(name);
        service.task.abort();
        let _ = service.task.await;
    }

    /// The `/metrics` URL of the alerter or forwarder `pod`.
    pub fn worker_metrics(&self, pod: &str) -> &str {
        self.worker_metrics
            .iter()
            .find(|(p, _)| p == pod)
            .map(|(_, url)| url.as_str())
            .unwrap_or_else(|| panic!("no worker {pod} was started"))
    }

    /// The value of the counter `name` (summed over its label sets matching `labels`, e.g.
    /// `status="handled"`) on the `/metrics` page at `url`.
    pub async fn counter(&self, url: &str, name: &str, labels: &str) -> f64 {
        let page = self
            .client
            .get(url)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        page.lines()
            .filter(|l| l.starts_with(name) && l.contains(labels))
            .filter(|l| l[name.len()..].starts_with(['{', ' ']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// POSTs one event to the ingestor; returns its `_event_id`... as the ingestor answers.
    pub async fn ingest(&self, event: &Value) -> Value {
        let response = self
            .client
            .post(format!("http://{}/ingest", self.http))
            .header("X-API-KEY", INGEST_KEY)
            .json(event)
            .send()
            .await
            .expect("ingest");
        assert_eq!(response.status(), 200, "ingest accepted");
        response.json().await.expect("json")
    }

    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.webui))
            .header("X-API-KEY", ADMIN_KEY)
    }

    /// What Moog received whose body matches `pick`.
    pub fn delivered(&self, pick: impl Fn(&Value) -> bool) -> Vec<Received> {
        self.moog
            .received()
            .into_iter()
            .filter(|r| pick(&r.body))
            .collect()
    }

    /// Waits until Moog has answered 2xx to a request for a host.
    pub async fn delivered_for(&self, host: &str) -> Received {
        eventually(
            WAIT,
            &format!("an accepted webhook POST for {host}"),
            || async {
                self.delivered(|b| b["source_id"] == host)
                    .into_iter()
                    .find(|r| (200..300).contains(&r.answered))
            },
        )
        .await
    }

    pub fn answer(&self, status: u16) {
        self.moog.set_behaviour(Behaviour {
            status,
            ..Behaviour::default()
        });
    }

    /// The audit rows of `host`: (handling_decision, forwarded_to_moog, matched_rule_id).
    pub async fn audits(&self, host: &str) -> Vec<(String, bool, Option<i32>)> {
        let conn = self.db.pool.get().await.expect("connection");
        conn.query(
            "SELECT handling_decision, forwarded_to_moog, matched_rule_id FROM event_audit_log \
             WHERE hostname = $1 ORDER BY id",
            &[&host],
        )
        .await
        .expect("audit rows")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
    }

    /// Waits until `host` has `n` audit rows and returns them.
    pub async fn audited(&self, host: &str, n: usize) -> Vec<(String, bool, Option<i32>)> {
        eventually(WAIT, &format!("{n} audit rows for {host}"), || async {
            let rows = self.audits(host).await;
            (rows.len() >= n).then_some(rows)
        })
        .await
    }

    pub async fn stop(self) {
        for (_, service) in self.services {
            service.stop().await;
        }
        self.stop_moog.cancel();
    }
}

pub fn event(host: &str, message: &str) -> Value {
    serde_json::json!({
        "hostname": host,
        "message": message,
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "syslog_severity": "Error",
    })
}
