//! Starting an ingestor against a test Redis prefix, on free ports.

#![allow(dead_code)] // each test file uses a different part

use ingestor::Ingestor;
use shared::config::{Env, IngestorConfig};
use shared::testing::{RunningService, TestRedis};
use std::collections::HashMap;
use std::net::SocketAddr;

pub const KEY: &str = "test-ingest-key";

pub struct Running {
    pub http: SocketAddr,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    /// Syslog over TLS, when configured.
    pub tls: Option<SocketAddr>,
    pub registry: prometheus::Registry,
    service: RunningService,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub async fn stop(self) {
        self.service.stop().await;
    }
}

/// The config a test starts from: loopback, free ports, syslog on free ports too.
pub fn config(redis: &TestRedis, extra: &[(&str, &str)]) -> IngestorConfig {
    let mut vars: HashMap<&str, &str> = [
        ("INGEST_API_KEY", KEY),
        ("LISTEN_HOST", "127.0.0.1"),
        ("SERVER_PORT_INGESTOR", "0"),
        ("RATE_LIMIT_ENABLED", "false"),
    ]
    .into();
    vars.extend(extra.iter().copied());
    let mut config = IngestorConfig::from_env(&Env::new(&vars)).expect("valid test config");
    config.redis = redis.config.clone();
    config.syslog_udp_port = Some(0);
    config.syslog_tcp_port = Some(0);
    config
}

pub async fn start(config: IngestorConfig) -> Running {
    let registry = prometheus::Registry::new();
    let ingestor = Ingestor::build(config, &registry)
        .await
        .expect("ingestor builds");
    let (http, udp, tcp, tls) = (
        ingestor.http_addr(),
        ingestor.syslog_udp_addr(),
        ingestor.syslog_tcp_addr(),
        ingestor.syslog_tls_addr(),
    );
    let service = RunningService::spawn(|stop| ingestor.run_until(stop));
    Running {
        http,
        udp,
        tcp,
        tls,
        registry,
        service,
    }
}

/// Every item on the ingest queue, oldest first, as JSON.
pub async fn queued(redis: &TestRedis) -> Vec<serde_json::Value> {
    let mut conn = redis.conn().await;
    let items: Vec<String> = redis::cmd("LRANGE")
        .arg(&redis.keys.ingest_queue)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("LRANGE");
    items
        .iter()
        .rev()
        .map(|i| serde_json::from_str(i).expect("queued items are JSON"))
        .collect()
}
