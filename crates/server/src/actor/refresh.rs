//! Answering refreshes of connectionless customers (flex, GMS v2): the durable events
//! from a position that a party may see, kept and transient alike, projected for it
//! (each front door renders them). A live session answers from its actor; a closed one from the final transcript
//! in its interaction record, so a customer who polls after the agent closed the chat
//! still gets the last lines and `chatEnded`.

use std::collections::VecDeque;

use parley_core::{Event, EventBody, EventId, KeyHash, PartyId, Session, SessionId};
use parley_proto::ErrorCode;
use parley_store::InteractionStore;

use super::Sessions;
use super::{CmdError, Refreshed};

/// The events from position `from` (1 = all, 0 = none) that `party` may see, up to
/// `cap` (the durable high-water mark; for a party that has left, its leave). `older` is
/// what the store holds of the range [`Session::older_range`] names for `from - 1`.
pub(super) fn render(
    session: &Session,
    recent: &VecDeque<(Event, Vec<PartyId>)>,
    committed: EventId,
    party: &PartyId,
    from: EventId,
    older: &[Event],
) -> Refreshed {
    let viewer = session.party(party);
    let present = viewer.is_some_and(|p| p.present);
    let mut cap = committed;
    if !present {
        if let Some(left) = session
            .transcript()
            .iter()
            .rev()
            .find(|e| &e.from == party && matches!(e.body, EventBody::PartyLeft { .. }))
        {
            cap = cap.min(left.id);
        }
    }
    let chat_ended = session.end_info().is_some() || !present;
    let monitored = viewer.and_then(|v| session.monitored_for(v));
    let Some(viewer) = viewer.filter(|_| from.0 > 0) else {
        // Position 0 asks for no events: just where the transcript ends.
        return Refreshed {
            events: Vec::new(),
            next_position: cap.0 + 1,
            chat_ended,
            monitored,
        };
    };
    let after = EventId(from.0 - 1);
    let mut events: Vec<&Event> = session
        .replay_for(party, after, older)
        .into_iter()
        .take_while(|e| e.id <= cap)
        .collect();
    events.extend(
        recent
            .iter()
            .filter(|(e, audience)| e.id > after && e.id <= cap && audience.contains(party))
            .map(|(e, _)| e),
    );
    events.sort_by_key(|e| e.id);
    let next_position = events.last().map_or(from.0, |e| e.id.0 + 1);
    let events = events
        .into_iter()
        .map(|e| session.project(e, viewer))
        .collect();
    Refreshed {
        events,
        next_position,
        chat_ended,
        monitored,
    }
}

impl Sessions {
    /// A refresh of a session that has ended, from its interaction record.
    pub async fn closed_refresh(
        &self,
        id: &SessionId,
        party: &PartyId,
        key: &KeyHash,
        from: EventId,
    ) -> Result<Refreshed, CmdError> {
        let not_found = || CmdError::new(ErrorCode::SessionNotFound, "no such chat session");
        let record = self
            .store
            .interaction(id)
            .await
            .map_err(|e| {
                tracing::error!(session_id = %id, error = %e, "could not read an interaction");
                CmdError::new(ErrorCode::Internal, "the chat could not be read")
            })?
            .ok_or_else(not_found)?;
        let (Some(end), Some(transcript)) = (record.end, record.transcript) else {
            // Not over: the session is between owners (a restart, another instance).
            return Err(CmdError::new(
                ErrorCode::Unavailable,
                "the session is moving; refresh again",
            ));
        };
        let view = Session::closed_view(
            id.clone(),
            record.created_at,
            self.policy.session.clone(),
            transcript,
            end,
        );
        view.check_key(party, key)?;
        let upto = view.last_event_id();
        // A closed view holds its whole transcript in memory.
        Ok(render(&view, &VecDeque::new(), upto, party, from, &[]))
    }
}
