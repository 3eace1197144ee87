//! `parley`: the command line. Parses arguments, loads the configuration, starts tracing,
//! binds the listener and calls `parley_server::run` with a Ctrl-C / SIGTERM future.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use parley_server::config::{CliOverrides, Config};

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
            let listener = tokio::net::TcpListener::bind(config.server.listen)
                .await
                .with_context(|| format!("while binding {}", config.server.listen))?;
            // Tests and scripts read the bound port from this line.
            println!("parley listening on http://{}", listener.local_addr()?);
            parley_server::run(config, listener, shutdown_signal()).await
        }
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
