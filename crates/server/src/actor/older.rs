//! The part of a live transcript that has left memory (see the core's `session/window.rs`):
//! read back from the store for the readers that need it — a join or resume from far back,
//! a refresh from an old position, the final transcript — and handed to the core, which
//! decides what each reader sees. Each read blocks only this session's actor, so nothing
//! of the session moves while it runs and the answer stays in order with live delivery.

use std::time::Duration;

use parley_core::{Event, EventId, Session};
use parley_proto::ErrorCode;
use parley_store::{StoreError, TranscriptStore};
use tracing::error;

use super::batches::Batches;
use super::CmdError;
use crate::policy::AutoSave;

/// Pauses between attempts to read the stored part of a transcript for its final record.
const CLOSE_READ_PAUSES_MS: [u64; 4] = [100, 500, 1_000, 2_000];

impl Batches {
    /// The stored events a reader starting after `after` needs besides memory's.
    pub(super) async fn older(
        &self,
        session: &Session,
        after: EventId,
    ) -> Result<Vec<Event>, CmdError> {
        let Some((after, upto)) = session.older_range(after) else {
            return Ok(Vec::new());
        };
        self.ctx
            .store
            .events_between(session.id(), after, upto)
            .await
            .map_err(|e| {
                error!(error = %e, "could not read the saved part of a transcript");
                CmdError::new(ErrorCode::Internal, "the chat's history could not be read")
            })
    }

    /// The whole transcript for the final record. The store is retried for a few seconds
    /// (the session is closing; its clients wait for the close anyway). If it still fails,
    /// the record gets what memory holds and the error is logged: every line stays in the
    /// store's events, which the record's transcript only copies.
    pub(super) async fn final_transcript(&self, session: &Session) -> Vec<Event> {
        let Some((after, upto)) = session.older_range(EventId(0)) else {
            return session.full_transcript(Vec::new());
        };
        let mut last: Option<StoreError> = None;
        for pause in std::iter::once(0).chain(CLOSE_READ_PAUSES_MS) {
            if pause > 0 {
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            match self
                .ctx
                .store
                .events_between(session.id(), after, upto)
                .await
            {
                Ok(older) => return session.full_transcript(older),
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            error!(error = %e, trimmed_upto = upto.0,
                "the final transcript holds only the events in memory; the earlier ones stay in the events table");
            self.ctx.counters.store_failures.inc();
        }
        session.full_transcript(Vec::new())
    }

    /// Lets the stored messages and notices leave memory once the window is full. Only
    /// what is committed may go, and nothing when nothing is stored (`transcript-auto-save
    /// = off`: the close writes the whole transcript from memory).
    pub(super) fn trim(&self, session: &mut Session) {
        if self.ctx.policy.auto_save != AutoSave::Off {
            session.trim(self.committed);
        }
    }
}
