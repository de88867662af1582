//! Starting alerters against a test Redis prefix and a test schema.

#![allow(dead_code)] // each test file uses a different part

use alerter::Alerter;
use serde_json::{Value, json};
use shared::config::{AlerterConfig, Env};
use shared::queue::push_batch;
use shared::redis::keys::WorkerRole;
use shared::testing::{TestDatabase, TestRedis};
use std::collections::HashMap;
use std::time::Duration;

pub use shared::testing::RunningService as Running;

pub fn config(
    redis: &TestRedis,
    db: &TestDatabase,
    pod: &str,
    extra: &[(&str, &str)],
) -> AlerterConfig {
    let mut vars: HashMap<&str, &str> = [
        ("POD_NAME", pod),
        ("LISTEN_HOST", "127.0.0.1"),
        ("METRICS_PORT_ALERTER", "0"),
        ("HEALTH_PORT_ALERTER", "0"),
        ("BRPOPLPUSH_TIMEOUT", "0.2"),
        ("ALERTER_HEARTBEAT_INTERVAL", "0.2"),
        ("ALERTER_JANITOR_TIMEOUT", "1"),
    ]
    .into();
    vars.extend(extra.iter().copied());
    let mut config = AlerterConfig::from_env(&Env::new(&vars)).expect("valid test config");
    config.redis = redis.config.clone();
    config.db = db.config.clone();
    config
}

pub async fn start(config: AlerterConfig) -> Running {
    shared::process::telemetry::init(&shared::config::TelemetryConfig {
        log_level: "warn".into(),
        log_json: false,
    });
    let alerter = Alerter::build(config, &prometheus::Registry::new())
        .await
        .expect("alerter builds");
    Running::spawn(|stop| alerter.run_until(stop))
}

pub fn event(host: &str, message: &str) -> Value {
    json!({"hostname": host, "message": message, "timestamp": "2026-11-22T10:00:00Z", "syslog_severity": 2,
           "_correlation_id": format!("c-{}", uuid::Uuid::new_v4()), "_event_id": uuid::Uuid::now_v7().to_string()})
}

pub async fn push(redis: &TestRedis, events: &[Value]) {
    let items: Vec<String> = events.iter().map(Value::to_string).collect();
    push_batch(&mut redis.conn().await, &redis.keys.ingest_queue, &items)
        .await
        .expect("push");
}

pub async fn list(redis: &TestRedis, key: &str) -> Vec<Value> {
    let mut conn = redis.conn().await;
    let items: Vec<String> = redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("LRANGE");
    items
        .iter()
        .rev()
        .map(|i| serde_json::from_str(i).unwrap_or_else(|_| json!({"unparsed": i})))
        .collect()
}

/// Waits until the ingest queue and every alerter processing list are empty, read in one
/// atomic snapshot (separate reads could miss items a janitor moves between them).
pub async fn drained(redis: &TestRedis, timeout: Duration) {
    let script = redis::Script::new(
        r"
        local n = redis.call('LLEN', KEYS[1])
        for _, list in ipairs(redis.call('KEYS', ARGV[1])) do n = n + redis.call('LLEN', list) end
        return n
        ",
    );
    let pattern = format!("{}:*", redis.keys.processing_prefix(WorkerRole::Alerter));
    let deadline = tokio::time::Instant::now() + timeout;
    let mut conn = redis.conn().await;
    loop {
        let pending: u64 = script
            .key(&redis.keys.ingest_queue)
            .arg(&pattern)
            .invoke_async(&mut conn)
            .await
            .expect("count");
        if pending == 0 {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let mut report = Vec::new();
            for key in redis.keys_present().await {
                let kind: String = redis::cmd("TYPE")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .expect("TYPE");
                if kind == "list" {
                    let n: u64 = redis::cmd("LLEN")
                        .arg(&key)
                        .query_async(&mut conn)
                        .await
                        .expect("LLEN");
                    report.push(format!("{key}: {n}"));
                }
            }
            panic!(
                "timed out after {timeout:?} waiting for the alerter to drain; {pending} pending; lists: {report:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// (event_id, matched_rule_id, handling_decision, forwarded_to_moog) for every audit row.
pub async fn audit_rows(db: &TestDatabase) -> Vec<(String, Option<i32>, String, bool)> {
    let conn = db.pool.get().await.expect("connection");
    conn.query("SELECT event_id::text, matched_rule_id, handling_decision, forwarded_to_moog FROM event_audit_log ORDER BY id", &[])
        .await
        .expect("audit query")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

pub async fn rule_id(db: &TestDatabase, match_string: &str) -> i32 {
    let conn = db.pool.get().await.expect("connection");
    conn.query_one(
        "SELECT id FROM alert_rules WHERE match_string = $1",
        &[&match_string],
    )
    .await
    .expect("rule")
    .get(0)
}

pub async fn seeded() -> (TestRedis, TestDatabase) {
    let redis = TestRedis::new().await;
    let db = TestDatabase::new().await;
    shared::store::seed_v25_samples(&db.pool)
        .await
        .expect("seed");
    (redis, db)
}
