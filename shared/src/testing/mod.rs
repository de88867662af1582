//! Test helpers, behind the `test-util` feature: real Redis and PostgreSQL on loopback,
//! isolated per test so that tests run in parallel.
//!
//! Where the servers are: `MUTT_TEST_REDIS_HOST`/`MUTT_TEST_REDIS_PORT` (default
//! 127.0.0.1:6379) and `MUTT_TEST_PG_HOST`/`MUTT_TEST_PG_PORT`/`MUTT_TEST_PG_USER` (default
//! 127.0.0.1:5432, `postgres`, trust auth). `scripts/test` starts both when they are down.

mod certs;
mod cluster;
mod counting;
mod database;
mod process;
mod proxy;
mod redis;
mod service;
pub mod v25;

pub use certs::TestCerts;
pub use cluster::{ClusterNode, PrivateCluster};
pub use counting::CountingConnection;
pub use database::TestDatabase;
pub use process::{ChildProcess, free_tcp_port, free_udp_port};
pub use proxy::TcpProxy;
pub use redis::{PrivateRedis, TestRedis};
pub use service::RunningService;

use std::future::Future;
use std::time::Duration;

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`. Tests wait
/// for conditions this way, never with fixed sleeps.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}
