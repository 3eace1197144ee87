//! Webhooks against a real HTTP receiver (axum on 127.0.0.1:0) that records every request
//! and answers from a script: signatures, ids, order, retries, refusals, full queues and
//! dead URLs. The service is started directly from the library; no chat server needed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use parley_core::UnixMillis;
use parley_server::config::{Secret, Webhooks as WebhooksConfig};
use parley_server::webhooks::sign::{verify, EVENT_ID_HEADER, SIGNATURE_HEADER};
use parley_server::webhooks::{WebhookEvent, WebhookKind, WebhookStats, Webhooks};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

const SECRET: &str = "webhook-test-secret-0123456789abcdef";

/// How long a test waits for deliveries before failing.
const WAIT: Duration = Duration::from_secs(10);

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    body: Bytes,
    /// The status the receiver answered.
    status: u16,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("missing {name}"))
    }
    fn id(&self) -> String {
        self.json()["id"].as_str().expect("id").to_owned()
    }
    fn seq(&self) -> u64 {
        self.json()["data"]["seq"].as_u64().expect("seq")
    }
}

/// How the receiver answers the n-th request (0-based).
type Script = Arc<dyn Fn(usize) -> (StatusCode, Option<&'static str>) + Send + Sync>;

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Script,
    /// When set, each request waits for a permit before answering (a stalled receiver).
    gate: Option<Arc<Semaphore>>,
}

impl Receiver {
    /// Starts a receiver answering by `script`; returns it and its URL.
    async fn start(
        script: impl Fn(usize) -> (StatusCode, Option<&'static str>) + Send + Sync + 'static,
    ) -> (Receiver, String) {
        Receiver::start_gated(script, None).await
    }

    async fn start_gated(
        script: impl Fn(usize) -> (StatusCode, Option<&'static str>) + Send + Sync + 'static,
        gate: Option<Arc<Semaphore>>,
    ) -> (Receiver, String) {
        let receiver = Receiver {
            seen: Arc::default(),
            script: Arc::new(script),
            gate,
        };
        let app = Router::new()
            .route("/hook", post(record))
            .with_state(receiver.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver runs");
        });
        (receiver, format!("http://{addr}/hook?token=t0ps3cret"))
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    fn count(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }

    /// The requests answered with a 2xx.
    fn accepted(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| (200..300).contains(&s.status))
            .collect()
    }
}

async fn record(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(gate) = &r.gate {
        gate.acquire().await.expect("gate open").forget();
    }
    let mut seen = r.seen.lock().expect("lock");
    let (status, retry_after) = (r.script)(seen.len());
    seen.push(Seen {
        headers,
        body,
        status: status.as_u16(),
    });
    let mut response = status.into_response();
    if let Some(v) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static(v));
    }
    response
}

fn ok(_: usize) -> (StatusCode, Option<&'static str>) {
    (StatusCode::OK, None)
}

/// A config for `urls` with tiny retry delays.
fn config(urls: Vec<String>) -> WebhooksConfig {
    WebhooksConfig {
        urls,
        secret: Some(Secret::new(SECRET)),
        attempts: 5,
        retry_delay_ms: 2,
        max_retry_delay_ms: 5,
        timeout_ms: 5_000,
        queue_size: 1_000,
    }
}

fn event(kind: WebhookKind, seq: u64) -> WebhookEvent {
    WebhookEvent {
        kind,
        interaction_id: "00048aAPEQJ8000U".parse().expect("session id"),
        at: UnixMillis(1_700_000_000_000 + i64::try_from(seq).expect("small")),
        data: json!({ "seq": seq }),
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Waits until `done` holds of the service's counters; fails after [`WAIT`].
async fn until(hooks: &Webhooks, what: &str, done: impl Fn(&WebhookStats) -> bool) {
    let start = Instant::now();
    loop {
        let stats = hooks.stats();
        if done(&stats) {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn events_are_signed_identified_and_in_order() {
    let (receiver, url) = Receiver::start(ok).await;
    let hooks = Webhooks::start(&config(vec![url]));
    let n = 50;
    for seq in 0..n {
        hooks.emit(event(WebhookKind::PartyJoined, seq));
    }
    until(&hooks, "all delivered", |s| s.delivered == n).await;

    let seen = receiver.seen();
    assert_eq!(seen.len(), usize::try_from(n).expect("small"));
    let mut ids = std::collections::HashSet::new();
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.seq(), u64::try_from(i).expect("small"), "order kept");
        assert_eq!(s.header("content-type"), "application/json");
        assert_eq!(s.header(EVENT_ID_HEADER), s.id(), "header id = body id");
        assert!(ids.insert(s.id()), "ids are unique");

        let body = s.json();
        assert_eq!(body["type"], "party.joined");
        assert_eq!(body["interactionId"], "00048aAPEQJ8000U");
        assert_eq!(body["at"], 1_700_000_000_000u64 + s.seq());
        let keys: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 5, "{keys:?}");

        let signature = s.header(SIGNATURE_HEADER);
        assert!(signature.starts_with("t=") && signature.contains(",v1="));
        assert!(verify(SECRET.as_bytes(), signature, &s.body, now_s(), 300));
        assert!(!verify(b"not-the-secret", signature, &s.body, now_s(), 300));
        let mut tampered = s.body.to_vec();
        tampered.extend_from_slice(b" ");
        assert!(!verify(
            SECRET.as_bytes(),
            signature,
            &tampered,
            now_s(),
            300
        ));
        assert!(!verify(
            SECRET.as_bytes(),
            signature,
            &s.body,
            now_s() + 3_600,
            300
        ));
    }
    assert_eq!(hooks.stats().retried, 0);
    assert_eq!(hooks.stats().dropped, 0);
}

#[tokio::test]
async fn server_errors_are_retried_and_each_event_accepted_once() {
    // The first two requests fail; everything after succeeds.
    let (receiver, url) = Receiver::start(|n| {
        if n < 2 {
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        } else {
            (StatusCode::NO_CONTENT, None)
        }
    })
    .await;
    let hooks = Webhooks::start(&config(vec![url]));
    for seq in 0..3 {
        hooks.emit(event(WebhookKind::Submitted, seq));
    }
    until(&hooks, "three delivered", |s| s.delivered == 3).await;

    let seen = receiver.seen();
    let seqs: Vec<u64> = seen.iter().map(Seen::seq).collect();
    assert_eq!(seqs, [0, 0, 0, 1, 2], "retries come before the next event");
    assert_eq!(seen[0].id(), seen[2].id(), "a retry keeps the event id");
    for s in &seen {
        assert!(verify(
            SECRET.as_bytes(),
            s.header(SIGNATURE_HEADER),
            &s.body,
            now_s(),
            300
        ));
        assert_eq!(s.header(EVENT_ID_HEADER), s.id());
    }
    let accepted: Vec<String> = receiver.accepted().iter().map(Seen::id).collect();
    let unique: std::collections::HashSet<&String> = accepted.iter().collect();
    assert_eq!(accepted.len(), 3);
    assert_eq!(
        unique.len(),
        3,
        "exactly one accepted delivery per event id"
    );
    let stats = hooks.stats();
    assert_eq!((stats.retried, stats.dropped), (2, 0));
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (receiver, url) = Receiver::start(|_| (StatusCode::BAD_REQUEST, None)).await;
    let hooks = Webhooks::start(&config(vec![url]));
    hooks.emit(event(WebhookKind::Accepted, 0));
    hooks.emit(event(WebhookKind::Accepted, 1));
    until(&hooks, "both dropped", |s| s.dropped_failed == 2).await;
    // The second event is only sent once the first is settled: had the first been
    // retried, the receiver would have seen more than two requests by now.
    let seqs: Vec<u64> = receiver.seen().iter().map(Seen::seq).collect();
    assert_eq!(seqs, [0, 1]);
    let stats = hooks.stats();
    assert_eq!((stats.retried, stats.delivered, stats.dropped), (0, 0, 2));
}

#[tokio::test]
async fn delivery_gives_up_after_the_configured_attempts() {
    let (receiver, url) = Receiver::start(|_| (StatusCode::SERVICE_UNAVAILABLE, None)).await;
    let mut cfg = config(vec![url]);
    cfg.attempts = 3;
    let hooks = Webhooks::start(&cfg);
    hooks.emit(event(WebhookKind::Ended, 0));
    hooks.emit(event(WebhookKind::Stopped, 1));
    until(&hooks, "both dropped", |s| s.dropped_failed == 2).await;
    let seqs: Vec<u64> = receiver.seen().iter().map(Seen::seq).collect();
    assert_eq!(seqs, [0, 0, 0, 1, 1, 1]);
    let stats = hooks.stats();
    assert_eq!((stats.retried, stats.delivered, stats.dropped), (4, 0, 2));
}

#[tokio::test]
async fn retry_after_is_honoured_over_the_backoff() {
    // A back-off of a minute would outlast the test; `Retry-After: 0` says "now".
    let (receiver, url) = Receiver::start(|n| match n {
        0 => (StatusCode::TOO_MANY_REQUESTS, Some("0")),
        1 => (StatusCode::REQUEST_TIMEOUT, Some("0")),
        _ => (StatusCode::OK, None),
    })
    .await;
    let mut cfg = config(vec![url]);
    cfg.retry_delay_ms = 60_000;
    cfg.max_retry_delay_ms = 60_000;
    let hooks = Webhooks::start(&cfg);
    hooks.emit(event(WebhookKind::Offered, 0));
    until(&hooks, "delivered", |s| s.delivered == 1).await;
    assert_eq!(receiver.count(), 3);
    assert_eq!(hooks.stats().retried, 2);
}

#[tokio::test]
async fn retry_after_is_capped_at_the_max_retry_delay() {
    let (receiver, url) = Receiver::start(|n| match n {
        0 => (StatusCode::TOO_MANY_REQUESTS, Some("3600")),
        _ => (StatusCode::OK, None),
    })
    .await;
    let hooks = Webhooks::start(&config(vec![url]));
    hooks.emit(event(WebhookKind::Queued, 0));
    until(&hooks, "delivered", |s| s.delivered == 1).await;
    assert_eq!(receiver.count(), 2);
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_blocking_emit() {
    let gate = Arc::new(Semaphore::new(0));
    let (receiver, url) = Receiver::start_gated(ok, Some(Arc::clone(&gate))).await;
    let mut cfg = config(vec![url]);
    cfg.queue_size = 4;
    cfg.timeout_ms = 60_000;
    let hooks = Webhooks::start(&cfg);

    let emitted: u64 = 5_000;
    for seq in 0..emitted {
        hooks.emit(event(WebhookKind::PartyLeft, seq));
    }
    // Reaching this line is the point: the receiver answers nothing yet. At most the
    // queue (4) and the one request in flight are kept.
    let stats = hooks.stats();
    assert!(stats.dropped_queue_full >= emitted - 5, "{stats:?}");
    assert_eq!(stats.dropped, stats.dropped_queue_full);
    assert_eq!(stats.delivered, 0);

    gate.add_permits(Semaphore::MAX_PERMITS / 2);
    let kept = emitted - stats.dropped_queue_full;
    until(&hooks, "the kept events delivered", |s| s.delivered == kept).await;
    assert_eq!(hooks.stats().delivered + hooks.stats().dropped, emitted);
    let seqs: Vec<u64> = receiver.seen().iter().map(Seen::seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
}

#[tokio::test]
async fn a_dead_url_does_not_delay_another() {
    // One URL refuses connections, one accepts them and never answers.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = l.local_addr().expect("addr");
        drop(l);
        format!("http://{addr}/hook")
    };
    let stalled_gate = Arc::new(Semaphore::new(0));
    let (stalled, stalled_url) = Receiver::start_gated(ok, Some(Arc::clone(&stalled_gate))).await;
    let (good, good_url) = Receiver::start(ok).await;
    let mut cfg = config(vec![closed, stalled_url, good_url]);
    cfg.timeout_ms = 60_000;
    cfg.retry_delay_ms = 60_000;
    cfg.max_retry_delay_ms = 60_000;
    let hooks = Webhooks::start(&cfg);

    let n = 20;
    for seq in 0..n {
        hooks.emit(event(WebhookKind::Submitted, seq));
    }
    until(&hooks, "the good URL has every event", |s| s.delivered == n).await;
    let seqs: Vec<u64> = good.seen().iter().map(Seen::seq).collect();
    assert_eq!(seqs, (0..n).collect::<Vec<_>>());
    assert_eq!(stalled.count(), 0);

    // Shutdown does not wait for the minute-long retry wait of the closed URL.
    hooks.shutdown();
    stalled_gate.add_permits(1);
    tokio::time::timeout(WAIT, hooks.stopped())
        .await
        .expect("tasks stop on shutdown");
}

#[tokio::test]
async fn the_same_event_goes_to_every_url_with_one_id() {
    let (a, url_a) = Receiver::start(ok).await;
    let (b, url_b) = Receiver::start(ok).await;
    let hooks = Webhooks::start(&config(vec![url_a, url_b]));
    hooks.emit(event(WebhookKind::Rejected, 7));
    until(&hooks, "both delivered", |s| s.delivered == 2).await;
    let (a, b) = (a.seen(), b.seen());
    assert_eq!(a[0].id(), b[0].id());
    assert_eq!(a[0].body, b[0].body);
}
