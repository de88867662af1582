//! The ingestor's face: `build` binds every listener and connects to Redis; `run_until`
//! serves until shutdown, then finishes in-flight requests and writes before returning.

use crate::depth::QueueDepth;
use crate::http::{self, IngestState};
use crate::metrics::IngestMetrics;
use crate::syslog::{self, SyslogContext};
use crate::writer::Writer;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use prometheus::Registry;
use shared::config::IngestorConfig;
use shared::rate_limit::SlidingWindowLimiter;
use shared::redis::api_key_mirror::KeyCache;
use shared::redis::connection::RedisConnector;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

/// How long shutdown waits for queued writes to be acknowledged.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a named key's answer is reused: a new or revoked key takes effect within it.
const NAMED_KEY_CACHE_TTL: Duration = Duration::from_secs(5);

pub struct Ingestor {
    config: IngestorConfig,
    http: actix_web::dev::Server,
    http_addr: SocketAddr,
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    /// Syslog over TLS (RFC 5425), with its acceptor.
    tls_syslog: Option<(TcpListener, tokio_rustls::TlsAcceptor)>,
    writer: Writer,
    writer_task: tokio::task::JoinHandle<()>,
    queue: Arc<QueueDepth>,
    redis: shared::redis::RedisConn,
    connector: RedisConnector,
    syslog: SyslogContext,
    metrics: IngestMetrics,
}

impl Ingestor {
    /// Connects to Redis and binds the HTTP and syslog listeners; starts no work yet.
    pub async fn build(config: IngestorConfig, registry: &Registry) -> anyhow::Result<Self> {
        let api_key = config.ingest_api_key.clone();
        if api_key.is_none() {
            tracing::info!(
                "INGEST_API_KEY is not set: only named keys with scope ingest are accepted"
            );
        }
        let connector = RedisConnector::connect(&config.redis).await?;
        let redis = connector.shared().await?;
        let metrics = IngestMetrics::new(registry);
        let replication = config.replication;
        let (writer, writer_task) = Writer::spawn(
            redis.clone(),
            config.redis.keys.clone(),
            replication,
            metrics.clone(),
        );
        let queue = Arc::new(QueueDepth::new(config.max_ingest_queue_size));
        // One sample before serving, so the cap holds from the first request.
        queue
            .sample(
                &mut redis.clone(),
                &config.redis.keys,
                config.max_ingest_queue_size,
                config.dynamic_config.0,
            )
            .await
            .context("reading the ingest queue depth")?;

        let limiter = config.rate_limit_enabled.then(|| {
            let limiter = SlidingWindowLimiter::new(
                &config.redis.keys.ingest_rate_limit,
                config.ingest_max_rate,
                config.ingest_rate_window,
            );
            (limiter, redis.clone())
        });
        let state = web::Data::new(IngestState {
            writer: writer.clone(),
            queue: queue.clone(),
            limiter,
            api_key,
            named_keys: KeyCache::new(NAMED_KEY_CACHE_TTL),
            redis: redis.clone(),
            keys: config.redis.keys.clone(),
            required_fields: config.required_fields.clone(),
            limits: config.limits,
            metrics: metrics.clone(),
        });
        let ready = shared::process::admin::redis_and_db_ready(redis.clone(), None);
        let admin_registry = registry.clone();
        let addr = SocketAddr::new(config.listen_host, config.http_port);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(|cfg| {
                    shared::process::admin::configure(
                        cfg,
                        "mutt-ingestor",
                        admin_registry.clone(),
                        ready.clone(),
                    )
                })
                .service(
                    shared::process::admin::resource("/openapi.json", "GET")
                        .get(crate::openapi::serve),
                )
                .configure(http::configure)
        })
        .disable_signals()
        .backlog(4096)
        .shutdown_timeout(25);
        let server = match &config.tls {
            // HTTPS, with the certificate read again when its files change.
            Some(tls) => server.bind_rustls_0_23(addr, shared::tls::server::server_config(tls)?),
            None => server.bind(addr),
        }
        .with_context(|| format!("binding the ingest HTTP listener on {addr}"))?;
        let http_addr = server.addrs()[0];

        let udp = match config.syslog_udp_port {
            Some(port) => {
                let addr = SocketAddr::new(config.listen_host, port);
                Some(
                    syslog::bind_udp(addr)
                        .with_context(|| format!("binding syslog UDP on {addr}"))?,
                )
            }
            None => None,
        };
        let tcp = match config.syslog_tcp_port {
            Some(port) => {
                let addr = SocketAddr::new(config.listen_host, port);
                Some(
                    TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding syslog TCP on {addr}"))?,
                )
            }
            None => None,
        };
        let tls_syslog = match &config.syslog_tls {
            Some(tls) => {
                let addr = SocketAddr::new(config.listen_host, tls.port);
                let server =
                    shared::tls::server::stream_config(&tls.server, tls.client_ca.as_deref())?;
                Some((
                    TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding syslog TLS on {addr}"))?,
                    tokio_rustls::TlsAcceptor::from(Arc::new(server)),
                ))
            }
            None => None,
        };
        let syslog = SyslogContext {
            writer: writer.clone(),
            queue: queue.clone(),
            limits: config.limits,
            metrics: metrics.clone(),
            max_line_bytes: config.syslog_max_line_bytes,
        };
        Ok(Self {
            config,
            http: server.run(),
            http_addr,
            udp,
            tcp,
            tls_syslog,
            writer,
            writer_task,
            queue,
            redis,
            connector,
            syslog,
            metrics,
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn syslog_udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }

    pub fn syslog_tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// Where syslog over TLS is served, when it is.
    pub fn syslog_tls_addr(&self) -> Option<SocketAddr> {
        self.tls_syslog
            .as_ref()
            .and_then(|(s, _)| s.local_addr().ok())
    }

    /// Serves until `shutdown` is cancelled, then stops taking input, answers what is in
    /// flight and waits (bounded) for the last writes to be acknowledged.
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
        let Self {
            config,
            http,
            http_addr,
            udp,
            tcp,
            tls_syslog,
            writer,
            writer_task,
            queue,
            redis,
            connector: _,
            syslog,
            metrics,
        } = self;
        tracing::info!(http = %http_addr, syslog_udp = ?config.syslog_udp_port, syslog_tcp = ?config.syslog_tcp_port, "ingestor serving");
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(shared::redis::flush::every_second(
            metrics.activity.clone(),
            redis.clone(),
            config.redis.keys.clone(),
            shutdown.clone(),
        ));
        {
            let (queue, keys, gauge, stop) = (
                queue.clone(),
                config.redis.keys.clone(),
                metrics.queue_depth.clone(),
                shutdown.clone(),
            );
            let (cap, dynamic) = (config.max_ingest_queue_size, config.dynamic_config.0);
            tasks.spawn(async move { queue.run(redis, keys, cap, dynamic, gauge, stop).await });
        }
        if let Some(socket) = udp {
            tasks.spawn(syslog::run_udp(socket, syslog.clone(), shutdown.clone()));
        }
        if let Some(listener) = tcp {
            tasks.spawn(syslog::run_tcp(
                listener,
                None,
                syslog.clone(),
                shutdown.clone(),
            ));
        }
        if let Some((listener, acceptor)) = tls_syslog {
            tasks.spawn(syslog::run_tcp(
                listener,
                Some(acceptor),
                syslog.clone(),
                shutdown.clone(),
            ));
        }
        drop(syslog);
        let served = shared::process::admin::serve_until(http, shutdown).await;
        while tasks.join_next().await.is_some() {}
        drop(writer);
        if tokio::time::timeout(DRAIN_TIMEOUT, writer_task)
            .await
            .is_err()
        {
            tracing::warn!("queue writes still pending after {DRAIN_TIMEOUT:?}; stopping anyway");
        }
        served.context("serving HTTP")
    }
}
