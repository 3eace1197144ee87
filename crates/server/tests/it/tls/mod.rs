//! TLS on the listeners and listeners per port id, against real servers with
//! certificates made at test time (rcgen): HTTPS and WSS, the handshake under the
//! connection deadlines, reload on SIGHUP of a real `parley serve` process, startup
//! errors, and doors moved to a listener of their own.

mod listeners;
mod reload;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
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

/// A self-signed certificate for 127.0.0.1 and localhost.
pub struct TestCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: CertificateDer<'static>,
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

/// `parley serve` with TLS, as a child process, with its output captured.
pub struct TlsProcess {
    child: Child,
    /// The default listener.
    pub addr: SocketAddr,
    /// The listeners of their own: port id → address.
    pub ports: Vec<(String, SocketAddr)>,
    output: Arc<Mutex<Vec<String>>>,
}

impl TlsProcess {
    /// Starts `parley serve --listen 127.0.0.1:0` with `config_toml` (which has `others`
    /// listeners besides the default one) and waits until `/readyz` answers over HTTPS
    /// trusting `cert`.
    pub async fn start(
        config_toml: &str,
        dir: &Path,
        cert: &TestCert,
        others: usize,
    ) -> TlsProcess {
        let config = dir.join("parley.toml");
        std::fs::write(&config, config_toml).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn parley");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let out = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                out.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        let err = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                err.lock().unwrap().push(line);
            }
        });
        let lines = tokio::task::spawn_blocking(move || {
            // One line per listener, the default one first.
            let mut lines = Vec::new();
            while lines.len() <= others {
                lines.push(rx.recv_timeout(WAIT).ok()?);
            }
            Some(lines)
        })
        .await
        .expect("join")
        .unwrap_or_else(|| panic!("parley did not start"));
        let addr = lines[0]
            .strip_prefix("parley listening on https://")
            .unwrap_or_else(|| panic!("not a TLS listener: {}", lines[0]))
            .parse()
            .expect("address");
        let ports = lines[1..]
            .iter()
            .filter_map(|l| l.strip_prefix("parley listening for "))
            .map(|l| {
                let (port, url) = l.split_once(" on ").expect("port and URL");
                let addr = url.split_once("://").expect("scheme").1;
                (port.to_owned(), addr.parse().expect("address"))
            })
            .collect();
        let p = TlsProcess {
            child,
            addr,
            ports,
            output,
        };
        p.wait_ready(cert).await;
        p
    }

    async fn wait_ready(&self, cert: &TestCert) {
        let client = https_client(cert);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(r) = client
                .get(format!("https://{}/readyz", self.addr))
                .send()
                .await
            {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server never became ready:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address of the listener of `port`.
    pub fn port(&self, port: &str) -> SocketAddr {
        self.ports
            .iter()
            .find(|(p, _)| p == port)
            .unwrap_or_else(|| panic!("no {port} listener: {:?}", self.ports))
            .1
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// Sends SIGHUP to the process this test started, by its PID.
    pub fn hangup(&self) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-HUP", &pid]).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -HUP");
    }

    /// Waits until the output has `n` lines containing `text`.
    pub async fn wait_for_lines(&self, text: &str, n: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let count = self.output().lines().filter(|l| l.contains(text)).count();
            if count >= n {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {n} lines with {text:?}:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then wait for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().expect("wait")
    }
}

impl Drop for TlsProcess {
    fn drop(&mut self) {
        // Only the process this test started, by its own handle.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `parley serve` with `config_toml`, expecting it to stop by itself at startup;
/// returns what it printed on stderr.
pub fn failed_start(config_toml: &str, dir: &Path) -> String {
    let config = dir.join("parley.toml");
    std::fs::write(&config, config_toml).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn parley");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(!status.success(), "parley started");
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
                .expect("read stderr");
            return err;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("parley did not stop at startup");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
