//! The facts a session reports to the contact center once they are durable: parties
//! joining and leaving, and the end (routing follows agents and chats by them; webhooks
//! announce them).

use parley_core::session::EndInfo;
use parley_core::{Event, EventBody, PartyId, Session};

use crate::center::SessionFact;
use crate::state::AppState;

/// Reports the joins and departures among `events`, then the end if `closed`.
pub(super) fn report(
    state: &AppState,
    session: &Session,
    events: &[(Event, Vec<PartyId>)],
    closed: Option<&EndInfo>,
) {
    for (event, _) in events {
        let Some(party) = session.party(&event.from) else {
            continue;
        };
        let fact = match &event.body {
            EventBody::NewParty {
                nickname,
                party_type,
                person_id,
                ..
            } => SessionFact::Joined {
                interaction: session.id().clone(),
                party: event.from.clone(),
                nickname: nickname.clone(),
                party_type: *party_type,
                person_id: person_id.clone(),
                visibility: party.visibility,
            },
            EventBody::PartyLeft {
                reason,
                after_action,
                ..
            } => SessionFact::Left {
                interaction: session.id().clone(),
                party: event.from.clone(),
                nickname: party.nickname.clone(),
                party_type: party.party_type,
                person_id: party.person_id.clone(),
                reason: *reason,
                after_action: *after_action,
            },
            _ => continue,
        };
        state.center.session_fact(fact);
    }
    if let Some(end) = closed {
        state.center.session_fact(SessionFact::Ended {
            interaction: session.id().clone(),
            end: *end,
        });
    }
}
