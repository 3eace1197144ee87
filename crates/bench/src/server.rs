//! Starting `parley serve` ourselves (`--server-bin`): a fresh data directory, a config
//! with the run's `transcript-auto-save` and an API key for agents, `--listen
//! 127.0.0.1:0`, and the address read from the line the server prints when it has bound
//! ("parley listening on http://ADDR"); then `/readyz` decides when it is ready. At the end
//! it gets SIGTERM (a graceful shutdown), and SIGKILL only if it does not exit in time.
//! Only this child is ever signalled, by its PID.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

/// A server we started.
pub struct ServerProc {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its PID.
    pub pid: u32,
    dir: PathBuf,
    keep: bool,
}

/// What to start.
pub struct ServerSpec<'a> {
    /// The `parley` binary.
    pub bin: &'a Path,
    /// `transcript-auto-save`.
    pub auto_save: u8,
    /// The API key agents register with.
    pub api_key: &'a str,
    /// Extra `[settings]` lines (`key=value`, value a TOML literal).
    pub settings: &'a [String],
    /// `RUST_LOG` for the server.
    pub log: Option<&'a str>,
    /// Keep the data directory afterwards.
    pub keep: bool,
    /// Keep the per-customer rate limits at the server's defaults (`--flooders`).
    pub customer_limits: bool,
    /// Further sections of the config file (`--server-config`), appended as they are.
    pub extra: Option<&'a str>,
}

/// `[rate-limits]` of a bench server: the bench drives every chat from one loopback
/// address, far faster than one customer may go on the internet.
pub const NO_RATE_LIMITS: &str = "\n[rate-limits]\nsessions-per-address = 0\nlogins-per-address = 0\nrequests-per-address = 0\nmessages-per-customer = 0\nnotices-per-customer = 0\nfiles-per-customer = 0\n";

/// The per-address limits off, the per-customer ones at their defaults: a run with
/// `--flooders` and its baseline (each customer of the plan stays far below them).
const ADDRESS_LIMITS_OFF: &str =
    "\n[rate-limits]\nsessions-per-address = 0\nlogins-per-address = 0\nrequests-per-address = 0\n";

/// The config file: settings, then the key (quoted as a TOML basic string).
fn config_toml(spec: &ServerSpec<'_>) -> anyhow::Result<String> {
    let mut s = format!("[settings]\ntranscript-auto-save = {}\n", spec.auto_save);
    for kv in spec.settings {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--server-setting {kv:?} is not KEY=VALUE");
        };
        s.push_str(&format!("{} = {}\n", k.trim(), v.trim()));
    }
    s.push_str(&format!(
        "\n[security]\napi-keys = [{}]\n",
        serde_json::to_string(spec.api_key)?
    ));
    s.push_str(if spec.customer_limits {
        ADDRESS_LIMITS_OFF
    } else {
        NO_RATE_LIMITS
    });
    if let Some(extra) = spec.extra {
        s.push('\n');
        s.push_str(extra);
    }
    Ok(s)
}

impl ServerProc {
    /// Starts the server and waits until `/readyz` answers 200.
    pub async fn start(spec: ServerSpec<'_>) -> anyhow::Result<ServerProc> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("parley-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("while creating {}", dir.display()))?;
        let config = dir.join("parley.toml");
        std::fs::write(&config, config_toml(&spec)?)?;
        let log = std::fs::File::create(dir.join("server.log"))?;
        let mut cmd = Command::new(spec.bin);
        cmd.arg("serve")
            .arg("--config")
            .arg(&config)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        if let Some(l) = spec.log {
            cmd.env("RUST_LOG", l);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("while starting {}", spec.bin.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the address line, then keeps draining stdout so the server never blocks.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(a) = line.strip_prefix("parley listening on http://") {
                    let _ = tx.send(a.trim().to_owned());
                }
            }
        });
        let mut server = ServerProc {
            child,
            addr: "127.0.0.1:0".parse()?,
            pid,
            dir,
            keep: spec.keep,
        };
        let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
            .await?
            .map_err(|_| anyhow!("the server did not print its address within 30 s"));
        let addr = match addr {
            Ok(a) => a,
            Err(e) => {
                let log = server.log_tail();
                server.kill();
                bail!("{e}\n{log}");
            }
        };
        server.addr = crate::target::resolve_loopback(&addr)?;
        if let Err(e) = wait_ready(server.addr, Duration::from_secs(30)).await {
            server.kill();
            return Err(e);
        }
        Ok(server)
    }

    /// The data directory (config, log, database).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Removes the data directory unless
    /// asked to keep it.
    pub async fn stop(mut self, grace: Duration) -> anyhow::Result<String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = std::time::Instant::now() + grace;
        let status = loop {
            if let Some(s) = self.child.try_wait()? {
                break format!("exited: {s}");
            }
            if std::time::Instant::now() > deadline {
                self.kill();
                break "killed after the shutdown grace period".to_owned();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        Ok(status)
    }
}

/// Polls `GET /readyz` until it answers 200 (never a sleep-and-hope).
pub async fn wait_ready(addr: SocketAddr, within: Duration) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Ok(r) = http.get(format!("http://{addr}/readyz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{addr} was not ready within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server's `/counters` snapshot (null if unavailable).
pub async fn counters(addr: SocketAddr) -> serde_json::Value {
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    else {
        return serde_json::Value::Null;
    };
    match http.get(format!("http://{addr}/counters")).send().await {
        Ok(r) => r.json().await.unwrap_or(serde_json::Value::Null),
        Err(_) => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_sets_auto_save_extra_settings_and_a_quoted_key() {
        let settings = vec!["commit-batch-max = 2000".to_owned()];
        let spec = ServerSpec {
            bin: Path::new("parley"),
            auto_save: 0,
            api_key: "k\"ey-0123456789abcdef0123456789abcdef",
            settings: &settings,
            log: None,
            keep: false,
            customer_limits: false,
            extra: Some("[transcript-cleanup]\napply-area = \"always\"\n"),
        };
        let t = config_toml(&spec).unwrap();
        assert!(
            t.ends_with("\n[transcript-cleanup]\napply-area = \"always\"\n"),
            "{t}"
        );
        assert!(t.contains("messages-per-customer = 0"), "limits off: {t}");
        let limited = config_toml(&ServerSpec {
            customer_limits: true,
            ..spec
        })
        .unwrap();
        assert!(!limited.contains("messages-per-customer"), "{limited}");
        assert!(limited.contains("sessions-per-address = 0"), "{limited}");
        assert!(t.contains("transcript-auto-save = 0\n"), "{t}");
        assert!(t.contains("commit-batch-max = 2000\n"), "{t}");
        assert!(t.contains(r#"api-keys = ["k\"ey-0123"#), "{t}");
    }
}
