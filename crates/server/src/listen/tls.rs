//! TLS on a listener: rustls with the ring provider, TLS 1.2 and 1.3 with rustls' default
//! cipher suites, ALPN `http/1.1` only (the WebSocket doors upgrade HTTP/1.1 requests;
//! HTTP/2 would need RFC 8441 for them).
//!
//! The certificate is read from PEM files into a [`Certificate`], which rustls asks for
//! the key on every handshake. [`Certificate::reload`] reads the files again and swaps
//! the key in only when they load: new handshakes get the new certificate, connections
//! already established keep theirs (a WebSocket is never dropped by a reload), and a
//! reload that fails leaves the old one in place. SIGHUP calls it (main.rs, through
//! [`Reloader`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;
use tracing::{error, info};

use crate::config::TlsFiles;

/// Why a certificate could not be loaded. Messages name the file, never its contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read the TLS {what} file {}: {source}", path.display())]
    Read {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate, or a broken one.
    #[error("the TLS certificate file {} holds no valid PEM certificate{detail}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said, if anything (": …").
        detail: String,
    },
    /// The key file holds no PEM private key, or a broken one.
    #[error(
        "the TLS key file {} holds no valid PEM private key (PKCS#8, PKCS#1 or SEC1){detail}",
        path.display()
    )]
    Key {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said, if anything (": …").
        detail: String,
    },
    /// The key is of a kind rustls cannot sign with, or does not match the certificate.
    #[error("the TLS key {} does not go with the certificate {}: {message}", key.display(), cert.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        message: String,
    },
}

/// A certificate and its key from a pair of files, reloadable.
#[derive(Debug)]
pub struct Certificate {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificate {
    /// Loads the files; an error says which file and why.
    pub fn load(files: &TlsFiles) -> Result<Arc<Certificate>, TlsError> {
        let key = read(files)?;
        Ok(Arc::new(Certificate {
            files: files.clone(),
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// Reads the files again; on success new handshakes use what they hold, on failure
    /// the certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = Arc::new(read(&self.files)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = key;
        Ok(())
    }

    /// The files it is read from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// The SHA-256 of the certificate in use (its leaf, DER), in hex: what operators
    /// compare with `openssl x509 -noout -fingerprint -sha256`.
    pub fn fingerprint(&self) -> String {
        let key = self.key();
        key.cert
            .first()
            .map(|c| hex::encode(Sha256::digest(c.as_ref())))
            .unwrap_or_default()
    }

    fn key(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A TLS acceptor presenting this certificate.
    pub fn acceptor(self: &Arc<Certificate>) -> TlsAcceptor {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TlsAcceptor::from(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key())
    }
}

/// The crypto provider of every listener: ring (no system libraries to build).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks a certificate chain and its key.
fn read(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(&files.cert)?;
    let key = private_key(&files.key)?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        message: e.to_string(),
    })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        what: "certificate",
        path: path.to_owned(),
        source,
    })?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate {
            path: path.to_owned(),
            detail: format!(": {e}"),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Certificate {
            path: path.to_owned(),
            detail: String::new(),
        });
    }
    Ok(chain)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        what: "key",
        path: path.to_owned(),
        source,
    })?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Key {
        path: path.to_owned(),
        detail: match e {
            rustls_pki_types::pem::Error::NoItemsFound => String::new(),
            e => format!(": {e}"),
        },
    })
}

/// The TLS client configuration for forwarding to peers (HTTP and the basic protocol's
/// WebSocket alike): the public roots, plus the certificate authorities of `ca_file`
/// (`[cluster] ca-file`) for clusters whose certificates come from a private CA.
pub fn peer_client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for ca in certificates(path)? {
            roots.add(ca).map_err(|e| TlsError::Certificate {
                path: path.to_owned(),
                detail: format!(": {e}"),
            })?;
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Every certificate of the listeners, for SIGHUP.
#[derive(Debug, Clone, Default)]
pub struct Reloader {
    certificates: Vec<Arc<Certificate>>,
}

impl Reloader {
    pub(super) fn new(certificates: Vec<Arc<Certificate>>) -> Reloader {
        Reloader { certificates }
    }

    /// Reloads every certificate from its files, logging each outcome; returns how many
    /// failed (each keeps its old certificate).
    pub fn reload(&self) -> usize {
        if self.certificates.is_empty() {
            info!("SIGHUP received: no TLS certificate to reload (the rest of the configuration is read at start)");
            return 0;
        }
        let mut failed = 0;
        for cert in &self.certificates {
            let file = cert.files().cert.display();
            match cert.reload() {
                Ok(()) => info!(
                    %file,
                    sha256 = %cert.fingerprint(),
                    "SIGHUP: TLS certificate reloaded; new connections use it"
                ),
                Err(e) => {
                    failed += 1;
                    error!(
                        error = %e,
                        sha256 = %cert.fingerprint(),
                        "SIGHUP: TLS certificate not reloaded; keeping the one in use"
                    );
                }
            }
        }
        failed
    }
}
