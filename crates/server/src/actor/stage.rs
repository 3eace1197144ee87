//! Staging: the effects of the inputs applied since the last submission gathered into
//! one batch, and the store writes that make the batch durable.

use parley_core::session::EndInfo;
use parley_core::{Effect, Event, EventId, PartyId, Session};
use parley_store::{NewSession, Write};
use tokio::sync::oneshot;
use tracing::{trace, warn};

use super::batches::Batches;
use super::reply::Deferred;
use super::{Acked, CmdError};
use crate::policy::AutoSave;

/// How many recent transient events are kept for refreshes.
pub(super) const RECENT_MAX: usize = 256;
/// How many bytes of their text (typing previews can carry a whole message).
const RECENT_MAX_BYTES: usize = 64 * 1024;

#[derive(Default)]
pub(super) struct Batch {
    pub(super) create: Option<NewSession>,
    pub(super) kept: Vec<Event>,
    pub(super) annihilated: Vec<EventId>,
    /// Events with the parties that may see them live.
    pub(super) deliveries: Vec<(Event, Vec<PartyId>)>,
    pub(super) replies: Vec<Deferred>,
    /// When each request this batch answers arrived (for the reply delay).
    pub(super) requests: Vec<std::time::Instant>,
    pub(super) closed: Option<EndInfo>,
    /// The final transcript as `[log-filter-data]` lets the close's log line show it.
    pub(super) closed_log: Option<String>,
    /// Documents to remove from the store once the batch is durable.
    pub(super) drop_documents: Vec<String>,
    /// User data to merge into the session's (and interaction's).
    pub(super) user_data: parley_core::UserData,
    /// Highest event id allocated when the batch was staged.
    pub(super) upto: EventId,
    pub(super) dirty: bool,
}

/// The `file-id` of a `file-uploaded` notice.
fn uploaded_file_id(event: &Event) -> Option<u64> {
    match &event.body {
        parley_core::EventBody::Notice {
            text: Some(t),
            user_data,
            ..
        } if t == parley_core::session::FILE_UPLOADED => {
            user_data.get("file-id").and_then(|v| v.parse().ok())
        }
        _ => None,
    }
}

impl Batches {
    /// The one log line of a message: its text after masking, as much of it as
    /// `message-log-print-size` allows, at trace level; and a masking that failed closed.
    fn log_message(&self, session: &Session, event: &Event) {
        let Some(text) = event.masked_text() else {
            return;
        };
        trace!(session_id = %session.id(), event_id = event.id.0,
            text = %self.ctx.policy.log.message_text(text), "message");
        if let Some(failure) = event.pii.as_ref().and_then(|p| p.failure.as_deref()) {
            warn!(session_id = %session.id(), event_id = event.id.0, failure,
                "masking failed closed: the whole message is masked");
        }
    }

    /// Stages the creation of the session's records (its first batch).
    pub(super) fn create(&mut self, record: NewSession) {
        self.staged.create = Some(record);
        self.staged.dirty = true;
    }

    /// Stages the effects of one successful input and its reply.
    pub(super) fn stage_effects(
        &mut self,
        session: &Session,
        effects: Vec<Effect>,
        mut reply: Option<Deferred>,
    ) {
        let persist = self.ctx.policy.auto_save != AutoSave::Off;
        let mask_stored = session.masks_intermediate();
        for effect in effects {
            match effect {
                Effect::Emit {
                    event,
                    keep,
                    audience,
                } => {
                    if let Some(Deferred::Ack { ack, .. }) = &mut reply {
                        *ack = Some(Acked {
                            event_id: event.id,
                            duplicate: false,
                            file_id: uploaded_file_id(&event),
                        });
                    }
                    self.log_message(session, &event);
                    if keep && persist {
                        self.staged
                            .kept
                            .push(event.stored(mask_stored).into_owned());
                    }
                    if !keep {
                        // Transient events (typing) are not in the transcript; refreshes
                        // of connectionless clients find them here.
                        self.recent_bytes += event.text_bytes();
                        self.recent.push_back((event.clone(), audience.clone()));
                        while self.recent.len() > RECENT_MAX || self.recent_bytes > RECENT_MAX_BYTES
                        {
                            let Some((old, _)) = self.recent.pop_front() else {
                                break;
                            };
                            self.recent_bytes -= old.text_bytes();
                        }
                    }
                    self.ctx.counters.events.inc();
                    self.staged.deliveries.push((event, audience));
                }
                Effect::Annihilate { id } => {
                    if persist {
                        self.staged.annihilated.push(id);
                    }
                }
                Effect::Duplicate { id } => {
                    if let Some(Deferred::Ack { ack, .. }) = &mut reply {
                        *ack = Some(Acked {
                            event_id: id,
                            duplicate: true,
                            file_id: None,
                        });
                    }
                }
                Effect::Closed(end) => {
                    self.staged.closed = Some(end);
                    self.closing = true;
                }
                Effect::DropDocument { document_id } => {
                    self.staged.drop_documents.push(document_id);
                }
                // Answered by the actor directly (downloads change no stored state).
                Effect::ServeDocument(_) => {}
            }
        }
        if let Some(Deferred::Info { sub: Some(sub), .. }) = &reply {
            self.subscribe(sub.clone());
        }
        if let Some(r) = reply {
            self.staged.replies.push(r);
            self.staged.requests.push(self.arrived);
        }
        self.staged.upto = session.last_event_id();
        self.staged.dirty = true;
    }

    /// Stages a user-data merge, replied to once durable.
    pub(super) fn stage_user_data(
        &mut self,
        data: parley_core::UserData,
        reply: oneshot::Sender<Result<(), CmdError>>,
    ) {
        self.staged.user_data.extend(data);
        self.staged.replies.push(Deferred::Done { reply });
        self.staged.requests.push(self.arrived);
        self.staged.dirty = true;
    }

    /// The store writes of `batch` (its kept events move into them); `final_transcript`
    /// is the whole transcript when the batch closes the session.
    pub(super) fn writes(
        &self,
        session: &Session,
        batch: &mut Batch,
        final_transcript: Option<Vec<Event>>,
    ) -> Vec<Write> {
        let mut writes = Vec::new();
        if let Some(record) = &batch.create {
            writes.push(Write::CreateSession(record.clone()));
        }
        if self.ctx.policy.auto_save != AutoSave::Off {
            if !batch.kept.is_empty() || !batch.deliveries.is_empty() {
                writes.push(Write::Append {
                    session: session.id().clone(),
                    epoch: self.epoch,
                    events: std::mem::take(&mut batch.kept),
                    last_event_id: batch.upto,
                });
            }
            if !batch.annihilated.is_empty() {
                writes.push(Write::Annihilate {
                    session: session.id().clone(),
                    epoch: self.epoch,
                    ids: batch.annihilated.clone(),
                });
            }
        }
        if !batch.user_data.is_empty() {
            writes.push(Write::UpdateUserData {
                session: session.id().clone(),
                epoch: self.epoch,
                user_data: batch.user_data.clone(),
            });
        }
        if let (Some(end), Some(transcript)) = (batch.closed, final_transcript) {
            batch.closed_log = self.ctx.policy.log.transcript(&transcript);
            writes.push(Write::Close {
                session: session.id().clone(),
                epoch: self.epoch,
                end,
                transcript,
                last_event_id: batch.upto,
            });
        }
        writes
    }
}
