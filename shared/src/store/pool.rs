//! The deadpool-postgres pool, with TLS when `DB_TLS_ENABLED` and password rotation.

use crate::config::DbConfig;
use deadpool_postgres::{Connect, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_postgres::Socket;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a caller waits for a free connection before it fails (and retries later).
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("connecting to postgresql at {addr}: {source}")]
    Connect {
        addr: String,
        source: deadpool_postgres::PoolError,
    },
    #[error("building the postgresql pool: {0}")]
    Build(String),
    #[error("cannot read the PostgreSQL CA certificate {path}: {source}")]
    CaCert {
        path: String,
        source: std::io::Error,
    },
}

/// Builds the pool and checks that a connection can be made. With `DB_PASS_NEXT` set, every
/// new connection that the current password does not open is tried with the next one
/// (`RotatingConnect`).
pub async fn connect(config: &DbConfig) -> Result<Pool, PoolError> {
    let addr = format!("{}:{}/{}", config.host, config.port, config.name);
    let pool = build(config)?;
    drop(
        pool.get()
            .await
            .map_err(|source| PoolError::Connect { addr, source })?,
    );
    Ok(pool)
}

fn build(config: &DbConfig) -> Result<Pool, PoolError> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&config.host)
        .port(config.port)
        .dbname(&config.name)
        .user(&config.user)
        .application_name("mutt-rs")
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(pw) = &config.password {
        pg.password(pw.expose_secret());
    }
    if let Some(schema) = &config.schema {
        pg.options(format!("-c search_path={schema}"));
    }
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let next = config.password_next.clone();
    let manager = if config.tls_enabled {
        pg.ssl_mode(tokio_postgres::config::SslMode::Require);
        Manager::from_connect(
            pg,
            RotatingConnect::new(tls_connector(config)?, next),
            manager_config,
        )
    } else {
        Manager::from_connect(
            pg,
            RotatingConnect::new(tokio_postgres::NoTls, next),
            manager_config,
        )
    };
    Pool::builder(manager)
        .max_size(config.pool_max)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| PoolError::Build(e.to_string()))
}

/// Opens each new connection with `DB_PASS`, and with `DB_PASS_NEXT` when the server
/// refuses that one (a password rotated on the server costs no restart). Once the
/// next password has worked it is tried first.
pub struct RotatingConnect<T> {
    tls: T,
    next: Option<SecretString>,
    next_first: AtomicBool,
}

impl<T> RotatingConnect<T> {
    fn new(tls: T, next: Option<SecretString>) -> Self {
        Self {
            tls,
            next,
            next_first: AtomicBool::new(false),
        }
    }
}

impl<T> Connect for RotatingConnect<T>
where
    T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
    T::Stream: Sync + Send,
    T::TlsConnect: Sync + Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    fn connect(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> Pin<
        Box<
            dyn Future<
                    Output = Result<
                        (tokio_postgres::Client, JoinHandle<()>),
                        tokio_postgres::Error,
                    >,
                > + Send
                + '_,
        >,
    > {
        let current = pg_config.clone();
        Box::pin(async move {
            let Some(next_password) = &self.next else {
                return open(&current, self.tls.clone()).await;
            };
            let mut next = current.clone();
            next.password(next_password.expose_secret());
            let (first, second) = if self.next_first.load(Ordering::Relaxed) {
                (next, current)
            } else {
                (current, next)
            };
            match open(&first, self.tls.clone()).await {
                Err(e) if e.code() == Some(&SqlState::INVALID_PASSWORD) => {
                    let opened = open(&second, self.tls.clone()).await?;
                    let now_next = !self.next_first.load(Ordering::Relaxed);
                    self.next_first.store(now_next, Ordering::Relaxed);
                    tracing::warn!(
                        password = if now_next { "DB_PASS_NEXT" } else { "DB_PASS" },
                        "postgresql refused one password; the other opened the connection"
                    );
                    Ok(opened)
                }
                other => other,
            }
        })
    }
}

async fn open<T>(
    config: &tokio_postgres::Config,
    tls: T,
) -> Result<(tokio_postgres::Client, JoinHandle<()>), tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Sync + Send,
    T::TlsConnect: Sync + Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = config.connect(tls).await?;
    let task = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(error = %error, "postgresql connection ended");
        }
    });
    Ok((client, task))
}

/// Verifies the server against `DB_TLS_CA_CERT_PATH`, or the system's roots without it.
/// (v2.5 used `sslmode=require`, which checks nothing; see docs/compatibility.md.)
fn tls_connector(config: &DbConfig) -> Result<tokio_postgres_rustls::MakeRustlsConnect, PoolError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    crate::tls::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    match &config.ca_cert_path {
        Some(path) => {
            let read_err = |e: std::io::Error| PoolError::CaCert {
                path: path.display().to_string(),
                source: e,
            };
            let pem = std::fs::read(path).map_err(read_err)?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| read_err(std::io::Error::other(e.to_string())))?;
                roots
                    .add(cert)
                    .map_err(|e| read_err(std::io::Error::other(e.to_string())))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is skipped, as browsers do.
                let _ = roots.add(cert);
            }
        }
    }
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
}
