//! The statistics of chats driven through the real session state machine, pinned against
//! numbers computed by hand from each scenario's timeline.
//!
//! Layout: this file holds the fixture (`Chat`: a session, a clock in seconds since its
//! creation, restoration as the shell does it); `scenarios.rs` the hand-computed chats
//! (conference, transfer, coaching, monitoring, bots, "a few messages in a row", idle);
//! `ends.rs` the end reasons and the restoration corner case; `keys.rs` which keys each
//! `attach-session-statistics` value attaches; `props.rs` the property test.

mod ends;
mod keys;
mod props;
mod scenarios;

use super::{compute, ReportInput, Statistics};
use crate::event::{Event, SET_PARTY_STYLE_KEY};
use crate::ids::{EventId, PartyId, SessionId, UnixMillis};
use crate::party::{AfterAction, ClientVersion, PartyType, Protocol, UserData, Visibility};
use crate::session::{
    Effect, EndInfo, Input, JoinRequest, SendBody, SendRequest, Session, SessionSettings, Stored,
};
use crate::LeftReason;

/// The instant every chat is created at.
const T0: UnixMillis = UnixMillis(1_700_000_000_000);

fn pid(s: &str) -> PartyId {
    s.parse().expect("valid party id")
}

/// How a party joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum As {
    Customer,
    Agent,
    Supervisor,
    /// An agent coaching (`VIP`).
    Coach,
    /// A supervisor monitoring silently (`INT`).
    Monitor,
    Bot,
}

fn join_request(id: &str, how: As, login: Option<&str>) -> JoinRequest {
    let (party_type, visibility) = match how {
        As::Customer => (PartyType::Client, Visibility::All),
        As::Agent | As::Bot => (PartyType::Agent, Visibility::All),
        As::Supervisor => (PartyType::Supervisor, Visibility::All),
        As::Coach => (PartyType::Agent, Visibility::Vip),
        As::Monitor => (PartyType::Supervisor, Visibility::Int),
    };
    let mut user_data = UserData::new();
    if how == As::Bot {
        user_data.insert(SET_PARTY_STYLE_KEY.to_owned(), "BOT".to_owned());
    }
    JoinRequest {
        party: pid(id),
        nickname: format!("Nick-{id}"),
        party_type,
        visibility,
        protocol: Protocol::Basic,
        client_version: ClientVersion::LATEST,
        key_hash: None,
        person_id: party_type
            .is_staff()
            .then(|| login.unwrap_or(id).to_owned()),
        user_data,
    }
}

/// A chat under test: the session, the current instant, and every event it emitted
/// (what the shell would have stored).
struct Chat {
    s: Session,
    now: UnixMillis,
    log: Vec<Effect>,
}

impl Chat {
    /// A chat `cust` started at `T0`, with this initial user data.
    fn started_with(data: &[(&str, &str)]) -> Chat {
        let mut req = join_request("cust", As::Customer, None);
        for (k, v) in data {
            req.user_data.insert((*k).to_owned(), (*v).to_owned());
        }
        Chat::created_by(req)
    }

    /// A chat `cust` started at `T0`.
    fn started() -> Chat {
        Chat::started_with(&[])
    }

    fn created_by(req: JoinRequest) -> Chat {
        let settings = SessionSettings {
            customer_join_by_id: true,
            ..SessionSettings::default()
        };
        let (s, log) = Session::create("chat-1".parse().expect("id"), T0, settings, None, req)
            .expect("created");
        Chat { s, now: T0, log }
    }

    /// Moves the clock to `secs` seconds after creation.
    fn at(&mut self, secs: u64) -> &mut Chat {
        self.now = T0.plus_ms(secs * 1000);
        self
    }

    fn input(&mut self, input: Input) -> &mut Chat {
        let effects = self
            .s
            .handle(self.now, input.clone())
            .unwrap_or_else(|e| panic!("{input:?} refused: {e}"));
        self.log.extend(effects);
        self
    }

    fn join(&mut self, id: &str, how: As) -> &mut Chat {
        self.input(Input::Join(join_request(id, how, None)))
    }

    /// Joins under an agent login other than the id (the same agent with a new user id).
    fn join_as_login(&mut self, id: &str, how: As, login: &str) -> &mut Chat {
        self.input(Input::Join(join_request(id, how, Some(login))))
    }

    fn send(
        &mut self,
        from: &str,
        text: &str,
        visibility: Visibility,
        to: Option<&str>,
    ) -> &mut Chat {
        self.input(Input::Send(SendRequest {
            from: pid(from),
            visibility,
            receiver: to.map(pid),
            client_msg_id: None,
            body: SendBody::Message {
                text: text.to_owned(),
                message_type: None,
            },
        }))
    }

    /// A message every party sees.
    fn say(&mut self, from: &str, text: &str) -> &mut Chat {
        self.send(from, text, Visibility::All, None)
    }

    fn release(&mut self, id: &str, after_action: AfterAction) -> &mut Chat {
        self.input(Input::Release {
            party: pid(id),
            after_action,
            text: None,
        })
    }

    fn remove(&mut self, id: &str, reason: LeftReason) -> &mut Chat {
        self.input(Input::Remove {
            party: pid(id),
            reason,
            asker: None,
        })
    }

    /// What the shell stored: the kept events, read confirmations annihilated.
    fn stored(&self) -> Stored {
        let mut events: Vec<Event> = Vec::new();
        let mut last = EventId(0);
        for effect in &self.log {
            match effect {
                Effect::Emit { event, keep, .. } => {
                    last = last.max(event.id);
                    if *keep {
                        events.push(event.clone());
                    }
                }
                Effect::Annihilate { id } => events.retain(|e| e.id != *id),
                _ => {}
            }
        }
        Stored {
            id: self.s.id().clone(),
            created_at: self.s.created_at(),
            password: None,
            events,
            last_event_id: last,
        }
    }

    /// The instance fails and another restores the session from the store, now.
    fn restore(&mut self) -> &mut Chat {
        let (s, effects) = Session::restore(self.stored(), self.s.settings().clone(), self.now);
        self.s = s;
        self.log.extend(effects);
        self
    }

    /// A party the restoration removed comes back.
    fn reattach(&mut self, id: &str) -> &mut Chat {
        self.input(Input::Attach { party: pid(id) })
    }

    fn end(&self) -> EndInfo {
        *self.s.end_info().expect("the chat is over")
    }

    /// The statistics of the finished chat, from the stored transcript (as the shell
    /// computes them), with an inactivity threshold.
    fn stats_idle(&self, idle_threshold_ms: Option<u64>) -> Statistics {
        let session: SessionId = self.s.id().clone();
        let input = ReportInput {
            session: &session,
            created_at: self.s.created_at(),
            end: self.end(),
            tenant: "Environment",
            language: None,
            idle_threshold_ms,
        };
        compute(&input, &self.stored().events)
    }

    fn stats(&self) -> Statistics {
        self.stats_idle(None)
    }
}

/// Seconds as milliseconds.
fn s(secs: u64) -> u64 {
    secs * 1000
}

/// A tally of `count` durations summing to `total` seconds, the longest `max`.
fn tally(count: u64, total: u64, max: u64) -> super::Tally {
    super::Tally {
        count,
        total_ms: s(total),
        max_ms: s(max),
    }
}

fn texts(count: u64, chars: u64) -> super::MessageTally {
    super::MessageTally { count, chars }
}
