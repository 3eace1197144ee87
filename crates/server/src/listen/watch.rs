//! What one connection is doing, as its deadlines need it: when it was accepted, when it
//! last moved a byte, whether a request is being read or handled. Kept in atomics beside
//! the socket ([`WatchedIo`] records reads and writes, [`Busy`] brackets each request), so
//! the connection's task can sleep until its next deadline instead of arming a timer on
//! every read.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::table::Table;

/// The connection timeouts (`[settings]`).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// `user-register-timeout`: from the accept to the first request's complete headers.
    pub register: Duration,
    /// `request-header-timeout`: from a request's first byte to its complete headers.
    pub header: Duration,
    /// `http-idle-timeout`: with no request in progress, from the last byte moved.
    pub idle: Duration,
}

/// Why a connection was closed by a deadline (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    /// No complete first request within `user-register-timeout`.
    Register,
    /// A request's headers took longer than `request-header-timeout`.
    Header,
    /// No request and no traffic for `http-idle-timeout`.
    Idle,
}

impl Expiry {
    pub(super) fn option(self) -> &'static str {
        match self {
            Expiry::Register => "user-register-timeout",
            Expiry::Header => "request-header-timeout",
            Expiry::Idle => "http-idle-timeout",
        }
    }
}

/// One connection's state.
#[derive(Debug)]
pub(super) struct Watch {
    /// When it was accepted; the other instants are milliseconds after it.
    accepted: Instant,
    /// The last byte read or written.
    last_io_ms: AtomicU64,
    /// When the first byte of a request not yet dispatched arrived, plus one (0: none).
    head_ms: AtomicU64,
    /// Requests being handled.
    busy: AtomicU32,
    /// Requests dispatched so far.
    served: AtomicU64,
    /// How many times it went idle (a request ended): tells the idle queue's stale entries.
    pub(super) idle_gen: AtomicU64,
    /// Left the listener (closed, or upgraded to a WebSocket): nothing to evict.
    pub(super) done: AtomicBool,
    /// Told to close to make room at the connection cap.
    pub(super) evicted: AtomicBool,
    /// Wakes the connection's task when it is evicted.
    pub(super) evict: Notify,
    /// Wakes the connection's task when its deadline may have come nearer (a request's
    /// first byte, a request's end): it sleeps until the deadline it saw last.
    pub(super) changed: Notify,
}

impl Watch {
    pub(super) fn new() -> Watch {
        Watch {
            accepted: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            head_ms: AtomicU64::new(0),
            busy: AtomicU32::new(0),
            served: AtomicU64::new(0),
            idle_gen: AtomicU64::new(0),
            done: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, ms: u64) -> Instant {
        self.accepted + Duration::from_millis(ms)
    }

    /// Whether it may be closed to make room: no request being handled, still ours.
    pub(super) fn evictable(&self, idle_gen: u64) -> bool {
        self.busy.load(Ordering::Acquire) == 0
            && self.idle_gen.load(Ordering::Acquire) == idle_gen
            && !self.done.load(Ordering::Acquire)
            && !self.evicted.load(Ordering::Acquire)
    }

    /// When the connection expires if nothing happens, and why; `None` while a request is
    /// being handled (the handler's own limits apply), to be looked at again later.
    pub(super) fn deadline(&self, t: &Timeouts) -> Option<(Instant, Expiry)> {
        if self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        let head = self.head_ms.load(Ordering::Acquire);
        let header = (head > 0).then(|| (self.at(head - 1) + t.header, Expiry::Header));
        if self.served.load(Ordering::Acquire) == 0 {
            let register = (self.accepted + t.register, Expiry::Register);
            return Some(match header {
                Some(h) if h.0 < register.0 => h,
                _ => register,
            });
        }
        Some(header.unwrap_or_else(|| {
            let last = self.last_io_ms.load(Ordering::Acquire);
            (self.at(last) + t.idle, Expiry::Idle)
        }))
    }

    fn moved(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Release);
    }

    fn read_some(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Release);
        if self.busy.load(Ordering::Acquire) == 0 {
            // The first byte of the next request starts its header deadline.
            let started = self
                .head_ms
                .compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok();
            if started {
                self.changed.notify_one();
            }
        }
    }
}

/// A request being handled; dropped when its response is ready (or the request is
/// abandoned). Its end starts the idle timeout and offers the connection for eviction.
pub(super) struct Busy {
    watch: Arc<Watch>,
    table: Arc<Table>,
}

impl Busy {
    pub(super) fn start(watch: Arc<Watch>, table: Arc<Table>) -> Busy {
        watch.busy.fetch_add(1, Ordering::AcqRel);
        watch.served.fetch_add(1, Ordering::AcqRel);
        watch.head_ms.store(0, Ordering::Release);
        Busy { watch, table }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.watch.moved();
        let gen = self.watch.idle_gen.fetch_add(1, Ordering::AcqRel) + 1;
        if self.watch.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.table.went_idle(gen, &self.watch);
            self.watch.changed.notify_one();
        }
    }
}

/// The socket, recording its traffic in its [`Watch`] and giving its place back to the
/// [`Table`] when it closes — which, for an upgraded WebSocket, is when the WebSocket ends.
pub(super) struct WatchedIo {
    io: TcpStream,
    watch: Arc<Watch>,
    table: Arc<Table>,
}

impl WatchedIo {
    pub(super) fn new(io: TcpStream, watch: Arc<Watch>, table: Arc<Table>) -> WatchedIo {
        WatchedIo { io, watch, table }
    }

    pub(super) fn tcp(&self) -> &TcpStream {
        &self.io
    }
}

impl Drop for WatchedIo {
    fn drop(&mut self) {
        self.watch.done.store(true, Ordering::Release);
        self.table.closed();
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.read_some();
        }
        r
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.watch.moved();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.watch.moved();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
