//! The periodic KPI counter log of `[health-service]`: every `log-output-timeout`
//! seconds one line at info with the counters `log-output-content` picks, printed always
//! or, with `log-output-proviso = update`, only when a counter changed since the last
//! print. It reads the counters exactly as `/Counters` does ([`super::counters::readings`]),
//! with its own idea of what is new. Also the Prometheus registry's upkeep, which every
//! instance needs whether it logs counters or not.

use std::time::Duration;

use serde_json::Value;
use tokio::time::MissedTickBehavior;

use crate::config::LogProviso;
use crate::counters::view::{self, Reader};
use crate::state::AppState;

/// How often the histograms' sample buffers are folded into their buckets.
const UPKEEP: Duration = Duration::from_secs(5);

/// Runs until shutdown: the counter log (when `log-output-timeout` is not 0).
pub async fn run(state: AppState) {
    let hs = state.config.health_service.clone();
    if hs.log_output_timeout_s == 0 {
        return;
    }
    let period = Duration::from_secs(hs.log_output_timeout_s);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = state.shutdown.cancelled() => return,
        }
        let raw = super::counters::readings(&state);
        let (shown, changed) = state
            .counters
            .view
            .read(&raw, hs.log_output_content, Reader::Log);
        if hs.log_output_proviso == LogProviso::Update && !changed {
            continue;
        }
        let counters = Value::Object(view::to_json(&shown));
        tracing::info!(target: "parley_server::kpi", %counters, "KPI counters");
    }
}

/// Runs until shutdown: the Prometheus registry's upkeep.
pub async fn upkeep(state: AppState) {
    let mut ticker = tokio::time::interval(UPKEEP);
    loop {
        tokio::select! {
            _ = ticker.tick() => state.counters.metrics.upkeep(),
            () = state.shutdown.cancelled() => return,
        }
    }
}
