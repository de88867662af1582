//! A web UI on port 0 against a fresh schema and Redis prefix, with the v2.5 sample data,
//! the static admin key and two named keys (read, ingest).

#![allow(dead_code)] // each test file uses part of this

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use shared::config::{Env, WebuiConfig};
use shared::store::api_keys::{self, Scope};
use shared::testing::{RunningService, TestDatabase, TestRedis};
use std::collections::HashMap;

pub const ADMIN_KEY: &str = "static-admin-key-for-tests";

/// The environment an operator would set for this schema and Redis prefix, plus `extra`.
pub fn env(
    db: &TestDatabase,
    redis: &TestRedis,
    extra: &[(&str, &str)],
) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("DB_HOST", db.config.host.clone()),
        ("DB_PORT", db.config.port.to_string()),
        ("DB_NAME", db.config.name.clone()),
        ("DB_USER", db.config.user.clone()),
        ("DB_SCHEMA", db.schema().to_owned()),
        ("DB_TLS_ENABLED", "false".into()),
        ("REDIS_HOST", redis.config.host.clone()),
        ("REDIS_PORT", redis.config.port.to_string()),
        ("REDIS_TLS_ENABLED", "false".into()),
        ("REDIS_KEY_PREFIX", redis.keys.prefix.clone()),
        ("LOG_LEVEL", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    vars
}

pub struct Ui {
    pub db: TestDatabase,
    pub redis: TestRedis,
    pub base: String,
    pub read_key: String,
    pub ingest_key: String,
    pub client: Client,
    service: Option<RunningService>,
}

impl Ui {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// With `extra` operator settings on top of the usual ones.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let (db, redis) = (TestDatabase::new().await, TestRedis::new().await);
        shared::store::seed_v25_samples(&db.pool)
            .await
            .expect("seed");
        let mut settings = vec![
            ("LISTEN_HOST", "127.0.0.1"),
            ("SERVER_PORT_WEBUI", "0"),
            ("WEBUI_API_KEY", ADMIN_KEY),
        ];
        settings.extend_from_slice(extra);
        let vars = env(&db, &redis, &settings);
        let config = WebuiConfig::from_env(&Env::new(&vars)).expect("config");
        let webui = webui::Webui::build(config, &prometheus::Registry::new())
            .await
            .expect("build");
        let base = format!("http://{}", webui.addr());
        let service = RunningService::spawn(|stop| webui.run_until(stop));
        let conn = db.pool.get().await.expect("a connection");
        let (read_key, _) = api_keys::create_key(&conn, "reader", &[Scope::Read], "test")
            .await
            .expect("read key");
        let (ingest_key, _) = api_keys::create_key(&conn, "sender", &[Scope::Ingest], "test")
            .await
            .expect("ingest key");
        drop(conn);
        Self {
            db,
            redis,
            base,
            read_key,
            ingest_key,
            client: Client::new(),
            service: Some(service),
        }
    }

    pub fn request(&self, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match key {
            Some(key) => request.header("X-API-KEY", key),
            None => request,
        }
    }

    /// As the static admin key.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path, Some(ADMIN_KEY))
    }

    /// Subscribed to the notices that tell the alerters to reload (rule, host, team and
    /// silence changes).
    pub async fn change_notices(&self) -> redis::aio::PubSub {
        let mut pubsub = self
            .redis
            .connector()
            .redis_client()
            .get_async_pubsub()
            .await
            .expect("pubsub");
        pubsub
            .subscribe(self.redis.keys.rules_changed_channel())
            .await
            .expect("subscribe");
        pubsub
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let conn = self.db.pool.get().await.expect("connection");
        conn.query_one(sql, &[]).await.expect(sql).get(0)
    }

    pub async fn stop(mut self) {
        if let Some(service) = self.service.take() {
            service.stop().await;
        }
    }
}

/// Status and JSON body.
pub async fn answer(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}
