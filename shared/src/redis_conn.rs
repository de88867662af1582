//! Connections to Redis.
//!
//! Two kinds, for two jobs (SPEC §10 trap): a shared auto-reconnecting connection whose
//! replies are bounded by a short response timeout, for every ordinary command; and, per
//! blocking consumer, a dedicated one whose response timeout is longer than its `BLMOVE`
//! block, so the client does not give up on a reply that Redis is legitimately holding.

use crate::config::RedisConfig;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{
    Client, ConnectionAddr, ErrorKind, IntoConnectionInfo, RedisConnectionInfo, TlsCertificates,
};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

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
}

impl RedisConnector {
    /// Connects once to check the address and credentials. With `REDIS_PASS_NEXT` set, a
    /// refused current password is retried with the next one (rotation without downtime).
    pub async fn connect(config: &RedisConfig) -> Result<Self, ConnectError> {
        let addr = format!("{}:{}", config.host, config.port);
        let first = Self::build_client(config, config.password.as_ref())?;
        match ping(&first).await {
            Ok(()) => Ok(Self {
                client: first,
                addr,
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
                Ok(Self { client: next, addr })
            }
            Err(source) => Err(ConnectError::Redis { addr, source }),
        }
    }

    fn build_client(
        config: &RedisConfig,
        password: Option<&SecretString>,
    ) -> Result<Client, ConnectError> {
        let addr = if config.tls_enabled {
            ConnectionAddr::TcpTls {
                host: config.host.clone(),
                port: config.port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(config.host.clone(), config.port)
        };
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
        let root_cert = match &config.ca_cert_path {
            Some(path) => Some(std::fs::read(path).map_err(|source| ConnectError::CaCert {
                path: path.display().to_string(),
                source,
            })?),
            None => None,
        };
        Client::build_with_tls(
            info,
            TlsCertificates {
                client_tls: None,
                root_cert,
            },
        )
        .map_err(to_err)
    }

    /// The shared connection for ordinary commands: reconnects by itself, and every reply
    /// is bounded by [`DEFAULT_RESPONSE_TIMEOUT`].
    pub async fn shared(&self) -> Result<ConnectionManager, ConnectError> {
        self.manager(DEFAULT_RESPONSE_TIMEOUT).await
    }

    /// A dedicated connection for a consumer that blocks for up to `block` in `BLMOVE`.
    pub async fn blocking(&self, block: Duration) -> Result<ConnectionManager, ConnectError> {
        self.manager(block + BLOCKING_MARGIN).await
    }

    async fn manager(&self, response_timeout: Duration) -> Result<ConnectionManager, ConnectError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(response_timeout))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_secs(2));
        self.client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|source| ConnectError::Redis {
                addr: self.addr.clone(),
                source,
            })
    }

    /// The underlying client, for Pub/Sub.
    pub fn redis_client(&self) -> &Client {
        &self.client
    }
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
