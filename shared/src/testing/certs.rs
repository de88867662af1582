//! Certificates made by the test with `openssl` (a CA and a server certificate for
//! 127.0.0.1 and localhost), for the services' HTTPS listeners; deleted when dropped.

use crate::tls::server::ServerTls;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestCerts {
    pub dir: PathBuf,
    /// The CA that signed the server certificate: what a client trusts (`curl --cacert`).
    pub ca_file: PathBuf,
    pub server: ServerTls,
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (Debian's openssl package)");
    assert!(status.success(), "openssl {args:?}");
}

impl TestCerts {
    pub fn make() -> Self {
        let dir =
            std::env::temp_dir().join(format!("mutt-certs-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a directory");
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=mutt test CA",
            ],
        );
        let certs = Self {
            ca_file: dir.join("ca.pem"),
            server: ServerTls {
                cert_file: dir.join("server.pem"),
                key_file: dir.join("server.key"),
            },
            dir,
        };
        certs.renew();
        certs
    }

    /// A new server certificate (new key, new serial) from the same CA, written over the
    /// files in one rename each, as a certificate manager does.
    pub fn renew(&self) {
        let dir = &self.dir;
        std::fs::write(
            dir.join("san.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .expect("extensions");
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "next.key",
                "-out",
                "next.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "next.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "next.pem",
                "-days",
                "2",
                "-extfile",
                "san.cnf",
            ],
        );
        std::fs::rename(dir.join("next.key"), &self.server.key_file).expect("rename");
        std::fs::rename(dir.join("next.pem"), &self.server.cert_file).expect("rename");
    }

    /// A client certificate and key signed by the CA, for `name`: (cert file, key file).
    pub fn client(&self, name: &str) -> (PathBuf, PathBuf) {
        let (key, csr, cert) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        openssl(
            &self.dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        std::fs::write(self.dir.join("client.cnf"), "extendedKeyUsage=clientAuth\n")
            .expect("extensions");
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "2",
                "-extfile",
                "client.cnf",
            ],
        );
        (self.dir.join(cert), self.dir.join(key))
    }

    /// The serial of the certificate the server at `127.0.0.1:port` presents, as
    /// `openssl s_client` sees it after verifying it against the CA.
    pub fn served_serial(&self, port: u16) -> String {
        let script = format!(
            "openssl s_client -connect 127.0.0.1:{port} -CAfile {} -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial",
            self.ca_file.display()
        );
        let output = Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for TestCerts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
