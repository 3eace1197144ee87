//! TLS on the listeners and listeners per port id, against real servers with
//! certificates made at test time (rcgen): HTTPS and WSS, the handshake under the
//! connection deadlines, reload on SIGHUP of a real `parley serve` process, startup
//! errors, and doors moved to a listener of their own.

mod cluster;
mod listeners;
mod process;
mod reload;

pub use process::{failed_start, TlsProcess};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::common::{test_config, WAIT};
use parley_server::config::Config;

/// A certificate for 127.0.0.1 and localhost, and what a client trusts for it.
pub struct TestCert {
    pub cert_pem: String,
    pub key_pem: String,
    /// The trust anchor: the certificate itself when self-signed, else its CA.
    pub der: CertificateDer<'static>,
    /// The CA's certificate (PEM) when the certificate is not self-signed.
    pub ca_pem: Option<String>,
}

impl TestCert {
    pub fn new() -> TestCert {
        let c = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("self-signed certificate");
        TestCert {
            cert_pem: c.cert.pem(),
            key_pem: c.key_pair.serialize_pem(),
            der: c.cert.der().clone(),
            ca_pem: None,
        }
    }

    /// A certificate signed by a private CA made for the test (as a company's own CA
    /// signs its servers' certificates); clients trust the CA.
    pub fn from_private_ca() -> TestCert {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Parley test private CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca.self_signed(&ca_key).expect("CA certificate");
        let key = KeyPair::generate().expect("key");
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("params")
            .signed_by(&key, &ca, &ca_key)
            .expect("certificate signed by the CA");
        TestCert {
            cert_pem: leaf.pem(),
            key_pem: key.serialize_pem(),
            der: ca.der().clone(),
            ca_pem: Some(ca.pem()),
        }
    }

    /// Writes the certificate and key as `<name>.crt` / `<name>.key` in `dir`.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert, &self.cert_pem).expect("write cert");
        std::fs::write(&key, &self.key_pem).expect("write key");
        (cert, key)
    }
}

/// `[tls]` naming the files.
pub fn tls_section(cert: &Path, key: &Path) -> String {
    format!(
        "[tls]\ncert-file = {:?}\nkey-file = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    )
}

/// A TLS client trusting `certs` only.
pub fn connector(certs: &[&TestCert]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for c in certs {
        roots.add(c.der.clone()).expect("trust anchor");
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// A TLS connection to `addr` trusting `certs`, and the certificate the server showed.
pub async fn tls_connect(
    addr: SocketAddr,
    certs: &[&TestCert],
) -> (TlsStream<TcpStream>, CertificateDer<'static>) {
    let tcp = TcpStream::connect(addr).await.expect("tcp connect");
    let name = ServerName::IpAddress(addr.ip().into());
    let tls = connector(certs)
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let shown = tls.get_ref().1.peer_certificates().expect("a certificate")[0].clone();
    (tls, shown)
}

/// An HTTPS client trusting `cert` only.
pub fn https_client(cert: &TestCert) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_der(&cert.der).expect("der"))
        .build()
        .expect("https client")
}

/// GET `https://addr/path` trusting `cert`: status and JSON body (Null when not JSON).
pub async fn https_get(addr: SocketAddr, cert: &TestCert, path: &str) -> (u16, Value) {
    let resp = https_client(cert)
        .get(format!("https://{addr}{path}"))
        .send()
        .await
        .expect("https get");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A basic-protocol WebSocket over TLS, speaking raw JSON frames.
pub struct Wss {
    ws: WebSocketStream<TlsStream<TcpStream>>,
    next_id: u64,
}

impl Wss {
    /// Opens `wss://addr/basic` trusting `certs`.
    pub async fn connect(addr: SocketAddr, certs: &[&TestCert]) -> Wss {
        let (tls, _) = tls_connect(addr, certs).await;
        let (ws, _) = tokio_tungstenite::client_async(format!("wss://{addr}/basic"), tls)
            .await
            .expect("websocket over TLS");
        Wss { ws, next_id: 1 }
    }

    /// Sends `frame` with a fresh request id and returns the reply to it.
    pub async fn call(&mut self, mut frame: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        frame["requestId"] = json!(id);
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send");
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a reply")
                .expect("connection closed")
                .expect("websocket error");
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(&t).expect("JSON frame");
            if v["requestId"] == json!(id) && v["type"] != "event" {
                return v;
            }
        }
    }
}

/// A customer registered over `ws` with a chat of its own; returns the chat's id.
pub async fn customer_with_chat(ws: &mut Wss) -> String {
    let r = ws
        .call(json!({"type": "register", "nickname": "Carla", "partyType": "CLIENT", "clientVersion": 106}))
        .await;
    assert_eq!(r["type"], "registered", "{r}");
    let s = ws
        .call(json!({"type": "createSession", "userData": {}}))
        .await;
    assert_eq!(s["type"], "sessionInfo", "{s}");
    s["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no sessionId: {s}"))
        .to_owned()
}

/// Sends a message in `chat`; asserts it is acknowledged.
pub async fn say(ws: &mut Wss, chat: &str, text: &str) {
    let r = ws
        .call(json!({"type": "message", "sessionId": chat, "text": text}))
        .await;
    assert_eq!(r["type"], "ack", "{r}");
}

/// A server with TLS inside the test process (`run` loads the certificate).
pub struct InProcess {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// Starts the test configuration changed by `tweak`, and waits until `/readyz`
    /// answers over HTTPS trusting `cert`.
    pub async fn start(cert: &TestCert, tweak: impl FnOnce(&mut Config)) -> InProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path());
        tweak(&mut config);
        config.validate().expect("test config is valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(parley_server::run(config, listener, async move {
            let _ = rx.await;
        }));
        let client = https_client(cert);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(r) = client.get(format!("https://{addr}/readyz")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server never became ready"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        InProcess {
            addr,
            stop,
            task,
            _dir: dir,
        }
    }

    /// Graceful shutdown; returns once `run` has returned.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("server task")
            .expect("server ran cleanly");
    }
}
