//! The Prometheus registry of one Parley instance (`metrics-exporter-prometheus`), read by
//! `GET /metrics`: the histograms and labelled gauges recorded here, and the KPI counters,
//! which the scrape copies in from their atomics ([`Metrics::render`]) so each is counted
//! in one place.
//!
//! Each instance builds its own recorder rather than installing a global one: tests run
//! several servers in one process, and the handles below are cheap clones of lock-free
//! atomics. Labelled series (per route, per queue) are looked up in the recorder's sharded
//! registry; nothing here takes a lock of Parley's own.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

use super::view::Reading;
use super::Kind;

/// The Prometheus name of a `/Counters` name: `sessions-created` → `parley_sessions_created_total`.
pub fn prom_name(name: &str, kind: Kind) -> String {
    let base = format!("parley_{}", name.replace(['-', '.'], "_"));
    match kind {
        Kind::Cumulative => format!("{base}_total"),
        Kind::Gauge => base,
    }
}

const META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Seconds of the fast paths: a request, a commit, a delivery.
const FAST_S: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Seconds people wait: in a queue, for an agent to accept.
const HUMAN_S: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];
/// Writes per commit.
const BATCH: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

const DELIVERY: &str = "parley_delivery_latency_seconds";
const COMMIT: &str = "parley_commit_duration_seconds";
const BATCH_SIZE: &str = "parley_commit_batch_size";
const QUEUE_WAIT: &str = "parley_queue_wait_seconds";
const OFFER_ACCEPT: &str = "parley_offer_to_accept_seconds";
const HTTP: &str = "parley_http_request_duration_seconds";
const CHATS: &str = "parley_chats";

/// The registry and the handles of the unlabelled histograms.
pub struct Metrics {
    recorder: PrometheusRecorder,
    /// From a request's arrival at its session to the delivery of what it caused (after
    /// its batch is durable).
    pub delivery_latency: Histogram,
    /// How long one group commit takes (retries included).
    pub commit_duration: Histogram,
    /// Writes in one group commit.
    pub commit_batch_size: Histogram,
    /// From a chat's entry into its queue to an agent's accepting it.
    pub queue_wait: Histogram,
    /// From an offer to the agent's accepting it.
    pub offer_to_accept: Histogram,
    /// The (tenant, queue, stage) series of `parley_chats` last set, to zero those that
    /// empty.
    chat_series: Mutex<BTreeSet<(String, String, &'static str)>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with Parley's buckets and descriptions.
    pub fn new() -> Metrics {
        let builder = [
            (DELIVERY, FAST_S),
            (COMMIT, FAST_S),
            (HTTP, FAST_S),
            (BATCH_SIZE, BATCH),
            (QUEUE_WAIT, HUMAN_S),
            (OFFER_ACCEPT, HUMAN_S),
        ]
        .into_iter()
        .fold(PrometheusBuilder::new(), |b, (name, buckets)| {
            b.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
                .expect("bucket lists are not empty")
        });
        let recorder = builder.build_recorder();
        for (name, unit, help) in [
            (DELIVERY, Some(Unit::Seconds), "From a request's arrival at its session to the delivery of what it caused, once durable."),
            (COMMIT, Some(Unit::Seconds), "Duration of one group commit of transcript writes (retries included)."),
            (BATCH_SIZE, None, "Writes in one group commit."),
            (QUEUE_WAIT, Some(Unit::Seconds), "From a chat's entry into its queue to an agent's accepting it."),
            (OFFER_ACCEPT, Some(Unit::Seconds), "From an offer to an agent to its acceptance."),
            (HTTP, Some(Unit::Seconds), "HTTP request duration by method, matched route template and status."),
        ] {
            recorder.describe_histogram(name.into(), unit, help.into());
        }
        recorder.describe_gauge(
            CHATS.into(),
            None,
            "Chats on the routing leader by tenant, queue and stage (waiting, offered, handled, wrap-up).".into(),
        );
        let histogram =
            |name: &'static str| recorder.register_histogram(&Key::from_name(name), &META);
        Metrics {
            delivery_latency: histogram(DELIVERY),
            commit_duration: histogram(COMMIT),
            commit_batch_size: histogram(BATCH_SIZE),
            queue_wait: histogram(QUEUE_WAIT),
            offer_to_accept: histogram(OFFER_ACCEPT),
            chat_series: Mutex::default(),
            recorder,
        }
    }

    /// One HTTP request: `route` is the matched route template (`/flex/v1/{sessionId}/send`),
    /// or `unmatched`, so a scan of random paths cannot create series without end.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let key = Key::from_parts(
            HTTP,
            vec![
                Label::new("method", method.to_owned()),
                Label::new("route", route.to_owned()),
                Label::new("status", status.to_string()),
            ],
        );
        self.recorder
            .register_histogram(&key, &META)
            .record(took.as_secs_f64());
    }

    /// Publishes the chats per (tenant, queue, stage); series that emptied go to 0.
    pub fn set_chats(&self, counts: &[((String, String, &'static str), u64)]) {
        let mut last = self.chat_series.lock().unwrap_or_else(|p| p.into_inner());
        let now: BTreeSet<_> = counts.iter().map(|(k, _)| k.clone()).collect();
        for gone in last.difference(&now) {
            self.chats_gauge(gone).set(0.0);
        }
        for (k, n) in counts {
            self.chats_gauge(k).set(*n as f64);
        }
        *last = now;
    }

    fn chats_gauge(&self, (tenant, queue, stage): &(String, String, &'static str)) -> Gauge {
        let key = Key::from_parts(
            CHATS,
            vec![
                Label::new("tenant", tenant.clone()),
                Label::new("queue", queue.clone()),
                Label::new("stage", *stage),
            ],
        );
        self.recorder.register_gauge(&key, &META)
    }

    /// The Prometheus text: `readings` (values since the start, described by
    /// `describe`) copied in, then everything rendered.
    pub fn render(&self, readings: &[Reading], describe: impl Fn(&str) -> &'static str) -> String {
        for r in readings {
            let name = prom_name(r.name, r.kind);
            let key = Key::from_name(name.clone());
            match r.kind {
                Kind::Cumulative => {
                    self.recorder
                        .describe_counter(name.into(), None, describe(r.name).into());
                    let c: Counter = self.recorder.register_counter(&key, &META);
                    c.absolute(r.value);
                }
                Kind::Gauge => {
                    self.recorder
                        .describe_gauge(name.into(), None, describe(r.name).into());
                    self.recorder
                        .register_gauge(&key, &META)
                        .set(r.value as f64);
                }
            }
        }
        self.recorder.handle().render()
    }

    /// Drains the histograms' sample buffers into their buckets, so an instance nobody
    /// scrapes does not keep every sample (run every few seconds).
    pub fn upkeep(&self) {
        self.recorder.handle().run_upkeep();
    }
}
