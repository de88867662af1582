//! HTTPS for the services' own listeners (ingest HTTP, web UI): a rustls server config whose
//! certificate is read from `*_TLS_CERT_FILE` / `*_TLS_KEY_FILE` and read again when either
//! file changes, so that a renewed certificate (cert-manager, certbot, a Secret update) is
//! served without a restart. The files are looked at once a second at most, on a new
//! connection; a renewal that cannot be read (half written, wrong key) is logged and the
//! certificate in use is kept.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How often, at most, the files are looked at.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Where a listener's certificate and key are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    #[error("reading {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("{0}")]
    Key(String),
}

/// A rustls server config for HTTPS that serves `tls`'s certificate, renewed as its files
/// change.
pub fn server_config(tls: &ServerTls) -> Result<rustls::ServerConfig, ServerTlsError> {
    let mut config = stream_config(tls, None)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The same for a plain TLS stream (syslog, RFC 5425); with `client_ca`, every client must
/// present a certificate that CA signed.
pub fn stream_config(
    tls: &ServerTls,
    client_ca: Option<&Path>,
) -> Result<rustls::ServerConfig, ServerTlsError> {
    super::install_crypto_provider();
    let resolver = Arc::new(Reloading::new(tls.clone())?);
    let builder = rustls::ServerConfig::builder();
    let Some(ca) = client_ca else {
        return Ok(builder.with_no_client_auth().with_cert_resolver(resolver));
    };
    let read_err = |detail: String| ServerTlsError::Read {
        path: ca.display().to_string(),
        detail,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| read_err(e.to_string()))? {
        roots
            .add(cert.map_err(|e| read_err(e.to_string()))?)
            .map_err(|e| read_err(e.to_string()))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .map_err(|e| read_err(e.to_string()))?;
    Ok(builder
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver))
}

fn load(tls: &ServerTls) -> Result<Arc<CertifiedKey>, ServerTlsError> {
    let read_err = |path: &Path, detail: String| ServerTlsError::Read {
        path: path.display().to_string(),
        detail,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_file)
        .map_err(|e| read_err(&tls.cert_file, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(&tls.cert_file, e.to_string()))?;
    if certs.is_empty() {
        return Err(read_err(&tls.cert_file, "no certificate in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key_file)
        .map_err(|e| read_err(&tls.key_file, e.to_string()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| ServerTlsError::Key(format!("{}: {e}", tls.key_file.display())))?;
    let certified = CertifiedKey::new(certs, signing);
    certified
        .keys_match()
        .map_err(|e| ServerTlsError::Key(format!("the key does not match the certificate: {e}")))?;
    Ok(Arc::new(certified))
}

fn modified(tls: &ServerTls) -> Option<(SystemTime, SystemTime)> {
    let at = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((at(&tls.cert_file)?, at(&tls.key_file)?))
}

#[derive(Debug)]
struct Reloading {
    tls: ServerTls,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    current: Arc<CertifiedKey>,
    modified: Option<(SystemTime, SystemTime)>,
    checked: Instant,
}

impl Reloading {
    fn new(tls: ServerTls) -> Result<Self, ServerTlsError> {
        let current = load(&tls)?;
        let modified = modified(&tls);
        Ok(Self {
            tls,
            state: Mutex::new(State {
                current,
                modified,
                checked: Instant::now(),
            }),
        })
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.checked.elapsed() >= CHECK_EVERY {
            state.checked = Instant::now();
            let now = modified(&self.tls);
            if now.is_some() && now != state.modified {
                match load(&self.tls) {
                    Ok(renewed) => {
                        tracing::info!(cert = %self.tls.cert_file.display(), "serving the renewed TLS certificate");
                        state.current = renewed;
                        state.modified = now;
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "cannot read the renewed TLS certificate; keeping the one in use")
                    }
                }
            }
        }
        Some(state.current.clone())
    }
}
