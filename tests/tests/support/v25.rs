//! MUTT v2.5's side of a mixed site, simulated from its documented behaviour: what its
//! ingestor pushes, its alerter's loop and its forwarder's loop, on the same keys and
//! tables. Only what a swap exercises:
//! - the alerter matches `contains` rules (the v2.5 sample rules the swap test sends for),
//!   audits handled events without an event id and pushes v2.5's alert (always "Warning",
//!   with `api_key`); it writes its first heartbeat 10 s after starting, as v2.5 does;
//! - the forwarder runs v2.5's sliding-log limiter script (its own clock, in ms) and posts
//!   v2.5's payload (signature = hostname, external_id = correlation id). When the limiter
//!   refuses, v2.5 dropped the alert (a bug of its own); this one keeps it and asks again,
//!   because the swap test measures the shared limit, not that bug.
//!
//! On stop, each returns its processing list to its queue, as v2.5's shutdown does.

use serde_json::{Value, json};
use shared::redis::RedisConn;
use shared::redis::keys::{RedisKeys, WorkerRole};
use shared::store::Pool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const FIRST_BEAT: Duration = Duration::from_secs(10);

/// An event as v2.5's ingestor queues it (no `_event_id`), tagged for the checks.
pub fn event(run: &str, seq: u64, host: &str, message: &str) -> Value {
    json!({
        "hostname": host, "message": message, "timestamp": chrono::Utc::now().to_rfc3339(),
        "syslog_severity": 3, "_correlation_id": format!("v25-{run}-{seq}"),
        "load_run": run, "seq": seq,
    })
}

/// v2.5's ingestor: one `MULTI` with the push and its three dashboard counters.
pub async fn ingest(conn: &mut RedisConn, keys: &RedisKeys, events: &[Value]) {
    let mut pipe = redis::pipe();
    pipe.atomic();
    for event in events {
        pipe.lpush(&keys.ingest_queue, event.to_string()).ignore();
    }
    for (key, ttl) in keys.ingest_counters(chrono::Utc::now()) {
        pipe.incr(&key, events.len()).ignore();
        pipe.expire(&key, ttl).ignore();
    }
    pipe.query_async::<()>(conn).await.expect("v2.5's push");
}

/// A running simulated v2.5 worker.
pub struct Worker {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Stops it as SIGTERM stops v2.5's: its processing list goes back to its queue. Panics
    /// if it failed (a `WRONGTYPE` from the limiter, say).
    pub async fn stop(self) {
        self.stop.cancel();
        self.task
            .await
            .expect("the v2.5 worker ran without an error");
    }
}

fn beat(mut redis: RedisConn, key: String, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut wait = FIRST_BEAT;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            let _: redis::RedisResult<()> = redis.set_ex(&key, "alive", 30).await;
            wait = Duration::from_secs(10);
        }
    });
}

async fn take(blocking: &mut RedisConn, source: &str, processing: &str) -> Option<String> {
    redis::cmd("BRPOPLPUSH")
        .arg(source)
        .arg(processing)
        .arg(1)
        .query_async(blocking)
        .await
        .expect("v2.5's BRPOPLPUSH")
}

async fn return_all(redis: &mut RedisConn, processing: &str, source: &str) {
    while redis::cmd("RPOPLPUSH")
        .arg(processing)
        .arg(source)
        .query_async::<Option<String>>(redis)
        .await
        .expect("RPOPLPUSH")
        .is_some()
    {}
}

use redis::AsyncCommands;

/// v2.5's alerter under `pod`. `blocking` must allow replies after more than 1 s.
pub async fn alerter(
    mut redis: RedisConn,
    mut blocking: RedisConn,
    keys: RedisKeys,
    pool: Pool,
    pod: &str,
) -> Worker {
    let conn = pool.get().await.expect("connection");
    let rules: Vec<(i32, String, String, String, String)> = conn
        .query(
            "SELECT id, match_string, prod_handling, dev_handling, team_assignment FROM alert_rules \
             WHERE is_active AND match_type = 'contains' ORDER BY priority, id",
            &[],
        )
        .await
        .expect("rules")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let dev: Vec<String> = conn
        .query("SELECT hostname FROM development_hosts", &[])
        .await
        .expect("dev hosts")
        .iter()
        .map(|r| r.get(0))
        .collect();
    drop(conn);
    let stop = CancellationToken::new();
    let processing = keys.processing_list(WorkerRole::Alerter, pod);
    beat(
        redis.clone(),
        keys.heartbeat(WorkerRole::Alerter, pod),
        stop.clone(),
    );
    let task = {
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                let Some(item) = take(&mut blocking, &keys.ingest_queue, &processing).await else {
                    continue;
                };
                let event: Value = serde_json::from_str(&item).expect("an event");
                let (host, message) = (
                    event["hostname"].as_str().unwrap_or_default(),
                    event["message"].as_str().unwrap_or_default(),
                );
                if let Some((id, _, prod, dev_handling, team)) =
                    rules.iter().find(|r| message.contains(r.1.as_str()))
                {
                    let handling = if dev.iter().any(|d| d == host) {
                        dev_handling
                    } else {
                        prod
                    };
                    let forward = ["page_and_ticket", "page_only", "ticket_only"]
                        .contains(&handling.to_lowercase().as_str());
                    pool.get()
                        .await
                        .expect("connection")
                        .execute(
                            "INSERT INTO event_audit_log (event_timestamp, hostname, matched_rule_id, \
                             handling_decision, forwarded_to_moog, raw_message) \
                             VALUES ($1::text::timestamptz, $2, $3, $4, $5, $6)",
                            &[&event["timestamp"].as_str(), &host, id, handling, &forward, &item],
                        )
                        .await
                        .expect("v2.5's audit insert");
                    if forward {
                        let alert = json!({
                            "api_key": "v25-moog-key", "hostname": host, "team_assignment": team,
                            "severity": "Warning", "message_body": message, "raw_json": event,
                            "_correlation_id": event["_correlation_id"],
                        });
                        let _: () = redis
                            .lpush(&keys.alert_queue, alert.to_string())
                            .await
                            .expect("v2.5's alert push");
                    }
                }
                let _: () = redis.lrem(&processing, 1, &item).await.expect("LREM");
            }
            return_all(&mut redis, &processing, &keys.ingest_queue).await;
        })
    };
    Worker { stop, task }
}

/// v2.5's forwarder under `pod`, limited to `limit` per `period` on v2.5's sliding log.
pub fn forwarder(
    mut redis: RedisConn,
    mut blocking: RedisConn,
    keys: RedisKeys,
    url: String,
    pod: &str,
    limit: u64,
    period: Duration,
) -> Worker {
    let stop = CancellationToken::new();
    let processing = keys.processing_list(WorkerRole::Moog, pod);
    beat(
        redis.clone(),
        keys.heartbeat(WorkerRole::Moog, pod),
        stop.clone(),
    );
    let task = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !stop.is_cancelled() {
                let Some(item) = take(&mut blocking, &keys.alert_queue, &processing).await else {
                    continue;
                };
                let alert: Value = serde_json::from_str(&item).expect("an alert");
                loop {
                    let now = chrono::Utc::now().timestamp_millis();
                    let admitted: i64 = redis::cmd("EVAL")
                        .arg(shared::testing::v25::V25_FORWARDER_LIMITER)
                        .arg(1)
                        .arg(&keys.moog_rate_limit)
                        .arg(limit)
                        .arg(period.as_millis() as u64)
                        .arg(now)
                        .query_async(&mut redis)
                        .await
                        .expect("v2.5's limiter never meets a WRONGTYPE");
                    if admitted == 1 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let host = alert["hostname"].as_str().unwrap_or("unknown");
                let body = json!({
                    "signature": host, "source_id": host, "external_id": alert["_correlation_id"],
                    "manager": "MUTT", "source": "MUTT Alerter", "class": alert["team_assignment"],
                    "agent": "MUTT v2.3", "agent_location": "Alerter Service", "type": "Alert",
                    "severity": 3, "description": alert["message_body"],
                    "agent_time": chrono::Utc::now().timestamp(), "custom_info": alert["raw_json"],
                });
                let answered = http
                    .post(&url)
                    .bearer_auth("v25-moog-key")
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                if answered != 200 && answered != 201 {
                    // v2.5 re-queues a retryable failure at the back of the line.
                    let _: () = redis.lpush(&keys.alert_queue, &item).await.expect("LPUSH");
                }
                let _: () = redis.lrem(&processing, 1, &item).await.expect("LREM");
            }
            return_all(&mut redis, &processing, &keys.alert_queue).await;
        })
    };
    Worker { stop, task }
}
