//! Connections to Redis.
//!
//! Two kinds, for two jobs (a known trap of the redis crate): a shared auto-reconnecting connection whose
//! replies are bounded by a short response timeout, for every ordinary command; and, per
//! blocking consumer, a dedicated one whose response timeout is longer than its `BLMOVE`
//! block, so the client does not give up on a reply that Redis is legitimately holding.
//!
//! With Redis Sentinel (`REDIS_SENTINEL_HOSTS`), the master's address comes from the
//! sentinels at start-up. A failover is followed by restarting: [`run_following_master`]
//! stops the service when the sentinels name another master, the service exits non-zero,
//! and its supervisor (Kubernetes, systemd) starts it again against the new master. The
//! reliable queues make that safe: what a worker held is in its processing list and is
//! taken again. Connections that silently kept talking to a demoted master would instead
//! fail every write with `READONLY` until someone noticed.

use super::conn::RedisConn;
use super::settings::{RedisConfig, SentinelConfig};
use redis::aio::ConnectionManagerConfig;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    Client, ConnectionAddr, ErrorKind, IntoConnectionInfo, RedisConnectionInfo, TlsCertificates,
    TlsMode,
};
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long an ordinary command may wait for its reply before it fails (and the caller
/// answers 503 or retries): Redis answers in microseconds, so seconds mean trouble.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Margin between a blocking command's own timeout and the client's reply timeout.
const BLOCKING_MARGIN: Duration = Duration::from_secs(3);

/// Errors while connecting.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read the Redis CA certificate {path}: {source}")]
    CaCert {
        path: String,
        source: std::io::Error,
    },
    #[error("asking the sentinels {sentinels} for master {master:?}: {source}")]
    Sentinel {
        sentinels: String,
        master: String,
        source: redis::RedisError,
    },
    #[error("connecting to redis at {addr}: {source}")]
    Redis {
        addr: String,
        source: redis::RedisError,
    },
}

/// A Redis client that knows which password works, and hands out connections.
#[derive(Clone)]
pub struct RedisConnector {
    client: Client,
    addr: String,
    /// The config, for asking the sentinels again (`None` without Sentinel).
    sentinel: Option<RedisConfig>,
    /// With `REDIS_PASS_NEXT`: what picks the password of each new connection.
    rotation: Option<RotatingPassword>,
    /// With `REDIS_CLUSTER_NODES`: the config, from which each connection's cluster client
    /// is made with its own reply timeout (then `client` reaches the first node, for
    /// Pub/Sub, which a cluster relays to every node).
    cluster: Option<RedisConfig>,
}

impl RedisConnector {
    /// Connects once to check the address and credentials. With `REDIS_PASS_NEXT` set, a
    /// refused current password is retried with the next one (rotation without downtime).
    /// With Sentinel, the address is the master the sentinels name now.
    /// With Redis Cluster, the nodes listed are asked for the cluster's layout.
    pub async fn connect(config: &RedisConfig) -> Result<Self, ConnectError> {
        if !config.cluster_nodes.is_empty() {
            return Self::connect_cluster(config).await;
        }
        let Some(sentinel) = &config.sentinel else {
            return Self::connect_to(config).await;
        };
        let mut sentinels = sentinel_client(config, sentinel)?;
        let (host, port) = master_address(&mut sentinels, sentinel).await?;
        tracing::info!(master = %format!("{host}:{port}"), name = %sentinel.master_name, "redis master named by the sentinels");
        let direct = RedisConfig {
            host,
            port,
            sentinel: None,
            ..config.clone()
        };
        let mut connector = Self::connect_to(&direct).await?;
        connector.sentinel = Some(config.clone());
        Ok(connector)
    }

    /// `host:port` of the server this connector talks to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Resolves when the sentinels name a master other than this connector's, with the new
    /// master's address; never resolves without Sentinel. Sentinels that cannot be asked
    /// are asked again later: the current master is kept meanwhile.
    pub async fn master_moved(&self) -> String {
        let Some(config) = &self.sentinel else {
            return std::future::pending().await;
        };
        let sentinel = config.sentinel.as_ref().expect("a sentinel config");
        let mut tick = tokio::time::interval(SENTINEL_POLL);
        let mut sentinels = None;
        loop {
            tick.tick().await;
            if sentinels.is_none() {
                sentinels = sentinel_client(config, sentinel)
                    .inspect_err(
                        |error| tracing::warn!(error = %error, "cannot build the sentinel client"),
                    )
                    .ok();
            }
            let Some(client) = sentinels.as_mut() else {
                continue;
            };
            match master_address(client, sentinel).await {
                Ok((host, port)) if format!("{host}:{port}") != self.addr => {
                    return format!("{host}:{port}");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "cannot ask the sentinels; keeping the current master")
                }
            }
        }
    }

    async fn connect_to(config: &RedisConfig) -> Result<Self, ConnectError> {
        let mut connector = Self::connect_checked(config).await?;
        if let (Some(current), Some(next)) = (&config.password, &config.password_next) {
            // Every later connection (reconnects too) asks which password works then.
            let rotation = RotatingPassword {
                username: config.username.clone().unwrap_or_else(|| "default".into()),
                current: (current.clone(), Self::build_client(config, Some(current))?),
                next: (next.clone(), Self::build_client(config, Some(next))?),
            };
            connector.rotation = Some(rotation);
        }
        Ok(connector)
    }

    async fn connect_cluster(config: &RedisConfig) -> Result<Self, ConnectError> {
        let addr = cluster_addr(config);
        let to_err = |source| ConnectError::Redis {
            addr: addr.clone(),
            source,
        };
        let mut conn = cluster_client(config, DEFAULT_RESPONSE_TIMEOUT)?
            .get_async_connection()
            .await
            .map_err(to_err)?;
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(to_err)?;
        let (host, port) = config.cluster_nodes[0].clone();
        let first = RedisConfig {
            host,
            port,
            ..config.clone()
        };
        Ok(Self {
            client: Self::build_client(&first, config.password.as_ref())?,
            addr,
            sentinel: None,
            rotation: None,
            cluster: Some(config.clone()),
        })
    }

    async fn connect_checked(config: &RedisConfig) -> Result<Self, ConnectError> {
        let addr = format!("{}:{}", config.host, config.port);
        let first = Self::build_client(config, config.password.as_ref())?;
        match ping(&first).await {
            Ok(()) => Ok(Self {
                client: first,
                addr,
                sentinel: None,
                rotation: None,
                cluster: None,
            }),
            Err(e)
                if e.kind() == ErrorKind::AuthenticationFailed
                    && config.password_next.is_some() =>
            {
                tracing::warn!(addr = %addr, "redis refused the current password, trying REDIS_PASS_NEXT");
                let next = Self::build_client(config, config.password_next.as_ref())?;
                ping(&next).await.map_err(|source| ConnectError::Redis {
                    addr: addr.clone(),
                    source,
                })?;
                Ok(Self {
                    client: next,
                    addr,
                    sentinel: None,
                    rotation: None,
                    cluster: None,
                })
            }
            Err(source) => Err(ConnectError::Redis { addr, source }),
        }
    }

    fn build_client(
        config: &RedisConfig,
        password: Option<&SecretString>,
    ) -> Result<Client, ConnectError> {
        let addr = node_addr(config, &config.host, config.port);
        let mut redis_settings = RedisConnectionInfo::default().set_db(config.db);
        if let Some(user) = &config.username {
            redis_settings = redis_settings.set_username(user);
        }
        if let Some(pw) = password {
            redis_settings = redis_settings.set_password(pw.expose_secret());
        }
        let to_err = |source| ConnectError::Redis {
            addr: format!("{}:{}", config.host, config.port),
            source,
        };
        let info = addr
            .into_connection_info()
            .map_err(to_err)?
            .set_redis_settings(redis_settings);
        if !config.tls_enabled {
            return Client::open(info).map_err(to_err);
        }
        crate::tls::install_crypto_provider();
        Client::build_with_tls(
            info,
            TlsCertificates {
                client_tls: None,
                root_cert: read_ca_cert(config)?,
            },
        )
        .map_err(to_err)
    }

    /// The shared connection for ordinary commands: reconnects by itself, and every reply
    /// is bounded by [`DEFAULT_RESPONSE_TIMEOUT`].
    pub async fn shared(&self) -> Result<RedisConn, ConnectError> {
        self.manager(DEFAULT_RESPONSE_TIMEOUT).await
    }

    /// A dedicated connection for a consumer that blocks for up to `block` in `BLMOVE`.
    pub async fn blocking(&self, block: Duration) -> Result<RedisConn, ConnectError> {
        self.manager(block + BLOCKING_MARGIN).await
    }

    async fn manager(&self, response_timeout: Duration) -> Result<RedisConn, ConnectError> {
        let to_err = |source| ConnectError::Redis {
            addr: self.addr.clone(),
            source,
        };
        if let Some(config) = &self.cluster {
            return cluster_client(config, response_timeout)?
                .get_async_connection()
                .await
                .map(RedisConn::Cluster)
                .map_err(to_err);
        }
        let mut config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(response_timeout))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_secs(2));
        if let Some(rotation) = &self.rotation {
            config = config.set_credentials_provider(rotation.clone());
        }
        self.client
            .get_connection_manager_with_config(config)
            .await
            .map(RedisConn::Single)
            .map_err(to_err)
    }

    /// The underlying client, for Pub/Sub (with the password that worked at start-up:
    /// a rotation reaches Pub/Sub connections only at the next restart).
    pub fn redis_client(&self) -> &Client {
        &self.client
    }
}

/// The cluster's nodes as listed, for messages.
fn cluster_addr(config: &RedisConfig) -> String {
    config
        .cluster_nodes
        .iter()
        .map(|(host, port)| format!("{host}:{port}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A client of the cluster whose every request, retries and redirections included, gives
/// up after `response_timeout` (the cluster client's overall timeout is fixed when it is
/// built, so a blocking consumer needs a client of its own).
fn cluster_client(
    config: &RedisConfig,
    response_timeout: Duration,
) -> Result<ClusterClient, ConnectError> {
    let nodes = config
        .cluster_nodes
        .iter()
        .map(|(host, port)| node_addr(config, host, *port));
    let mut builder = ClusterClientBuilder::new(nodes)
        .connection_timeout(CONNECT_TIMEOUT)
        .response_timeout(response_timeout);
    if let Some(user) = &config.username {
        builder = builder.username(user);
    }
    if let Some(password) = &config.password {
        builder = builder.password(password.expose_secret());
    }
    if config.tls_enabled {
        crate::tls::install_crypto_provider();
        builder = builder.tls(TlsMode::Secure).certs(TlsCertificates {
            client_tls: None,
            root_cert: read_ca_cert(config)?,
        });
    }
    builder.build().map_err(|source| ConnectError::Redis {
        addr: cluster_addr(config),
        source,
    })
}

/// `host:port`, over TLS when Redis is reached over TLS.
fn node_addr(config: &RedisConfig, host: &str, port: u16) -> ConnectionAddr {
    if config.tls_enabled {
        ConnectionAddr::TcpTls {
            host: host.to_owned(),
            port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host.to_owned(), port)
    }
}

/// `REDIS_CA_CERT_PATH`'s contents, if it is set.
fn read_ca_cert(config: &RedisConfig) -> Result<Option<Vec<u8>>, ConnectError> {
    let Some(path) = &config.ca_cert_path else {
        return Ok(None);
    };
    std::fs::read(path)
        .map(Some)
        .map_err(|source| ConnectError::CaCert {
            path: path.display().to_string(),
            source,
        })
}

/// `REDIS_PASS` and `REDIS_PASS_NEXT` for every new connection: each time a
/// connection is made — at start, and whenever one is re-established — a probe finds which
/// of the two the server takes now, so a password rotated on the server while services
/// run costs no restart. Live connections stay authenticated as they are.
#[derive(Clone)]
struct RotatingPassword {
    username: String,
    current: (SecretString, Client),
    next: (SecretString, Client),
}

impl RotatingPassword {
    async fn working(&self) -> redis::RedisResult<redis::BasicAuth> {
        let auth = |pw: &SecretString| {
            redis::BasicAuth::new(self.username.clone(), pw.expose_secret().to_owned())
        };
        match ping(&self.current.1).await {
            Ok(()) => Ok(auth(&self.current.0)),
            Err(e) if e.kind() == ErrorKind::AuthenticationFailed => {
                ping(&self.next.1).await?;
                tracing::info!("redis took REDIS_PASS_NEXT for a new connection");
                Ok(auth(&self.next.0))
            }
            Err(e) => Err(e),
        }
    }
}

impl redis::StreamingCredentialsProvider for RotatingPassword {
    fn subscribe(
        &self,
    ) -> std::pin::Pin<
        Box<dyn futures_util::Stream<Item = redis::RedisResult<redis::BasicAuth>> + Send>,
    > {
        use futures_util::StreamExt;
        let rotation = self.clone();
        // The first item is what a new connection authenticates with; no later item, so
        // established connections are left alone.
        Box::pin(
            futures_util::stream::once(async move { rotation.working().await })
                .chain(futures_util::stream::pending()),
        )
    }
}

/// How often a service asks the sentinels whether the master moved.
const SENTINEL_POLL: Duration = Duration::from_secs(2);

fn sentinel_error(sentinel: &SentinelConfig, source: redis::RedisError) -> ConnectError {
    ConnectError::Sentinel {
        sentinels: sentinel
            .hosts
            .iter()
            .map(|(h, p)| format!("{h}:{p}"))
            .collect::<Vec<_>>()
            .join(","),
        master: sentinel.master_name.clone(),
        source,
    }
}

/// A client of the sentinels that names the master (kept across polls: it keeps its
/// connections to the sentinels).
fn sentinel_client(
    config: &RedisConfig,
    sentinel: &SentinelConfig,
) -> Result<SentinelClient, ConnectError> {
    let nodes = sentinel
        .hosts
        .iter()
        .map(|(host, port)| node_addr(config, host, *port));
    let mut builder =
        SentinelClientBuilder::new(nodes, &sentinel.master_name, SentinelServerType::Master)
            .map_err(|e| sentinel_error(sentinel, e))?
            .set_client_to_redis_db(config.db);
    if config.tls_enabled {
        builder = builder
            .set_client_to_sentinel_tls_mode(TlsMode::Secure)
            .set_client_to_redis_tls_mode(TlsMode::Secure);
    }
    if let Some(password) = &sentinel.password {
        builder = builder.set_client_to_sentinel_password(password.expose_secret());
    }
    if let Some(user) = &config.username {
        builder = builder.set_client_to_redis_username(user);
    }
    if let Some(password) = &config.password {
        builder = builder.set_client_to_redis_password(password.expose_secret());
    }
    builder.build().map_err(|e| sentinel_error(sentinel, e))
}

/// The master's address, as the sentinels name it (and as the master itself confirms).
async fn master_address(
    client: &mut SentinelClient,
    sentinel: &SentinelConfig,
) -> Result<(String, u16), ConnectError> {
    let master = client
        .async_get_client()
        .await
        .map_err(|e| sentinel_error(sentinel, e))?;
    match master.get_connection_info().addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            Ok((host.clone(), *port))
        }
        other => Err(sentinel_error(
            sentinel,
            redis::RedisError::from((
                ErrorKind::InvalidClientConfig,
                "the sentinels named a master that is not a TCP address",
                format!("{other:?}"),
            )),
        )),
    }
}

/// Runs a service until `shutdown`, or until the sentinels name another Redis master: then
/// the service is stopped as on a signal and this answers with an error that says so, so
/// that the process exits non-zero and its supervisor restarts it against the new master.
pub async fn run_following_master<F, Fut>(
    connector: &RedisConnector,
    shutdown: CancellationToken,
    run: F,
) -> anyhow::Result<()>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let stop = shutdown.child_token();
    let watcher = {
        let (connector, stop) = (connector.clone(), stop.clone());
        tokio::spawn(async move {
            let moved = connector.master_moved().await;
            tracing::error!(from = %connector.addr, to = %moved, "the sentinels named another redis master; stopping to restart against it");
            stop.cancel();
            moved
        })
    };
    let result = run(stop).await;
    watcher.abort();
    if let Ok(moved) = watcher.await {
        anyhow::bail!(
            "the redis master moved from {} to {moved} (Sentinel failover): exiting so that the supervisor restarts this service against the new master",
            connector.addr
        );
    }
    result
}

async fn ping(client: &Client) -> redis::RedisResult<()> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(DEFAULT_RESPONSE_TIMEOUT));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    redis::cmd("PING").query_async::<()>(&mut conn).await
}
