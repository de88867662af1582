//! `TestRedis`: a unique key prefix on the shared test Redis, deleted when dropped.

use crate::config::RedisConfig;
use crate::keys::RedisKeys;
use crate::redis_conn::RedisConnector;
use redis::aio::ConnectionManager;

pub struct TestRedis {
    pub keys: RedisKeys,
    pub config: RedisConfig,
    connector: RedisConnector,
}

impl TestRedis {
    /// Connects and hands out a fresh prefix. Panics, with the fix, when Redis is down.
    pub async fn new() -> Self {
        // reqwest is built without a default TLS provider (the workspace picks ring), so
        // every process that makes an HTTP client must install one first; tests do it here.
        crate::tls::install_crypto_provider();
        let keys = RedisKeys::new(&format!("t{}", uuid::Uuid::new_v4().simple()));
        let mut config = RedisConfig::local(keys.clone());
        config.host = super::env_or("MUTT_TEST_REDIS_HOST", "127.0.0.1");
        config.port = super::env_or("MUTT_TEST_REDIS_PORT", "6379")
            .parse()
            .expect("MUTT_TEST_REDIS_PORT is a port");
        let connector = RedisConnector::connect(&config).await.unwrap_or_else(|e| {
            panic!("{e}\nthe tests need Redis on {}:{}: run `scripts/test` (it starts Redis) or `scripts/infra up`", config.host, config.port)
        });
        Self {
            keys,
            config,
            connector,
        }
    }

    pub fn connector(&self) -> &RedisConnector {
        &self.connector
    }

    /// A shared auto-reconnecting connection.
    pub async fn conn(&self) -> ConnectionManager {
        self.connector
            .shared()
            .await
            .expect("redis answered a moment ago")
    }

    /// A dedicated connection for blocking commands.
    pub async fn blocking_conn(&self, block: std::time::Duration) -> ConnectionManager {
        self.connector
            .blocking(block)
            .await
            .expect("redis answered a moment ago")
    }

    /// Every key under this test's prefix.
    pub async fn keys_present(&self) -> Vec<String> {
        let mut conn = self.conn().await;
        let mut found = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(self.keys.all_pattern())
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .expect("SCAN");
            found.extend(batch);
            if next == 0 {
                return found;
            }
            cursor = next;
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        // Drop cannot await: clean up over a short-lived blocking connection instead.
        let Ok(client) = redis::Client::open(format!(
            "redis://{}:{}/",
            self.config.host, self.config.port
        )) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let pattern = self.keys.all_pattern();
        let keys: Vec<String> = match redis::cmd("KEYS").arg(&pattern).query(&mut conn) {
            Ok(keys) => keys,
            Err(_) => return,
        };
        for chunk in keys.chunks(500) {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(chunk).query(&mut conn);
        }
    }
}
