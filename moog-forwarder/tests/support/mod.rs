//! Starting forwarders against a test Redis prefix and a local receiver.

#![allow(dead_code)] // each test file uses a different part

use moog_forwarder::Forwarder;
use mutt_tools::receiver::{Behaviour, Receiver, ReceiverState};
use serde_json::{Map, Value, json};
use shared::config::{Env, ForwarderConfig};
use shared::event::{Alert, EventId, MoogSeverity};
use shared::redis::keys::WorkerRole;
use shared::testing::TestRedis;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const MOOG_KEY: &str = "moog-test-key";

pub struct Moog {
    pub url: String,
    pub state: ReceiverState,
    stop: CancellationToken,
}

impl Moog {
    pub async fn start() -> Self {
        let receiver = Receiver::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let (url, state) = (
            format!("http://{}/api/v1/events", receiver.addr),
            receiver.state.clone(),
        );
        let stop = CancellationToken::new();
        tokio::spawn(receiver.run_until(stop.clone()));
        Self { url, state, stop }
    }

    pub fn answer(&self, status: u16) {
        self.state.set_behaviour(Behaviour {
            status,
            ..Behaviour::default()
        });
    }

    /// external_ids of the requests answered with a 2xx.
    pub fn delivered(&self) -> Vec<String> {
        self.state
            .received()
            .iter()
            .filter(|r| (200..300).contains(&r.answered))
            .map(|r| {
                r.body["external_id"]
                    .as_str()
                    .expect("external_id")
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for Moog {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub use shared::testing::RunningService as Running;

pub fn config(
    redis: &TestRedis,
    moog: &Moog,
    pod: &str,
    extra: &[(&str, &str)],
) -> ForwarderConfig {
    let mut vars: HashMap<&str, &str> = [
        ("POD_NAME", pod),
        ("LISTEN_HOST", "127.0.0.1"),
        ("METRICS_PORT_MOOG", "0"),
        ("HEALTH_PORT_MOOG", "0"),
        ("BRPOPLPUSH_TIMEOUT", "0.2"),
        ("MOOG_HEARTBEAT_INTERVAL", "0.2"),
        ("MOOG_JANITOR_TIMEOUT", "1"),
        ("MOOG_WEBHOOK_URL", moog.url.as_str()),
        ("MOOG_WEBHOOK_TIMEOUT", "2"),
        ("MOOG_API_KEY", MOOG_KEY),
        ("MOOG_RATE_LIMIT", "100000"),
        ("MOOG_RETRY_BASE_DELAY", "0.05"),
        ("MOOG_RETRY_MAX_DELAY", "0.2"),
    ]
    .into();
    vars.extend(extra.iter().copied());
    let mut config = ForwarderConfig::from_env(&Env::new(&vars)).expect("valid test config");
    config.redis = redis.config.clone();
    config
}

pub async fn start(config: ForwarderConfig) -> Running {
    shared::process::telemetry::init(&shared::config::TelemetryConfig {
        log_level: "warn".into(),
        log_json: false,
    });
    let forwarder = Forwarder::build(config, &prometheus::Registry::new())
        .await
        .expect("forwarder builds");
    Running::spawn(|stop| forwarder.run_until(stop))
}

pub fn alert(n: usize) -> Alert {
    Alert {
        hostname: format!("router{n}"),
        team_assignment: "NetOps".into(),
        severity: MoogSeverity::Major,
        message_body: format!("LINK-DOWN #{n}"),
        raw_json: json!({"hostname": format!("router{n}"), "timestamp": "2026-11-22T10:00:00Z"}),
        correlation_id: format!("c-{n}"),
        event_id: Some(EventId::new()),
        rule_id: Some(3),
        moog_retry_count: 0,
        extra: Map::new(),
    }
}

pub async fn push(redis: &TestRedis, alerts: &[Alert]) {
    let items: Vec<String> = alerts
        .iter()
        .map(|a| serde_json::to_string(a).expect("json"))
        .collect();
    shared::queue::push_batch(&mut redis.conn().await, &redis.keys.alert_queue, &items)
        .await
        .expect("push");
}

pub async fn dlq(redis: &TestRedis) -> Vec<Value> {
    let mut conn = redis.conn().await;
    let items: Vec<String> = redis::cmd("LRANGE")
        .arg(redis.keys.dlq(WorkerRole::Moog))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("LRANGE");
    items
        .iter()
        .map(|i| serde_json::from_str(i).expect("json"))
        .collect()
}

pub fn ids(alerts: &[Alert]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a.event_id.expect("id").to_string())
        .collect()
}

pub const WAIT: Duration = Duration::from_secs(15);
