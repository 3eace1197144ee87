//! The cluster under test: a fresh PostgreSQL database (created at the start, dropped at
//! the end), N `parley serve` processes on it, each on a fixed loopback port so a killed
//! instance comes back where the load balancer expects it, and the load balancer's view
//! of which instances are up. Only these children are ever signalled, by their own
//! handles (SIGKILL through `Child::kill`, SIGTERM through `kill -TERM <pid>`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};
use sqlx::Connection;

use crate::server::wait_ready;

/// A database created for one run, dropped by `drop_database`.
pub struct Database {
    /// The server part of the URL (`postgres://user@host:port`).
    server: String,
    /// The database name.
    pub name: String,
}

impl Database {
    /// Creates `{prefix}_{random}` on the server `url` names (its database part is only
    /// where we connect to issue `CREATE DATABASE`).
    pub async fn create(url: &str, prefix: &str) -> anyhow::Result<Database> {
        let (server, _) = url
            .rsplit_once('/')
            .context("--postgres must be a URL ending in /DATABASE")?;
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .with_context(|| format!("while connecting to {url}"))?;
        let name = format!("{prefix}_{:x}", crate::chaos::rng::seed());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .with_context(|| format!("while creating database {name}"))?;
        Ok(Database {
            server: server.to_owned(),
            name,
        })
    }

    /// The URL of the new database.
    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    /// Drops the database (every instance must be stopped first). `admin_url` is the
    /// URL the database was created through.
    pub async fn drop_database(self, admin_url: &str) -> anyhow::Result<()> {
        let mut conn = sqlx::PgConnection::connect(admin_url).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await
        .with_context(|| format!("while dropping database {}", self.name))?;
        Ok(())
    }
}

/// A free loopback port (bound, read and released; the server binds it right after).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// One `parley serve` process slot: a fixed port, a data directory, a config, and the
/// running child (if any).
pub struct Instance {
    /// Where it listens (fixed across restarts).
    pub addr: SocketAddr,
    bin: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
    /// `RUST_LOG` of the process (default: the server's own).
    pub log: Option<String>,
}

impl Instance {
    /// A slot with its directory and config written; not started.
    pub fn new(bin: &Path, dir: PathBuf, config: &str) -> anyhow::Result<Instance> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("while creating {}", dir.display()))?;
        std::fs::write(dir.join("parley.toml"), config)?;
        let port = free_port()?;
        Ok(Instance {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            bin: bin.to_owned(),
            dir,
            child: None,
            starts: 0,
            log: None,
        })
    }

    /// The PID of the running process.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Spawns the process; its log is appended to `server.log` in its directory, so the
    /// lives of one slot follow each other.
    fn spawn(&self) -> anyhow::Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))?;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve")
            .arg("--config")
            .arg(self.dir.join("parley.toml"))
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        if let Some(l) = &self.log {
            cmd.env("RUST_LOG", l);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("while starting {}", self.bin.display()))?;
        // Keep draining stdout so the server never blocks on it.
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(
            move || {
                for _ in BufReader::new(stdout).lines().map_while(Result::ok) {}
            },
        );
        Ok(child)
    }

    /// Starts the process and waits until `/readyz` answers 200. A restart on the same
    /// port may find it briefly in use; the server then exits, and it is started again.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("{} is already running", self.addr);
        }
        self.child = Some(self.spawn()?);
        self.starts += 1;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if wait_ready(self.addr, Duration::from_millis(500))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                self.kill9();
                bail!(
                    "{} was not ready within 30 s\n{}",
                    self.addr,
                    self.log_tail()
                );
            }
            let exited = match self.child.as_mut() {
                Some(c) => c.try_wait()?.is_some(),
                None => true,
            };
            if exited {
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.child = Some(self.spawn()?);
            }
        }
    }

    /// SIGKILL, then reaps the child.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM (a graceful stop), SIGKILL after `grace`.
    pub async fn stop(&mut self, grace: Duration) -> String {
        let Some(mut c) = self.child.take() else {
            return "not running".into();
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + grace;
        loop {
            match c.try_wait() {
                Ok(Some(s)) => return format!("exited: {s}"),
                Ok(None) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => {
                    let _ = c.kill();
                    let _ = c.wait();
                    return "killed after the shutdown grace period".into();
                }
            }
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the log holds a panic.
    pub fn log_has_panic(&self) -> bool {
        std::fs::read_to_string(self.dir.join("server.log"))
            .map(|l| l.contains("panicked"))
            .unwrap_or(false)
    }

    /// The last lines of the log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// The load balancer's view: the instances' addresses and which are up (as its health
/// check would see them). Clients pick from here.
pub struct Balancer {
    /// Instance addresses, by index.
    pub addrs: Vec<SocketAddr>,
    up: Vec<AtomicBool>,
}

impl Balancer {
    /// All instances up.
    pub fn new(addrs: Vec<SocketAddr>) -> Balancer {
        let up = addrs.iter().map(|_| AtomicBool::new(true)).collect();
        Balancer { addrs, up }
    }

    /// Marks an instance up or down.
    pub fn set_up(&self, i: usize, up: bool) {
        self.up[i].store(up, Ordering::SeqCst);
    }

    /// Whether instance `i` is up.
    pub fn is_up(&self, i: usize) -> bool {
        self.up[i].load(Ordering::SeqCst)
    }

    /// The next instance after `i` that is up (`i` itself if no other is).
    pub fn next_up(&self, i: usize) -> usize {
        let n = self.addrs.len();
        (1..=n)
            .map(|k| (i + k) % n)
            .find(|&j| self.is_up(j))
            .unwrap_or(i)
    }
}

/// The config every instance of a run shares.
pub fn config_toml(
    store_url: &str,
    lease_s: u64,
    api_key: &str,
    admin_key: &str,
    extra_settings: &[String],
) -> anyhow::Result<String> {
    let mut s = format!(
        "[server]\nstore-url = {}\n\n[settings]\nsession-lease-timeout = {lease_s}\n",
        serde_json::to_string(store_url)?
    );
    for kv in extra_settings {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--server-setting {kv:?} is not KEY=VALUE");
        };
        s.push_str(&format!("{} = {}\n", k.trim(), v.trim()));
    }
    s.push_str(&format!(
        "\n[security]\napi-keys = [{}]\nadmin-api-keys = [{}]\n",
        serde_json::to_string(api_key)?,
        serde_json::to_string(admin_key)?
    ));
    s.push_str(crate::server::NO_RATE_LIMITS);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_balancer_skips_instances_that_are_down() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b = Balancer::new(vec![a, a, a]);
        assert_eq!(b.next_up(0), 1);
        b.set_up(1, false);
        assert_eq!(b.next_up(0), 2);
        b.set_up(2, false);
        assert_eq!(b.next_up(0), 0, "only itself is left");
    }

    #[test]
    fn the_config_names_the_store_the_lease_and_both_keys() {
        let t = config_toml("postgres://h/db", 5, "k1", "k2", &["x = 1".into()]).unwrap();
        assert!(t.contains("store-url = \"postgres://h/db\""), "{t}");
        assert!(t.contains("session-lease-timeout = 5\nx = 1\n"), "{t}");
        assert!(t.contains("admin-api-keys = [\"k2\"]"), "{t}");
    }
}
