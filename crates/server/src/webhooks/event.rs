//! The events: what a receiver gets (`docs/webhooks.md` is the contract), and the
//! envelope each is queued in, made once at `emit`.

use axum::body::Bytes;
use parley_core::{SessionId, UnixMillis};
use serde::Serialize;

/// What happened to an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WebhookKind {
    /// `interaction.submitted`: a chat entered its first queue.
    #[serde(rename = "interaction.submitted")]
    Submitted,
    /// `interaction.queued`: a chat went back to a queue (transfer, re-queue).
    #[serde(rename = "interaction.queued")]
    Queued,
    /// `interaction.offered`: offered to an agent.
    #[serde(rename = "interaction.offered")]
    Offered,
    /// `interaction.accepted`: an agent accepted it.
    #[serde(rename = "interaction.accepted")]
    Accepted,
    /// `interaction.rejected`: an agent rejected it or let the offer time out.
    #[serde(rename = "interaction.rejected")]
    Rejected,
    /// `party.joined`: a party joined the chat.
    #[serde(rename = "party.joined")]
    PartyJoined,
    /// `party.left`: a party left the chat.
    #[serde(rename = "party.left")]
    PartyLeft,
    /// `interaction.ended`: the chat session is over.
    #[serde(rename = "interaction.ended")]
    Ended,
    /// `interaction.stopped`: processing stopped (done, or the stop policy).
    #[serde(rename = "interaction.stopped")]
    Stopped,
}

impl WebhookKind {
    /// The wire name (the body's `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Submitted => "interaction.submitted",
            WebhookKind::Queued => "interaction.queued",
            WebhookKind::Offered => "interaction.offered",
            WebhookKind::Accepted => "interaction.accepted",
            WebhookKind::Rejected => "interaction.rejected",
            WebhookKind::PartyJoined => "party.joined",
            WebhookKind::PartyLeft => "party.left",
            WebhookKind::Ended => "interaction.ended",
            WebhookKind::Stopped => "interaction.stopped",
        }
    }
}

/// One event to deliver.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: WebhookKind,
    /// The interaction (= chat session id).
    pub interaction_id: SessionId,
    /// When it happened.
    pub at: UnixMillis,
    /// Details, per kind.
    pub data: serde_json::Value,
}

/// The body as sent: the event with its id first.
#[derive(Serialize)]
pub(super) struct Body<'a> {
    pub(super) id: &'a str,
    #[serde(flatten)]
    pub(super) event: &'a WebhookEvent,
}

/// An event ready to send: its id and serialised body, made once at `emit` and shared by
/// every URL's queue and every retry, so receivers see the same id and bytes each time.
pub(super) struct Envelope {
    pub(super) id: String,
    pub(super) kind: WebhookKind,
    pub(super) body: Bytes,
}

/// A fresh event id: a random (version 4) UUID from the OS CSPRNG, so ids from several
/// instances never collide and receivers can de-duplicate on it.
pub(super) fn new_event_id() -> String {
    let mut b = [0u8; 16];
    // The OS CSPRNG failing leaves no safe way to make ids; as in `crate::secrets`.
    getrandom::fill(&mut b).expect("the OS CSPRNG is unavailable");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_v4_uuids_and_differ() {
        let a = new_event_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_ne!(a, new_event_id());
    }

    #[test]
    fn kinds_serialise_to_their_wire_names() {
        for kind in [
            WebhookKind::Submitted,
            WebhookKind::Queued,
            WebhookKind::Offered,
            WebhookKind::Accepted,
            WebhookKind::Rejected,
            WebhookKind::PartyJoined,
            WebhookKind::PartyLeft,
            WebhookKind::Ended,
            WebhookKind::Stopped,
        ] {
            let json = serde_json::to_value(kind).expect("serialises");
            assert_eq!(json, serde_json::Value::from(kind.as_str()));
        }
    }

    #[test]
    fn the_body_has_the_documented_shape() {
        let event = WebhookEvent {
            kind: WebhookKind::Accepted,
            interaction_id: "00048aAPEQJ8000U".parse().expect("id"),
            at: UnixMillis(1_700_000_000_123),
            data: serde_json::json!({"agent": "alice"}),
        };
        let body = serde_json::to_string(&Body {
            id: "e1",
            event: &event,
        })
        .expect("json");
        assert_eq!(
            body,
            r#"{"id":"e1","type":"interaction.accepted","interactionId":"00048aAPEQJ8000U","at":1700000000123,"data":{"agent":"alice"}}"#
        );
    }
}
