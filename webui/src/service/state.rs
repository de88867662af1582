//! What every service call shares: the pool, Redis, key names and settings of this
//! web UI, and the dashboard's cached figures.

use secrecy::SecretString;
use shared::config::WebuiConfig;
use shared::redis::RedisConn;
use shared::redis::keys::RedisKeys;
use shared::store::Pool;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub redis: RedisConn,
    pub keys: RedisKeys,
    /// `WEBUI_API_KEY`: an admin key, when set.
    pub static_key: Option<SecretString>,
    pub max_poison_retries: u32,
    /// The dashboard body, reused for `METRICS_CACHE_TTL`.
    pub dashboard: std::sync::Arc<super::dashboard::DashboardCache>,
    pub dashboard_ttl: std::time::Duration,
    /// `AUDIT_LOG_PAGE_SIZE`: rows per page of the audit and config-audit lists when the
    /// request names no limit.
    pub page_size: i64,
    /// `PROMETHEUS_URL`, and the client the SLO report asks it with.
    pub prometheus: String,
    pub http: reqwest::Client,
}

impl AppState {
    pub fn new(config: &WebuiConfig, pool: Pool, redis: RedisConn) -> Self {
        Self {
            pool,
            redis,
            keys: config.redis.keys.clone(),
            static_key: config.webui_api_key.clone(),
            max_poison_retries: config.remediation.max_poison_retries,
            dashboard: Default::default(),
            dashboard_ttl: config.metrics_cache_ttl,
            page_size: i64::from(config.audit_log_page_size),
            prometheus: config.prometheus_url.clone(),
            http: {
                shared::tls::install_crypto_provider();
                reqwest::Client::new()
            },
        }
    }

    /// Tells every alerter to reload its rules, dev hosts and teams now.
    pub async fn announce_change(&self) {
        let mut redis = self.redis.clone();
        let published: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(self.keys.rules_changed_channel())
            .arg("changed")
            .query_async(&mut redis)
            .await;
        if let Err(error) = published {
            // The change is committed; alerters still pick it up at CACHE_RELOAD_INTERVAL.
            tracing::warn!(error = %error, "cannot announce the change to the alerters");
        }
    }
}
