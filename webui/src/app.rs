//! The web UI service's face: `build` connects to PostgreSQL and Redis, checks the schema
//! and binds the HTTP listener (`SERVER_PORT_WEBUI`, 8090); `run_until` serves the JSON API
//! plus `/health`, `/ready` and `/metrics`, and the HTML pages, until shutdown.

use crate::service::AppState;
use anyhow::Context;
use prometheus::Registry;
use shared::config::WebuiConfig;
use shared::redis::connection::RedisConnector;
use shared::store;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

pub struct Webui {
    addr: SocketAddr,
    server: actix_web::dev::Server,
    state: AppState,
    connector: RedisConnector,
}

impl Webui {
    pub async fn build(config: WebuiConfig, registry: &Registry) -> anyhow::Result<Self> {
        let pool = store::connect(&config.db).await?;
        store::check_schema(&pool).await?;
        let connector = RedisConnector::connect(&config.redis).await?;
        let redis = connector.shared().await?;
        if config.webui_api_key.is_none() {
            tracing::info!(
                "WEBUI_API_KEY is not set: only named keys (webui create-key) are accepted"
            );
        }
        let ready = shared::process::admin::redis_and_db_ready(redis.clone(), Some(pool.clone()));
        let state = AppState::new(&config, pool, redis);
        let app_state = state.clone();
        let usage = actix_web::web::Data::new(crate::api::ApiUsage::new(registry));
        let registry = registry.clone();
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(actix_web::web::Data::new(app_state.clone()))
                .app_data(usage.clone())
                .configure(|cfg| {
                    shared::process::admin::configure(
                        cfg,
                        "mutt-webui",
                        registry.clone(),
                        ready.clone(),
                    )
                })
                .configure(crate::api::mount)
                .configure(crate::ui::mount)
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(5);
        let addr = SocketAddr::new(config.listen_host, config.port);
        let server = match &config.tls {
            // HTTPS, with the certificate read again when its files change.
            Some(tls) => server.bind_rustls_0_23(addr, shared::tls::server::server_config(tls)?),
            None => server.bind(addr),
        }
        .with_context(|| format!("binding port {} (SERVER_PORT_WEBUI)", config.port))?;
        let addr = server.addrs()[0];
        Ok(Self {
            addr,
            server: server.run(),
            state,
            connector,
        })
    }

    /// The bound address (port 0 picks a free one).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// With Sentinel, also stops when the sentinels name another Redis master, and then
    /// answers with an error so that the process exits and is restarted against it.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let connector = self.connector.clone();
        shared::redis::connection::run_following_master(&connector, shutdown, |stop| {
            self.serve(stop)
        })
        .await
    }

    /// The service itself, until `shutdown` (which a Sentinel failover cancels too).
    async fn serve(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %self.addr, "web UI listening");
        let mirror = tokio::spawn(shared::redis::api_key_mirror::mirror_periodically(
            self.state.pool.clone(),
            self.state.redis.clone(),
            self.state.keys.clone(),
            shutdown.clone(),
        ));
        let depths = tokio::spawn(crate::service::dashboard::record_depths_until(
            self.state.clone(),
            shutdown.clone(),
        ));
        let served = shared::process::admin::serve_until(self.server, shutdown)
            .await
            .context("web UI listener");
        mirror.await.context("key mirror task")?;
        depths.await.context("queue depth sampler")?;
        served
    }
}
