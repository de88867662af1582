//! The deadpool-postgres pool, with TLS when `DB_TLS_ENABLED` and password rotation.

use crate::config::DbConfig;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use tokio_postgres::error::SqlState;

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

/// Builds the pool and checks that a connection can be made. With `DB_PASS_NEXT` set, a
/// refused current password is retried with the next one.
pub async fn connect(config: &DbConfig) -> Result<Pool, PoolError> {
    let addr = format!("{}:{}/{}", config.host, config.port, config.name);
    let pool = build(config, config.password.as_ref())?;
    match pool.get().await {
        Ok(_) => Ok(pool),
        Err(deadpool_postgres::PoolError::Backend(e))
            if e.code() == Some(&SqlState::INVALID_PASSWORD) && config.password_next.is_some() =>
        {
            tracing::warn!(addr = %addr, "postgresql refused the current password, trying DB_PASS_NEXT");
            let pool = build(config, config.password_next.as_ref())?;
            drop(
                pool.get()
                    .await
                    .map_err(|source| PoolError::Connect { addr, source })?,
            );
            Ok(pool)
        }
        Err(source) => Err(PoolError::Connect { addr, source }),
    }
}

fn build(config: &DbConfig, password: Option<&SecretString>) -> Result<Pool, PoolError> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&config.host)
        .port(config.port)
        .dbname(&config.name)
        .user(&config.user)
        .application_name("mutt-rs")
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(pw) = password {
        pg.password(pw.expose_secret());
    }
    if let Some(schema) = &config.schema {
        pg.options(format!("-c search_path={schema}"));
    }
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = if config.tls_enabled {
        pg.ssl_mode(tokio_postgres::config::SslMode::Require);
        Manager::from_config(pg, tls_connector(config)?, manager_config)
    } else {
        Manager::from_config(pg, tokio_postgres::NoTls, manager_config)
    };
    Pool::builder(manager)
        .max_size(config.pool_max)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| PoolError::Build(e.to_string()))
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
