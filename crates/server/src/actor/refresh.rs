//! Answering refreshes of connectionless customers (flex, GMS v2): the durable events
//! from a position that a party may see, kept and transient alike, rendered for its front
//! door. A live session answers from its actor; a closed one from the final transcript
//! in its interaction record, so a customer who polls after the agent closed the chat
//! still gets the last lines and `chatEnded`.

use std::collections::VecDeque;

use parley_core::{Event, EventBody, EventId, KeyHash, PartyId, Session, SessionId};
use parley_proto::ErrorCode;
use parley_store::InteractionStore;

use super::{CmdError, Format, Refreshed, Rendered};
use crate::basic::map;
use crate::state::AppState;

/// The events from position `from` (1 = all, 0 = none) that `party` may see, up to
/// `cap` (the durable high-water mark; for a party that has left, its leave).
pub(super) fn render(
    session: &Session,
    recent: &VecDeque<(Event, Vec<PartyId>)>,
    committed: EventId,
    party: &PartyId,
    from: EventId,
    format: Format,
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
    let monitored = viewer.and_then(|v| map::monitored_for(session, v));
    let Some(viewer) = viewer.filter(|_| from.0 > 0) else {
        // Position 0 asks for no events: just where the transcript ends.
        return Refreshed {
            events: match format {
                Format::Wire => Rendered::Wire(Vec::new()),
                Format::Gms => Rendered::Gms(Vec::new()),
            },
            next_position: cap.0 + 1,
            chat_ended,
            monitored,
        };
    };
    let after = EventId(from.0 - 1);
    let mut events: Vec<&Event> = session
        .replay_for(party, after)
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
    let events = match format {
        Format::Wire => Rendered::Wire(
            events
                .into_iter()
                .map(|e| map::wire_event(session, e, viewer))
                .collect(),
        ),
        Format::Gms => Rendered::Gms(
            events
                .into_iter()
                .map(|e| crate::gms::map::message(&session.project(e, viewer)))
                .collect(),
        ),
    };
    Refreshed {
        events,
        next_position,
        chat_ended,
        monitored,
    }
}

/// A refresh of a session that has ended, from its interaction record.
pub async fn closed_refresh(
    state: &AppState,
    id: &SessionId,
    party: &PartyId,
    key: &KeyHash,
    from: EventId,
    format: Format,
) -> Result<Refreshed, CmdError> {
    let not_found = || CmdError::new(ErrorCode::SessionNotFound, "no such chat session");
    let record = state
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
        state.policy.session.clone(),
        transcript,
        end,
    );
    view.check_key(party, key)?;
    let upto = view.last_event_id();
    Ok(render(&view, &VecDeque::new(), upto, party, from, format))
}
