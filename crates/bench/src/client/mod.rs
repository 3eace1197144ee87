//! The protocol clients, one file each, behind one `Customer` type so the session script
//! does not care how the customer talks. Agents and supervisors always use the basic
//! protocol (flex and GMS are customer front doors).
//!
//! - `basic.rs`  a WebSocket party: register, create/join, message, release
//! - `flex.rs`   a flex customer: login, join, send, long-poll refresh
//! - `gms.rs`    a GMS Chat API v2 customer: request chat, send, polled refresh

mod background;
pub mod basic;
pub mod flex;
pub mod flood;
pub mod gms;

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use parley_proto::ErrorCode;

use crate::ledger::SharedLedger;
use crate::stats::Stats;
use crate::target::Target;

/// How the customer talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// JSON frames over a WebSocket (`/basic`).
    Basic,
    /// HTTP + JSON with long-poll refresh (`/flex/v1`).
    Flex,
    /// The GMS Chat API v2 facade (`/genesys/2/chat/{service}`), polled.
    Gms,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Basic => "basic",
            Protocol::Flex => "flex",
            Protocol::Gms => "gms",
        })
    }
}

impl FromStr for Protocol {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Protocol> {
        Ok(match s {
            "basic" => Protocol::Basic,
            "flex" => Protocol::Flex,
            "gms" => Protocol::Gms,
            _ => bail!("unknown protocol {s:?} (basic, flex or gms)"),
        })
    }
}

/// One `reqwest::Client` per source address, so HTTP customers spread over the same
/// source addresses as WebSocket ones.
pub struct HttpPool {
    clients: Vec<reqwest::Client>,
    next: AtomicUsize,
    /// `http://addr`.
    pub base: String,
}

impl HttpPool {
    /// Clients for every source address of `target`.
    pub fn new(target: &Target, timeout: Duration) -> anyhow::Result<HttpPool> {
        let clients = target
            .sources()
            .iter()
            .map(|ip| {
                reqwest::Client::builder()
                    .local_address(*ip)
                    .tcp_nodelay(true)
                    .timeout(timeout)
                    .pool_idle_timeout(Duration::from_secs(30))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HttpPool {
            clients,
            next: AtomicUsize::new(0),
            base: base_url(target.addr),
        })
    }

    /// The next client, round robin.
    pub fn client(&self) -> reqwest::Client {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.clients[i % self.clients.len()].clone()
    }
}

fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// What every client needs.
pub struct Ctx {
    /// Where to connect, from where.
    pub target: Target,
    /// HTTP clients.
    pub http: HttpPool,
    /// Measurements.
    pub stats: Arc<Stats>,
    /// The API key agents and supervisors register with.
    pub api_key: String,
    /// Longest wait for a reply to a control request (register, join, release...).
    pub timeout: Duration,
    /// Long-poll wait of flex refreshes.
    pub flex_wait_ms: u64,
    /// Pause between GMS refreshes (GMS v2 refresh does not long-poll).
    pub gms_poll: Duration,
    /// The GMS service name (`[gms-chat-services]`).
    pub gms_service: String,
}

/// Codes that mean "this session is over for you", expected once a close has begun.
pub fn is_end_code(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::SessionOver
            | ErrorCode::SessionNotFound
            | ErrorCode::NoSuchUser
            | ErrorCode::LoggedOut
    )
}

/// A customer over any protocol.
pub enum Customer {
    /// WebSocket.
    Basic(basic::Party),
    /// Flex.
    Flex(flex::Customer),
    /// GMS v2.
    Gms(gms::Customer),
}

impl Customer {
    /// Connects, registers (or logs in) and creates a session; returns the session id.
    pub async fn open(
        protocol: Protocol,
        ctx: &Arc<Ctx>,
        ledger: &SharedLedger,
        nickname: &str,
    ) -> anyhow::Result<(Customer, String)> {
        Ok(match protocol {
            Protocol::Basic => {
                let mut p = basic::Party::connect(ctx, crate::ledger::CUSTOMER, ledger).await?;
                p.register(nickname, parley_proto::basic::PartyType::Client, None)
                    .await?;
                let id = p.create_session().await?;
                (Customer::Basic(p), id)
            }
            Protocol::Flex => {
                let c = flex::Customer::open(ctx, ledger, nickname).await?;
                let id = c.session_id.clone();
                (Customer::Flex(c), id)
            }
            Protocol::Gms => {
                let c = gms::Customer::open(ctx, ledger, nickname).await?;
                let id = c.chat_id.clone();
                (Customer::Gms(c), id)
            }
        })
    }

    /// Sends one generated message of `size` bytes.
    pub async fn send(&mut self, ledger: &SharedLedger, size: usize) -> anyhow::Result<()> {
        match self {
            Customer::Basic(p) => p.send_message(ledger, size).await,
            Customer::Flex(c) => {
                c.send(ledger, size).await;
                Ok(())
            }
            Customer::Gms(c) => {
                c.send(ledger, size).await;
                Ok(())
            }
        }
    }

    /// Waits until the customer learns the session is over.
    pub async fn wait_end(&mut self, timeout: Duration) -> anyhow::Result<()> {
        match self {
            Customer::Basic(p) => p.wait_session_over(timeout).await,
            Customer::Flex(c) => c.wait_end(timeout).await,
            Customer::Gms(c) => c.wait_end(timeout).await,
        }
    }

    /// Drops the connection(s).
    pub async fn close(self) {
        match self {
            Customer::Basic(p) => p.close().await,
            Customer::Flex(c) => c.close().await,
            Customer::Gms(c) => c.close().await,
        }
    }
}
