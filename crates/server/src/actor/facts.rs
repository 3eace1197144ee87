//! The facts a session reports to the contact center once they are durable: parties
//! joining and leaving, and the end (routing follows agents and chats by them; webhooks
//! announce them).

use parley_core::session::EndInfo;
use parley_core::{Event, EventBody, PartyId, PartyType, Session, SessionId, UserData, Visibility};

use super::Sessions;

/// What a session reports once it is durable.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum SessionFact {
    /// A party joined.
    Joined {
        /// Which session.
        interaction: SessionId,
        /// The party.
        party: PartyId,
        /// Its nickname.
        nickname: String,
        /// Its type.
        party_type: PartyType,
        /// Its agent login.
        person_id: Option<String>,
        /// How it takes part.
        visibility: Visibility,
    },
    /// A party left.
    Left {
        /// Which session.
        interaction: SessionId,
        /// The party.
        party: PartyId,
        /// Its nickname.
        nickname: String,
        /// Its type.
        party_type: PartyType,
        /// Its agent login.
        person_id: Option<String>,
        /// Why.
        reason: parley_core::LeftReason,
        /// What it asked for.
        after_action: parley_core::AfterAction,
    },
    /// This instance restored the session (a client came back to it, or the orphan
    /// sweep took it over): routing puts it back in its queue if it was waiting, or
    /// gives it back to the agent that was in it.
    Restored {
        /// Which session.
        interaction: SessionId,
        /// Its customer's nickname (the first party).
        customer: String,
        /// The logins of the visible human agents that were in the chat when its
        /// previous owner stopped (the restoration marked them gone), in join order: the
        /// transcript, durable with every acknowledged line, says who was handling it.
        agents: Vec<String>,
    },
    /// The session is over.
    Ended {
        /// Which session.
        interaction: SessionId,
        /// The end facts.
        end: parley_core::session::EndInfo,
        /// The reporting statistics attached to the interaction's user data
        /// (`attach-session-statistics`).
        #[serde(default)]
        statistics: UserData,
    },
}

/// Reports the joins and departures among `events`, then the end if `closed`, with the
/// `statistics` attached to the interaction.
pub(super) fn report(
    ctx: &Sessions,
    session: &Session,
    events: &[(Event, Vec<PartyId>)],
    closed: Option<&EndInfo>,
    statistics: &UserData,
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
        // The receiver lives as long as the process.
        let _ = ctx.facts.send(fact);
    }
    if let Some(end) = closed {
        let _ = ctx.facts.send(SessionFact::Ended {
            interaction: session.id().clone(),
            end: *end,
            statistics: statistics.clone(),
        });
    }
}
