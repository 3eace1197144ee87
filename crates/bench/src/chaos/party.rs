//! What every party loop of the chaos run shares: the run's context (balancer, keys,
//! pace, phase), how a failure is classified (retry elsewhere, or give up), and the
//! pacing of one party's sends, which every protocol's loop follows the same way:
//!
//! - one message at a time; a send whose outcome is unknown (connection error, timeout,
//!   `UNAVAILABLE`) is retried, on the next instance up, with the **same** client message
//!   id, so the server stores it once — a retry never hides a loss, since a message
//!   counts as sent only when acknowledged and the transcript is checked at the end;
//! - while the chat is recovering from a kill the next send goes at once (after the
//!   backoff), so the failover time is measured to within a backoff step;
//! - once the run drains, no new message starts; the loop ends when neither party has a
//!   send in flight and this party has received every acknowledged message of the
//!   other.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parley_proto::ErrorCode;

use super::chat::{backoff, Chat};
use super::cluster::Balancer;

/// Run phases.
pub const RUNNING: u8 = 0;
/// No new messages; finish and collect.
pub const DRAINING: u8 = 1;
/// Give up on whatever is left.
pub const OVER: u8 = 2;

/// The run's shared context.
pub struct Run {
    /// Where clients go.
    pub lb: Balancer,
    /// HTTP client for flex and GMS.
    pub http: reqwest::Client,
    /// API key of agents.
    pub api_key: String,
    /// GMS service name.
    pub gms_service: String,
    /// Pause between one party's messages.
    pub interval: Duration,
    /// Longest wait for one reply.
    pub timeout: Duration,
    /// Pause between refreshes of HTTP customers.
    pub poll: Duration,
    phase: AtomicU8,
}

impl Run {
    /// A run in its first phase.
    pub fn new(
        lb: Balancer,
        api_key: String,
        gms_service: String,
        interval: Duration,
        timeout: Duration,
    ) -> anyhow::Result<Run> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Run {
            lb,
            http,
            api_key,
            gms_service,
            interval,
            timeout,
            poll: Duration::from_millis(200),
            phase: AtomicU8::new(RUNNING),
        })
    }

    /// The phase.
    pub fn phase(&self) -> u8 {
        self.phase.load(Ordering::SeqCst)
    }

    /// Moves to `phase`.
    pub fn set_phase(&self, phase: u8) {
        self.phase.store(phase, Ordering::SeqCst);
    }

    /// `http://ADDR` of instance `i`.
    pub fn base(&self, i: usize) -> String {
        format!("http://{}", self.lb.addrs[i])
    }
}

/// Why an attempt failed.
#[derive(Debug)]
pub enum Fail {
    /// Unknown outcome or not served here now: try again, on the next instance.
    Retry(String),
    /// The server refused for good: the chat cannot go on.
    Fatal(String),
}

impl Fail {
    /// A refusal with `code`: `UNAVAILABLE` (the session is held elsewhere, or being
    /// handed over) and `INTERNAL` (a store hiccup) are worth retrying; anything else is
    /// final.
    pub fn code(code: ErrorCode, what: &str) -> Fail {
        let m = format!("{what}: {} {}", code.number(), code.name());
        match code {
            ErrorCode::Unavailable | ErrorCode::Internal => Fail::Retry(m),
            _ => Fail::Fatal(m),
        }
    }
}

/// One party's send pacing and failure streak.
pub struct Pace {
    /// The party index.
    pub party: usize,
    /// Next sequence number.
    pub seq: u64,
    /// The message in flight (not yet acknowledged).
    pub pending: Option<u64>,
    /// When the current attempt began.
    attempt: Instant,
    next_send: Instant,
    fails: u32,
    /// Set while this party has a send in flight, for the other party's drain check.
    in_flight: Arc<AtomicBool>,
}

impl Pace {
    /// Pacing for `party`, first send after `first`.
    pub fn new(party: usize, first: Duration, in_flight: Arc<AtomicBool>) -> Pace {
        Pace {
            party,
            seq: 0,
            pending: None,
            attempt: Instant::now(),
            next_send: Instant::now() + first,
            fails: 0,
            in_flight,
        }
    }

    /// The message to send now, if any: the one in flight, or a new one when it is time
    /// (at once while the chat recovers from a kill).
    pub fn due(&mut self, run: &Run, chat: &Chat) -> Option<u64> {
        if self.pending.is_none()
            && run.phase() == RUNNING
            && (Instant::now() >= self.next_send || chat.recovering())
        {
            chat.sending(self.party, self.seq);
            self.pending = Some(self.seq);
            self.in_flight.store(true, Ordering::SeqCst);
            self.seq += 1;
        }
        self.attempt = Instant::now();
        self.pending
    }

    /// The message in flight was acknowledged by `instance`.
    pub fn acked(&mut self, run: &Run, chat: &Chat, instance: usize) {
        if let Some(seq) = self.pending.take() {
            chat.acked(self.party, seq, instance, self.attempt, Instant::now());
        }
        self.in_flight.store(false, Ordering::SeqCst);
        self.fails = 0;
        self.next_send = Instant::now() + run.interval;
    }

    /// An attempt on `instance` failed with `fail`: moves the chat on and waits the
    /// backoff (true), or gives the chat up (false).
    pub async fn failed(&mut self, run: &Run, chat: &Chat, instance: usize, fail: Fail) -> bool {
        match fail {
            Fail::Retry(_) => {
                chat.retried();
                chat.rotate(&run.lb, instance);
                self.fails += 1;
                tokio::time::sleep(backoff(self.fails)).await;
                true
            }
            Fail::Fatal(m) => {
                chat.give_up(format!("party {}: {m}", self.party));
                self.in_flight.store(false, Ordering::SeqCst);
                false
            }
        }
    }

    /// Whether the loop is done: draining, nothing in flight on either side, and
    /// everything acknowledged by the other party received; or the run is over.
    pub fn done(&self, run: &Run, chat: &Chat, other_in_flight: &AtomicBool) -> bool {
        match run.phase() {
            RUNNING => false,
            DRAINING => {
                self.pending.is_none()
                    && !other_in_flight.load(Ordering::SeqCst)
                    && chat.has_all_for(self.party)
            }
            _ => {
                if let Some(seq) = self.pending {
                    chat.give_up(format!(
                        "party {} message {seq} never acknowledged",
                        self.party
                    ));
                }
                true
            }
        }
    }

    /// How long to wait for incoming events before looking at sending again.
    pub fn idle(&self, run: &Run) -> Duration {
        self.next_send
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(20), run.poll)
    }
}
