//! What the two HTTP customers (flex, GMS) share: a refresh loop that reports when the
//! chat ends, and a bounded set of sends in flight.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::stats::Stats;

/// Sends in flight per customer before the script waits for one to finish.
const MAX_INFLIGHT: usize = 64;

/// The refresh loop and the sends of one HTTP customer.
pub(crate) struct Background {
    poller: JoinHandle<()>,
    ended: watch::Receiver<bool>,
    sends: JoinSet<()>,
    stats: Arc<Stats>,
}

impl Background {
    /// Takes over a running refresh loop and its end signal; counts the customer live.
    pub(crate) fn new(
        poller: JoinHandle<()>,
        ended: watch::Receiver<bool>,
        stats: Arc<Stats>,
    ) -> Self {
        stats.c.conns_live.inc();
        Background {
            poller,
            ended,
            sends: JoinSet::new(),
            stats,
        }
    }

    /// The run's statistics.
    pub(crate) fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Runs a send in its own task, waiting first when too many are in flight.
    pub(crate) async fn spawn_send(&mut self, send: impl Future<Output = ()> + Send + 'static) {
        while self.sends.try_join_next().is_some() {}
        if self.sends.len() >= MAX_INFLIGHT {
            let _ = self.sends.join_next().await;
        }
        self.sends.spawn(send);
    }

    /// Waits until the refresh loop reports the chat ended.
    pub(crate) async fn wait_end(&mut self, timeout: Duration, who: &str) -> anyhow::Result<()> {
        tokio::time::timeout(timeout, self.ended.wait_for(|e| *e))
            .await
            .map_err(|_| anyhow!("{who} customer never saw the chat end"))?
            .map_err(|_| anyhow!("{who} refresh loop stopped"))?;
        Ok(())
    }

    /// Stops the refresh loop and waits (bounded) for sends still in flight.
    pub(crate) async fn close(mut self) {
        self.poller.abort();
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while self.sends.join_next().await.is_some() {}
        })
        .await;
        self.sends.abort_all();
        self.stats.c.conns_live.dec();
    }
}
