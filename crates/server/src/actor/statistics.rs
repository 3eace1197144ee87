//! The reporting statistics attached to an interaction's user data when its chat ends
//! (`attach-session-statistics`, docs/reporting.md): computed by the core from the whole
//! final transcript — the part that left memory read back from the store — and written in
//! the batch that closes the session, so they are durable before anything (routing's stop
//! policy, webhooks, desktops) hears of the end.

use parley_core::session::EndInfo;
use parley_core::stats::{self, ReportInput};
use parley_core::{Event, Session};

use super::batches::Batches;
use super::stage::Batch;

impl Batches {
    /// Computes the statistics of the session `batch` closes from its final `transcript`
    /// and stages them: merged into the interaction's user data, and kept for the end fact.
    pub(super) fn attach_statistics(
        &self,
        session: &Session,
        end: EndInfo,
        transcript: &[Event],
        batch: &mut Batch,
    ) {
        let reporting = self.ctx.policy.reporting;
        let input = ReportInput {
            session: session.id(),
            created_at: session.created_at(),
            end,
            tenant: &self.tenant,
            // Sessions have no language of their own yet (`ConfigureSession`); the core
            // reports the initial user data's GCTI_LanguageName, as the seed says.
            language: None,
            idle_threshold_ms: reporting.idle_threshold_ms,
        };
        let attached = stats::compute(&input, transcript).attach(reporting.attach);
        batch.user_data.extend(attached.clone());
        batch.statistics = attached;
    }
}
