//! `parley`: the command line. `serve` parses arguments, loads the configuration, starts
//! tracing, binds the listeners (loading their TLS certificates), reloads the
//! certificates on SIGHUP and calls `parley_server::run` with a Ctrl-C / SIGTERM future; `hash-password` prints the argon2 hash an `[agents.<login>]` section needs.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use parley_server::config::{CliOverrides, Config, PortId};
use parley_server::listen::{Listeners, Reloader};

/// mimalloc rather than glibc's malloc: under load glibc's allocator was ≈ 8 % of the
/// server's CPU (`_int_malloc`, `malloc_consolidate`, `unlink_chunk`: many small frames
/// and futures freed on other threads than the ones that made them). See
/// docs/BENCHMARKS.md, hot spot 8.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Parley: an open contact-center chat server (Genesys Chat Server 8.5 compatible).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (embedded SQLite under the data directory unless configured).
    Serve {
        /// TOML configuration file (Genesys section and option names).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address to listen on (overrides [server] listen).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<SocketAddr>,
        /// Data directory (overrides [server] data-dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Read a password from standard input (one line) and print its argon2id hash, for
    /// `password-hash` in an [agents.<login>] section.
    HashPassword,
    /// Put a running instance in draining: it refuses new sessions and exits once its
    /// current sessions have ended (or after [settings] drain-timeout). The admin key is
    /// read from standard input (one line), never from the command line.
    Drain {
        /// The instance's base URL.
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
        url: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve {
            config,
            listen,
            data_dir,
        } => {
            let overrides = CliOverrides { listen, data_dir };
            let config = Config::load(config.as_deref(), std::env::vars(), &overrides)
                .context("invalid configuration")?;
            parley_server::telemetry::init(config.server.log_format);
            raise_nofile_limit();
            let listeners = Listeners::bind(&config)?;
            reload_on_hangup(listeners.reloader());
            for l in listeners.iter() {
                let addr = l.local_addr()?;
                // Tests and scripts read the default listener's port from this line.
                match l.port {
                    PortId::Default => println!("parley listening on {}://{addr}", l.scheme()),
                    port => println!("parley listening for {port} on {}://{addr}", l.scheme()),
                }
            }
            parley_server::run(config, listeners, shutdown_signal()).await
        }
        Cmd::HashPassword => hash_password(),
        Cmd::Drain { url } => drain(&url).await,
    }
}

/// `parley drain`: `POST /admin/v1/drain` with the admin key; prints the instance's answer.
async fn drain(url: &str) -> anyhow::Result<()> {
    let mut key = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut key)
        .context("while reading the admin key from standard input")?;
    if key.trim().is_empty() {
        anyhow::bail!("give one of the instance's [security] admin-api-keys on standard input");
    }
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/v1/drain", url.trim_end_matches('/')))
        .bearer_auth(key.trim())
        .send()
        .await
        .with_context(|| format!("while calling {url}"))?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("{url} answered {status}: {body}");
    }
    println!("{body}");
    Ok(())
}

/// `parley hash-password`: one line from stdin (without its line ending) → the argon2id
/// PHC string on stdout. A prompt goes to stderr when stdin is a terminal; the password
/// is never printed.
fn hash_password() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (shown as typed): ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    anyhow::ensure!(
        !password.is_empty(),
        "no password given: write it on standard input, e.g. `parley hash-password < file`"
    );
    let hash = parley_server::config::hash_password(password)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    println!("{hash}");
    Ok(())
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as `parley-bench` does for itself:
/// every connection is a file descriptor, and a login shell's soft limit (often 1,024)
/// would otherwise cap the server far below what the machine allows. Through the `rlimit`
/// crate, since the workspace forbids `unsafe`.
fn raise_nofile_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit (soft RLIMIT_NOFILE)"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit (RLIMIT_NOFILE)"),
    }
}

/// SIGHUP reloads the listeners' TLS certificates from their files (new connections get
/// the new ones; open connections stay; a file that fails to load keeps the old one and
/// logs an error). It never ends the process, as its default action would (a closed
/// terminal, an operator's habit of "reload"); the rest of the configuration is read at
/// start.
fn reload_on_hangup(reloader: Reloader) {
    #[cfg(unix)]
    if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let r = reloader.clone();
                // Reading files blocks: off the runtime's workers.
                let _ = tokio::task::spawn_blocking(move || r.reload()).await;
            }
        });
    }
    #[cfg(not(unix))]
    drop(reloader);
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
