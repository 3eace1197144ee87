//! The persistence pipeline: group commit. Session actors hand it their writes; one
//! writer task drains whatever is queued (up to `commit-batch-max` writes), applies it in
//! one transaction and answers every job. Under load many sessions share one commit, so
//! durability costs one sync per batch rather than one per message, and no session waits
//! on a lock: the only shared structure on the message path is this channel.
//!
//! On SQLite the writer runs on a thread of its own (with a one-thread runtime): a commit
//! is a few sequential hand-offs between the writer and sqlx's SQLite thread, and on the
//! shared runtime each of them waited behind thousands of connection tasks once the
//! server was busy (acquire + `BEGIN` alone took 9–19 ms at saturation against 0.1–0.7 ms
//! below it; docs/BENCHMARKS.md, hot spot 6). On PostgreSQL it stays a task of the
//! shared runtime: a pool connection's socket belongs to the runtime that opened it, and
//! the pool is shared with every other task.

use std::sync::Arc;
use std::time::Duration;

use parley_store::{AnyStore, StoreError, TranscriptStore, Write};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::counters::Counters;

/// Outcome of one job: all of its writes applied, or the first failure with the job's
/// writes handed back (so the caller can retry them without keeping a copy).
pub type JobResult = Result<(), Failed>;

/// A job that failed, and its writes.
#[derive(Debug)]
pub struct Failed {
    /// Why.
    pub error: StoreError,
    /// The job's writes, unapplied (a fenced or conflicting write fails its whole job).
    pub writes: Vec<Write>,
    /// The pipeline is gone (shutdown), so the job was never tried, and its writes may
    /// not have come back: nothing may be retried from it.
    pub stopped: bool,
}

impl Failed {
    /// The store refused or failed the job.
    pub fn store(error: StoreError, writes: Vec<Write>) -> Failed {
        Failed {
            error,
            writes,
            stopped: false,
        }
    }

    /// The pipeline is gone (shutdown).
    pub fn stopped(writes: Vec<Write>) -> Failed {
        Failed {
            error: StoreError::Backend("persistence pipeline stopped".into()),
            writes,
            stopped: true,
        }
    }
}

/// Writes to apply together, and where to tell the outcome.
pub(crate) struct Job {
    pub(crate) writes: Vec<Write>,
    pub(crate) done: oneshot::Sender<JobResult>,
}

/// Handle to the writer task. Cloning is cheap.
#[derive(Clone)]
pub struct Pipeline {
    tx: mpsc::Sender<Job>,
}

/// Retry policy for a batch whose transaction failed (`transcript-resend-attempts`,
/// `transcript-resend-delay`).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Further attempts after the first.
    pub attempts: u32,
    /// Pause between attempts.
    pub delay: Duration,
}

/// The running writer, to stop at shutdown.
pub struct Writer {
    stop: CancellationToken,
    ended: Ended,
}

enum Ended {
    Task(tokio::task::JoinHandle<()>),
    /// Resolves (with an error: the sender is dropped) when the thread's runtime is done.
    Thread(oneshot::Receiver<()>),
}

impl Writer {
    /// Stops the writer and waits until it has. A commit under way is abandoned (its
    /// transaction rolls back, as when the process ends) and jobs still queued are
    /// dropped, so their sessions see the pipeline gone; at shutdown the sessions have
    /// drained first, so normally nothing is queued.
    pub async fn stop(self) {
        self.stop.cancel();
        match self.ended {
            Ended::Task(task) => {
                let _ = task.await;
            }
            Ended::Thread(ended) => {
                let _ = ended.await;
            }
        }
    }
}

impl Pipeline {
    /// Starts the writer (on its own thread for SQLite, see the module docs). It ends when
    /// every `Pipeline` handle is dropped and the queue is drained, so shutdown loses
    /// nothing that was submitted, or when [`Writer::stop`] is called. Each commit's
    /// duration and size go to `counters`' histograms.
    pub fn start(
        store: AnyStore,
        batch_max: usize,
        retry: Retry,
        counters: Arc<Counters>,
    ) -> std::io::Result<(Pipeline, Writer)> {
        let (tx, rx) = mpsc::channel(batch_max.max(1) * 4);
        let stop = CancellationToken::new();
        let own_thread = matches!(store, AnyStore::Sqlite(_));
        let run = stop.clone().run_until_cancelled_owned(writer(
            store,
            rx,
            batch_max.max(1),
            retry,
            counters,
        ));
        let ended = if own_thread {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (ended_tx, ended_rx) = oneshot::channel::<()>();
            std::thread::Builder::new()
                .name("parley-commit".into())
                .spawn(move || {
                    runtime.block_on(run);
                    // The runtime (and what it still holds of the store) goes first.
                    drop(runtime);
                    drop(ended_tx);
                })?;
            Ended::Thread(ended_rx)
        } else {
            Ended::Task(tokio::spawn(async move {
                run.await;
            }))
        };
        Ok((Pipeline { tx }, Writer { stop, ended }))
    }

    /// A pipeline whose jobs come out of the returned receiver instead of reaching a
    /// store: a test plays the writer and answers each job as it likes (commit, fence,
    /// fail), to drive the session actor through every outcome.
    #[cfg(test)]
    pub(crate) fn stub() -> (Pipeline, mpsc::Receiver<Job>) {
        let (tx, rx) = mpsc::channel(64);
        (Pipeline { tx }, rx)
    }

    /// Queues writes; the receiver resolves once they are durable (or have failed).
    pub async fn submit(&self, writes: Vec<Write>) -> oneshot::Receiver<JobResult> {
        let (done, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(job)) = self.tx.send(Job { writes, done }).await {
            let _ = job.done.send(Err(Failed::stopped(job.writes)));
        }
        rx
    }
}

async fn writer(
    store: AnyStore,
    mut rx: mpsc::Receiver<Job>,
    batch_max: usize,
    retry: Retry,
    counters: Arc<Counters>,
) {
    let mut jobs: Vec<Job> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut count = first.writes.len();
        jobs.push(first);
        while count < batch_max {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.writes.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        // The writes move into one batch (no copies on the hot path); each job keeps how
        // many it had, to take its outcomes back.
        let mut batch: Vec<Write> = Vec::with_capacity(count);
        let mut counts = Vec::with_capacity(jobs.len());
        for job in &mut jobs {
            counts.push(job.writes.len());
            batch.append(&mut job.writes);
        }
        let started = std::time::Instant::now();
        let outcome = commit_with_retry(&store, &batch, retry).await;
        let took = started.elapsed();
        counters.metrics.commit_duration.record(took.as_secs_f64());
        counters
            .metrics
            .commit_batch_size
            .record(batch.len() as f64);
        debug!(
            jobs = jobs.len(),
            writes = batch.len(),
            us = took.as_micros(),
            "group commit"
        );
        let mut rest = batch.into_iter();
        match outcome {
            Ok(results) => {
                let mut results = results.into_iter();
                for (job, n) in jobs.drain(..).zip(counts) {
                    let mut first_error = None;
                    for _ in 0..n {
                        if let Some(Err(e)) = results.next() {
                            first_error.get_or_insert(e);
                        }
                    }
                    let mine: Vec<Write> = rest.by_ref().take(n).collect();
                    let _ = job.done.send(match first_error {
                        None => Ok(()),
                        Some(error) => Err(Failed::store(error, mine)),
                    });
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for (job, n) in jobs.drain(..).zip(counts) {
                    let _ = job.done.send(Err(Failed::store(
                        StoreError::Backend(msg.clone()),
                        rest.by_ref().take(n).collect(),
                    )));
                }
            }
        }
    }
}

async fn commit_with_retry(
    store: &AnyStore,
    batch: &[Write],
    retry: Retry,
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut attempt = 0;
    loop {
        match store.commit(batch).await {
            Ok(r) => return Ok(r),
            Err(e) if attempt < retry.attempts => {
                attempt += 1;
                warn!(error = %e, attempt, "transcript commit failed; retrying");
                tokio::time::sleep(retry.delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use parley_core::{EventId, SessionId, UnixMillis, UserData};
    use parley_store::{Epoch, InstanceId, NewSession, TranscriptStore, Write};

    use super::*;

    fn create(id: &SessionId) -> Write {
        Write::CreateSession(NewSession {
            id: id.clone(),
            created_at: UnixMillis(1),
            tenant: "acme".into(),
            endpoint: "default".into(),
            queue: "default".into(),
            subject: None,
            user_data: UserData::new(),
            password: None,
            owner: InstanceId("test".into()),
            lease_until: UnixMillis(i64::MAX),
        })
    }

    fn no_retry() -> Retry {
        Retry {
            attempts: 0,
            delay: Duration::ZERO,
        }
    }

    /// On a file database the writer runs on its own thread: jobs commit, a refused write
    /// comes back with its job, and after `stop` the pipeline answers "stopped".
    #[tokio::test]
    async fn the_sqlite_writer_thread_commits_refuses_and_stops() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = parley_store::open(&url).await.expect("open");
        let (pipeline, writer) =
            Pipeline::start(store.clone(), 8, no_retry(), Arc::default()).expect("start");

        let id: SessionId = "s-1".parse().expect("id");
        let done = pipeline.submit(vec![create(&id)]).await;
        done.await.expect("answered").expect("committed");
        assert!(store.load_session(&id).await.expect("load").is_some());

        let stale = Write::Append {
            session: id.clone(),
            epoch: Epoch(99),
            events: Vec::new(),
            last_event_id: EventId(5),
        };
        let failed = pipeline
            .submit(vec![stale])
            .await
            .await
            .expect("answered")
            .expect_err("a write at a stale epoch is fenced");
        assert_eq!(failed.writes.len(), 1, "the job's writes come back");

        writer.stop().await;
        let after = pipeline
            .submit(vec![create(&"s-2".parse().expect("id"))])
            .await;
        match after.await {
            Ok(Err(failed)) => assert_eq!(failed.writes.len(), 1),
            Err(_) => {} // dropped with the stopped writer: the same "stopped" to a session
            Ok(Ok(())) => panic!("a stopped writer committed"),
        }
        assert!(store
            .load_session(&"s-2".parse().expect("id"))
            .await
            .expect("load")
            .is_none());
    }
}
