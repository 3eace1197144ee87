//! `parley`: the command line. `serve` parses arguments, loads the configuration, starts
//! tracing, binds the listener and calls `parley_server::run` with a Ctrl-C / SIGTERM
//! future; `hash-password` prints the argon2 hash an `[agents.<login>]` section needs.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use parley_server::config::{CliOverrides, Config};

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
            parley_server::telemetry::init();
            raise_nofile_limit();
            ignore_hangup();
            let listener = bind(config.server.listen)
                .with_context(|| format!("while binding {}", config.server.listen))?;
            // Tests and scripts read the bound port from this line.
            println!("parley listening on http://{}", listener.local_addr()?);
            parley_server::run(config, listener, shutdown_signal()).await
        }
        Cmd::HashPassword => hash_password(),
        Cmd::Drain { url } => drain(&url).await,
    }
}

/// Room in the kernel's queue of connections waiting for `accept` (capped by
/// `net.core.somaxconn`): with the default 1,024 a burst of connects (thousands of clients
/// coming back after a restart, a flood) overflows it and a dropped SYN costs the client
/// a 1 s retransmission, `/healthz` probes included (docs/BENCHMARKS.md, "Idle and
/// slowloris connections").
const LISTEN_BACKLOG: u32 = 4096;

/// Binds the listener (SO_REUSEADDR, as `TcpListener::bind`) with [`LISTEN_BACKLOG`].
fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
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

/// SIGHUP (a closed terminal, an operator's habit of "reload") must not end the process,
/// as its default action would: it is logged and otherwise ignored. Configuration reload
/// is not supported yet.
fn ignore_hangup() {
    #[cfg(unix)]
    if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP received: ignored (the configuration is read at start)");
            }
        });
    }
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
