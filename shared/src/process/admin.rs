//! The admin HTTP listener every service has: `/health` (liveness: the process answers),
//! `/ready` (readiness: its dependencies answer) and `/metrics` (Prometheus). The alerter
//! and forwarder bind it on both of their v2.5 ports, so one port serves a probe and a
//! scrape alike (v2.5's probes pointed at the wrong ports).

use crate::openapi::{Health, Readiness};
use actix_web::{App, HttpResponse, HttpServer, web};
use prometheus::Registry;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Checks a service's dependencies; `Err` carries a short reason for the 503 body.
pub type ReadyCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// The version reported by every service.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Clone)]
struct AdminState {
    service: &'static str,
    registry: Registry,
    ready: ReadyCheck,
}

/// A bound, not yet running, admin listener.
pub struct AdminServer {
    addrs: Vec<SocketAddr>,
    server: actix_web::dev::Server,
}

impl AdminServer {
    /// Binds every address in `addrs` (port 0 picks a free port).
    pub fn bind(
        addrs: &[SocketAddr],
        service: &'static str,
        registry: Registry,
        ready: ReadyCheck,
    ) -> std::io::Result<Self> {
        let state = AdminState {
            service,
            registry,
            ready,
        };
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .configure(routes)
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(5);
        for addr in addrs {
            server = server.bind(addr)?;
        }
        let bound = server.addrs();
        Ok(Self {
            addrs: bound,
            server: server.run(),
        })
    }

    /// The bound addresses, in the order given to `bind`.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Serves until `shutdown` is cancelled.
    pub async fn run_until(self, shutdown: CancellationToken) -> std::io::Result<()> {
        serve_until(self.server, shutdown).await
    }
}

/// Runs an actix-web server until `shutdown` is cancelled, then stops it gracefully
/// (in-flight requests finish).
pub async fn serve_until(
    server: actix_web::dev::Server,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let handle = server.handle();
    let running = tokio::spawn(server);
    shutdown.cancelled().await;
    handle.stop(true).await;
    running.await.map_err(std::io::Error::other)?
}

/// Adds `/health`, `/ready` and `/metrics` to an app of a service's own (the ingestor and
/// web UI serve them on their main port).
pub fn configure(
    cfg: &mut web::ServiceConfig,
    service: &'static str,
    registry: Registry,
    ready: ReadyCheck,
) {
    cfg.app_data(web::Data::new(AdminState {
        service,
        registry,
        ready,
    }))
    .configure(routes);
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health", "GET").get(health))
        .service(resource("/ready", "GET").get(ready))
        .service(resource("/metrics", "GET").get(metrics));
}

/// A resource at `path` that answers any method it has no route for with 405 and
/// `Allow: <allow>` (the methods of its routes), as v2.5's Flask did; actix alone would
/// hand such a request to the app's default service, a 404.
pub fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        HttpResponse::MethodNotAllowed()
            .insert_header(("Allow", allow))
            .json(serde_json::json!({"error": format!("method not allowed; use {allow}")}))
    }))
}

async fn health(state: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "healthy",
        service: state.service,
        version: VERSION,
    })
}

async fn ready(state: web::Data<AdminState>) -> HttpResponse {
    match (state.ready)().await {
        Ok(()) => HttpResponse::Ok().json(Readiness {
            status: "ready",
            service: state.service,
            error: None,
        }),
        Err(reason) => HttpResponse::ServiceUnavailable().json(Readiness {
            status: "not_ready",
            service: state.service,
            error: Some(reason),
        }),
    }
}

async fn metrics(state: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::process::metrics::render(&state.registry))
}

/// A readiness check that PINGs Redis (and, given a pool, runs `SELECT 1`).
pub fn redis_and_db_ready(
    redis: crate::redis::RedisConn,
    pool: Option<deadpool_postgres::Pool>,
) -> ReadyCheck {
    Arc::new(move || {
        let mut redis = redis.clone();
        let pool = pool.clone();
        Box::pin(async move {
            redis::cmd("PING")
                .query_async::<()>(&mut redis)
                .await
                .map_err(|e| format!("redis: {e}"))?;
            if let Some(pool) = pool {
                let conn = pool.get().await.map_err(|e| format!("postgresql: {e}"))?;
                conn.simple_query("SELECT 1")
                    .await
                    .map_err(|e| format!("postgresql: {e}"))?;
            }
            Ok(())
        })
    })
}
