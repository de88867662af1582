//! TLS with rustls and the `ring` provider (which builds without a C toolchain beyond
//! `cc`): for Redis and PostgreSQL connections, and ([`server`]) for the services' own HTTPS
//! listeners.

pub mod server;

use std::sync::Once;

/// rustls needs one process-wide crypto provider; the first TLS connection installs it.
/// reqwest is built with `rustls-no-provider`, so any process that builds an HTTP client
/// (the forwarder, `mutt-load`, tests) must call this first or reqwest panics.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
