//! Parley as a child process (`parley serve`), for tests that must kill it with SIGKILL or
//! read what it logs.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A running `parley serve` child with its output captured.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    output: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `parley serve --config FILE --listen 127.0.0.1:0` and waits until ready.
    pub async fn start(config_toml: &str, dir: &Path, envs: &[(&str, &str)]) -> ServerProcess {
        let config = dir.join("parley.toml");
        std::fs::write(&config, config_toml).expect("write config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn parley");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let out = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("parley listening on http://") {
                    let _ = tx.send(addr.trim().to_owned());
                }
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
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(super::WAIT))
            .await
            .expect("join")
            .unwrap_or_else(|_| panic!("parley did not start"));
        let addr: SocketAddr = addr.parse().expect("address");
        let server = ServerProcess {
            child,
            addr,
            output,
        };
        // `/readyz` is a health door: on the health listener when it has one.
        let ready_at = if config_toml.contains("[listeners.health]") {
            server.port("health").await
        } else {
            addr
        };
        super::wait_ready(ready_at).await;
        server
    }

    /// The address of the listener of its own for `port` (`[listeners.<port>]`), from the
    /// line the process prints for it.
    pub async fn port(&self, port: &str) -> SocketAddr {
        let prefix = format!("parley listening for {port} on http://");
        let deadline = tokio::time::Instant::now() + super::WAIT;
        loop {
            let found = self
                .output
                .lock()
                .unwrap()
                .iter()
                .find_map(|l| l.strip_prefix(&prefix).map(|a| a.trim().to_owned()));
            if let Some(a) = found {
                return a.parse().expect("address");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {port} listener:\n{}",
                self.output()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Everything the process printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// Waits (bounded) until the process has logged `needle`; true when it did. A child
    /// writes its log asynchronously, so a test must wait for a line rather than read once.
    pub async fn wait_for_log(&self, needle: &str) -> bool {
        let deadline = tokio::time::Instant::now() + super::WAIT;
        loop {
            if self.output().contains(needle) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        self.child.kill().expect("kill");
        let _ = self.child.wait();
    }

    /// Sends a signal (`HUP`, `TERM`, ...) to the process this test started.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -{name}");
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().expect("wait")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Only the process this test started, by its own handle.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
