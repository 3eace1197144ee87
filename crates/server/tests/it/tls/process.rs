//! `parley serve` with TLS as a child process (for SIGHUP and startup errors).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{https_client, TestCert};
use crate::common::WAIT;

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
