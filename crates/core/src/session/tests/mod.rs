//! Scenario tests of the session state machine, one per rule, named after the rule.
//!
//! Layout: this file holds the named fixture (`Fx`) and request builders; the siblings
//! group the rules: `join.rs` (party types, bots, join visibility, session password),
//! `visibility.rs` (audiences, direct events, client versions), `notices.rs` (typing,
//! pushed URL, nickname, read confirmation), `leave.rs` (after-actions, close rules, end
//! facts), `detach.rs` (detach/attach/tick), `ids.rs` (ids, time, idempotency,
//! refusals), `restore.rs` (restoration) and `view.rs` (what one viewer sees of an
//! event and of the session).

mod detach;
mod esp;
mod ids;
mod join;
mod leave;
mod masking;
mod notices;
mod restore;
mod send;
mod view;
mod visibility;
mod window;

use super::{Effect, Input, JoinRequest, SendBody, SendRequest, Session, SessionSettings, Stored};
use crate::event::{Event, EventBody, NoticeType, SESSION_PASSWORD_KEY, SET_PARTY_STYLE_KEY};
use crate::ids::{ClientMsgId, EventId, PartyId, SessionId, UnixMillis};
use crate::party::{
    AfterAction, ClientVersion, KeyHash, PartyType, Protocol, UserData, Visibility,
};
use crate::secret::SessionPassword;
use crate::CoreError;

/// The instant every fixture starts at.
const T0: UnixMillis = UnixMillis(1_700_000_000_000);

fn pid(s: &str) -> PartyId {
    s.parse().expect("valid party id")
}

fn cid(s: &str) -> ClientMsgId {
    s.parse().expect("valid client message id")
}

/// A join request with sensible defaults: nickname `<Id>`, basic protocol, the latest
/// client version, a key hash derived from the id.
fn joiner(id: &str, party_type: PartyType, visibility: Visibility) -> JoinRequest {
    let mut key = [0u8; 32];
    key[..id.len().min(32)].copy_from_slice(&id.as_bytes()[..id.len().min(32)]);
    JoinRequest {
        party: pid(id),
        nickname: format!("Nick-{id}"),
        party_type,
        visibility,
        protocol: Protocol::Basic,
        client_version: ClientVersion::LATEST,
        key_hash: Some(KeyHash(key)),
        person_id: party_type.is_staff().then(|| format!("login-{id}")),
        user_data: UserData::new(),
    }
}

fn customer(id: &str) -> JoinRequest {
    joiner(id, PartyType::Client, Visibility::All)
}
fn agent(id: &str) -> JoinRequest {
    joiner(id, PartyType::Agent, Visibility::All)
}
fn supervisor(id: &str) -> JoinRequest {
    joiner(id, PartyType::Supervisor, Visibility::All)
}
/// A supervisor who monitors silently (joins `INT`).
fn monitor(id: &str) -> JoinRequest {
    joiner(id, PartyType::Supervisor, Visibility::Int)
}
/// An agent who coaches (joins `VIP`).
fn coach(id: &str) -> JoinRequest {
    joiner(id, PartyType::Agent, Visibility::Vip)
}
/// An agent marked as a bot.
fn bot(id: &str) -> JoinRequest {
    with_data(agent(id), SET_PARTY_STYLE_KEY, "BOT")
}
fn with_version(mut req: JoinRequest, v: u16) -> JoinRequest {
    req.client_version = ClientVersion::try_from(v).expect("101..=106");
    req
}
fn with_data(mut req: JoinRequest, key: &str, value: &str) -> JoinRequest {
    req.user_data.insert(key.to_owned(), value.to_owned());
    req
}
fn with_password(req: JoinRequest, pw: &str) -> JoinRequest {
    with_data(req, SESSION_PASSWORD_KEY, pw)
}

/// A message request (visibility `ALL`, not direct, no client id).
fn msg(from: &str, text: &str) -> SendRequest {
    SendRequest {
        from: pid(from),
        visibility: Visibility::All,
        receiver: None,
        client_msg_id: None,
        body: SendBody::Message {
            text: text.to_owned(),
            message_type: None,
        },
    }
}

/// A notice request (visibility `ALL`, not direct, no client id, no user data).
fn notice(from: &str, notice_type: NoticeType, text: Option<&str>) -> SendRequest {
    SendRequest {
        from: pid(from),
        visibility: Visibility::All,
        receiver: None,
        client_msg_id: None,
        body: SendBody::Notice {
            notice_type,
            text: text.map(str::to_owned),
            user_data: UserData::new(),
        },
    }
}

/// A read confirmation with the given `last-event-id` value.
fn read_confirm(from: &str, last: &str) -> SendRequest {
    let mut req = notice(
        from,
        NoticeType::SysCommand,
        Some(crate::event::READ_CONFIRM),
    );
    if let SendBody::Notice { user_data, .. } = &mut req.body {
        user_data.insert(crate::event::LAST_EVENT_ID_KEY.to_owned(), last.to_owned());
    }
    req
}

fn vis(mut req: SendRequest, v: Visibility) -> SendRequest {
    req.visibility = v;
    req
}
fn to(mut req: SendRequest, receiver: &str) -> SendRequest {
    req.receiver = Some(pid(receiver));
    req
}
fn with_cid(mut req: SendRequest, id: &str) -> SendRequest {
    req.client_msg_id = Some(cid(id));
    req
}

fn release(party: &str, after_action: AfterAction) -> Input {
    Input::Release {
        party: pid(party),
        after_action,
        text: None,
    }
}

fn detach(party: &str) -> Input {
    Input::Detach { party: pid(party) }
}

fn attach(party: &str) -> Input {
    Input::Attach { party: pid(party) }
}

/// The events of `Emit` effects, in order.
fn emitted(effects: &[Effect]) -> Vec<Event> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Emit { event, .. } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// The one effect of an input that must emit exactly one event.
fn only_event(effects: &[Effect]) -> Event {
    match effects {
        [Effect::Emit { event, .. }] => event.clone(),
        other => panic!("expected exactly one Emit, got {other:?}"),
    }
}

/// A session under test, the instant it is at, and every effect it produced (so a test
/// can build what the shell would have stored).
struct Fx {
    s: Session,
    now: UnixMillis,
    log: Vec<Effect>,
}

impl Fx {
    fn create(settings: SessionSettings, generated: Option<&str>, creator: JoinRequest) -> Fx {
        let (s, effects) = Session::create(
            "sess-1".parse::<SessionId>().expect("valid"),
            T0,
            settings,
            generated.map(SessionPassword::new),
            creator,
        )
        .expect("creator joins");
        Fx {
            s,
            now: T0,
            log: effects,
        }
    }

    /// A session a customer `cust` started, in the Genesys mode where a second customer
    /// may join by the chat's id (many tests here have one; `join.rs` tests the default).
    fn with_customer() -> Fx {
        let settings = SessionSettings {
            customer_join_by_id: true,
            ..SessionSettings::default()
        };
        Fx::create(settings, None, customer("cust"))
    }

    /// `cust` and an agent `agent`.
    fn with_agent_and_customer() -> Fx {
        let mut fx = Fx::with_customer();
        fx.join(agent("agent"));
        fx
    }

    /// `cust`, `agent`, a visible supervisor `sup`, a silent monitor `mon` (supervisor,
    /// `INT`) and a coach `coach` (agent, `VIP`).
    fn full_house() -> Fx {
        let mut fx = Fx::with_agent_and_customer();
        fx.join(supervisor("sup"));
        fx.join(monitor("mon"));
        fx.join(coach("coach"));
        fx
    }

    /// Moves the clock forward.
    fn advance(&mut self, ms: u64) -> &mut Fx {
        self.now = self.now.plus_ms(ms);
        self
    }

    fn input(&mut self, input: Input) -> Result<Vec<Effect>, CoreError> {
        let out = self.s.handle(self.now, input);
        if let Ok(effects) = &out {
            self.log.extend(effects.iter().cloned());
        }
        out
    }

    /// Applies an input that must be accepted.
    fn ok(&mut self, input: Input) -> Vec<Effect> {
        self.input(input.clone())
            .unwrap_or_else(|e| panic!("{input:?} refused: {e}"))
    }

    fn join(&mut self, req: JoinRequest) -> Event {
        only_event(&self.ok(Input::Join(req)))
    }

    fn send(&mut self, req: SendRequest) -> Result<Vec<Effect>, CoreError> {
        self.input(Input::Send(req))
    }

    /// Sends a request that must emit exactly one event; returns it.
    fn sent(&mut self, req: SendRequest) -> Event {
        only_event(&self.ok(Input::Send(req)))
    }

    /// The ids of the parties that received `event` live: the audience of the `Emit`
    /// that carried it, sorted.
    fn audience(&self, event: &Event) -> Vec<String> {
        let audience = self.log.iter().find_map(|e| match e {
            Effect::Emit {
                event: emitted,
                audience,
                ..
            } if emitted.id == event.id => Some(audience),
            _ => None,
        });
        let mut ids: Vec<String> = audience
            .unwrap_or_else(|| panic!("{event:?} was never emitted"))
            .iter()
            .map(ToString::to_string)
            .collect();
        ids.sort();
        ids
    }

    /// The ids of the parties that would receive `event` live if an input that changed
    /// no presence emitted it now (for events no input emitted), sorted.
    fn live_audience(&self, event: &Event) -> Vec<String> {
        let mut ids: Vec<String> = self
            .s
            .live_audience(event, &[])
            .iter()
            .map(ToString::to_string)
            .collect();
        ids.sort();
        ids
    }

    /// The ids of every known party for which `visible_to` holds, sorted.
    fn seen_by(&self, event: &Event) -> Vec<String> {
        let mut ids: Vec<String> = self
            .s
            .parties()
            .iter()
            .filter(|p| self.s.visible_to(p, event))
            .map(|p| p.id.to_string())
            .collect();
        ids.sort();
        ids
    }

    /// The ids of every known party whose resume replay (from the start) holds `id`.
    fn replayed_to(&self, id: EventId) -> Vec<String> {
        let mut ids: Vec<String> = self
            .s
            .parties()
            .iter()
            .filter(|p| {
                self.s
                    .replay_for(&p.id, EventId(0), &[])
                    .into_iter()
                    .any(|e| e.id == id)
            })
            .map(|p| p.id.to_string())
            .collect();
        ids.sort();
        ids
    }

    fn party(&self, id: &str) -> &crate::Party {
        self.s.party(&pid(id)).expect("known party")
    }

    fn event(&self, id: EventId) -> &Event {
        self.s
            .transcript()
            .iter()
            .find(|e| e.id == id)
            .expect("event in transcript")
    }

    /// Everything the session holds, for "a refusal changes nothing" checks.
    fn snapshot(&self) -> String {
        format!("{:?}", self.s)
    }

    /// Asserts that `input` is refused with `expected` and changes nothing.
    fn refused(&mut self, input: Input, expected: CoreError) {
        let before = self.snapshot();
        let log_len = self.log.len();
        let got = self.input(input.clone());
        assert_eq!(got, Err(expected), "{input:?}");
        assert_eq!(
            self.snapshot(),
            before,
            "refused {input:?} changed the session"
        );
        assert_eq!(self.log.len(), log_len);
    }

    /// What the shell would have stored: kept emitted events (masked as `apply-area`
    /// says) minus annihilated ones.
    fn stored(&self) -> Stored {
        let mut events: Vec<Event> = Vec::new();
        let mut last = EventId(0);
        let mask = self.s.masks_intermediate();
        for effect in &self.log {
            match effect {
                Effect::Emit { event, keep, .. } => {
                    last = last.max(event.id);
                    if *keep {
                        events.push(event.stored(mask).into_owned());
                    }
                }
                Effect::Annihilate { id } => events.retain(|e| e.id != *id),
                Effect::Duplicate { .. }
                | Effect::Closed(_)
                | Effect::DropDocument { .. }
                | Effect::ServeDocument(_) => {}
            }
        }
        Stored {
            id: self.s.id().clone(),
            created_at: self.s.created_at(),
            password: self.s.password().cloned(),
            events,
            last_event_id: last,
        }
    }

    /// Restores the session from what the shell stored, at the current instant.
    fn restore(&mut self) -> Vec<Effect> {
        let (s, effects) = Session::restore(self.stored(), self.s.settings.clone(), self.now);
        self.s = s;
        self.log.extend(effects.iter().cloned());
        effects
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// The user data of a `NewParty` event.
fn join_data(event: &Event) -> &UserData {
    match &event.body {
        EventBody::NewParty { user_data, .. } => user_data,
        other => panic!("not a join: {other:?}"),
    }
}
